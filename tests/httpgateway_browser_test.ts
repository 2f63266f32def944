/**
 * The HTTP gateway in a real browser: headless Chromium (Debian's, installed on first use) loads
 * the gateway's index page and clicks its echo example, then loads examples/httpgateway/index.html
 * (a page from another origin, so CORS is exercised) that calls the echo server through the
 * gateway; the test reads the pages' DOM and takes a screenshot. A failed call fails the test.
 *
 * Permissions: `--allow-run --allow-read --allow-write --allow-net --allow-env`.
 */
import assert from "node:assert";
import { startHttpGateway } from "../httpgateway.ts";
import { startNameServer } from "../nameserver.ts";
import { Daemon } from "../server.ts";
import { locateNS } from "../client.ts";
import { EchoServer } from "../cli/echoserver.ts";
import { repoPath } from "./_peer.ts";
import { Browser } from "./_chromium.ts";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

Deno.test("HttpGateway in headless Chromium: the index page and examples/httpgateway", async (t) => {
  await using ns = await startNameServer({ host: "127.0.0.1", port: 0 });
  await using daemon = new Daemon({ host: "127.0.0.1", port: 0 });
  const uri = daemon.register(new EchoServer(() => {}), "test.echoserver");
  {
    await using nsProxy = await locateNS("127.0.0.1", ns.uri.port!);
    await nsProxy.register("test.echoserver", uri.toString());
  }
  await using gateway = await startHttpGateway({
    host: "127.0.0.1",
    port: 0,
    expose: "test\\.|Pyro\\.",
    nsHost: "127.0.0.1",
    nsPort: ns.uri.port!,
    log: () => {},
  });
  await using browser = await Browser.launch();
  const page = await browser.newPage();

  await t.step("index page: exposed names, and its echo example called from the page", async () => {
    await page.goto(gateway.url);
    const table = await page.evaluate<string>("document.querySelector('table').innerText");
    assert.match(table, /test\.echoserver/);
    assert.match(table, /oneway_echo/);
    assert.match(table, /verbose/);
    await page.evaluate(
      "[...document.querySelectorAll('a')].find((a) => a.textContent.startsWith('test.echoserver/echo')).click()",
    );
    const response = await page.waitFor<string>(
      "document.getElementById('pyro_response').innerText.trim()",
    );
    assert.equal(response, '"Hello from the browser"');
    assert.match(
      await page.evaluate<string>("document.getElementById('pyro_call').innerText"),
      /^GET test\.echoserver\/echo\?message=/,
    );
    await page.evaluate(
      "[...document.querySelectorAll('a')].find((a) => a.textContent === 'test.echoserver/$meta' || a.textContent === 'test.echoserver').click()",
    );
    const meta = await page.waitFor<string>(
      "document.getElementById('pyro_response').innerText.includes('methods') && document.getElementById('pyro_response').innerText",
    );
    assert.deepStrictEqual(JSON.parse(meta).attributes, ["verbose"]);
  });

  await t.step(
    "examples/httpgateway/index.html calls the echo server through the gateway",
    async () => {
      const file = new URL(`file://${repoPath("examples/httpgateway/index.html")}`);
      file.searchParams.set("gateway", gateway.url);
      await page.goto(file.href);
      await page.waitFor("document.body.dataset.done === 'true'");
      const state = await page.evaluate<Record<string, string>>("({ ...document.body.dataset })");
      const result = await page.evaluate<string>("document.getElementById('result').textContent");
      const error = await page.evaluate<string>("document.getElementById('error').textContent");
      assert.equal(state.echo, "ok", `echo call failed: ${result}; page errors: ${page.errors}`);
      assert.equal(result, '"Hello from the browser"');
      assert.equal(state.error, "ok", `error call: ${error}`);
      assert.equal(
        error,
        "builtins.ValueError: this is the generated error from echoserver echo() method",
      );

      // Typing and submitting calls again.
      await page.evaluate(
        "document.getElementById('message').value = 'typed €'; document.getElementById('form').requestSubmit()",
      );
      await page.waitFor("document.getElementById('result').textContent === '\"typed €\"'");

      const png = await page.screenshot();
      assert.deepStrictEqual([...png.subarray(0, 8)], PNG_SIGNATURE);
      const view = new DataView(png.buffer, png.byteOffset);
      assert.ok(view.getUint32(16) > 100 && view.getUint32(20) > 100, "screenshot too small");
      // One file, overwritten by each run, to look at.
      const path = `${Deno.env.get("TMPDIR") ?? "/tmp"}/pyro-deno-httpgateway-example.png`;
      await Deno.writeFile(path, png);
      console.log(`screenshot: ${path} (${png.length} bytes)`);
    },
  );

  await t.step("the page shows a failed call as failed", async () => {
    const file = new URL(`file://${repoPath("examples/httpgateway/index.html")}`);
    file.searchParams.set("gateway", gateway.url.replace("/pyro/", "/elsewhere/"));
    await page.goto(file.href);
    await page.waitFor("document.body.dataset.done === 'true'");
    assert.equal(await page.evaluate("document.body.dataset.echo"), "failed");
  });
});
