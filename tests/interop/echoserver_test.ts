/**
 * `deno task echoserver` against the real Python Pyro5 client, every serializer: each echo method,
 * values of every mapped type, errors with remote traceback, oneway, generator, batch of 100,
 * timeout on slow, attribute get and set, private refused (tests/interop/echo_client.py).
 *
 * Permissions: `--allow-run --allow-read --allow-env`.
 */
import assert from "node:assert";
import { locateNS } from "../../client.ts";
import { peerEnv, repoPath } from "../_peer.ts";
import { startEchoServer, stopEchoServer } from "./_echoserver.ts";

const SERIALIZERS = ["serpent", "json", "marshal", "msgpack"];

function freePort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return listener.addr.port;
}

Deno.test("echoserver serves the Python Pyro5 client with every serializer", async (t) => {
  const { process, uri } = await startEchoServer();
  try {
    for (const serializer of SERIALIZERS) {
      await t.step(serializer, async () => {
        const output = await new Deno.Command("python3", {
          args: [repoPath("tests/interop/echo_client.py"), uri, serializer],
          env: await peerEnv(),
          stdout: "piped",
          stderr: "piped",
          signal: AbortSignal.timeout(60_000),
        }).output();
        const text = new TextDecoder().decode(output.stdout);
        const failures = text.split("\n").filter((line) => line.startsWith("FAIL"));
        assert.deepStrictEqual(failures, [], text + new TextDecoder().decode(output.stderr));
        assert.ok(output.success, new TextDecoder().decode(output.stderr));
        const passed = text.split("\n").filter((line) => line.startsWith("ok ")).length;
        assert.ok(passed >= 30, `only ${passed} checks ran:\n${text}`);
      });
    }
  } finally {
    await stopEchoServer(process);
  }
});

Deno.test("echoserver -N starts a name server and registers in it; -n uses a running one", async () => {
  const env = {
    PYRO_NS_HOST: "127.0.0.1",
    PYRO_NS_PORT: String(freePort()),
    PYRO_NS_BCPORT: String(freePort()),
  };
  const lookup = async () => {
    await using ns = await locateNS("127.0.0.1", Number(env.PYRO_NS_PORT), { broadcast: false });
    return String(await ns.lookup("test.echoserver"));
  };
  const withNs = await startEchoServer(["-N", "-v"], env);
  try {
    assert.match(withNs.text, /^using name server at PYRO:Pyro\.NameServer@127\.0\.0\.1:\d+$/m);
    assert.strictEqual(await lookup(), withNs.uri);
    const output = await new Deno.Command("python3", {
      args: ["-c", "import Pyro5.api; print(Pyro5.api.Proxy('PYRONAME:test.echoserver').echo(42))"],
      env: { ...(await peerEnv()), ...env },
      signal: AbortSignal.timeout(30_000),
    }).output();
    assert.strictEqual(new TextDecoder().decode(output.stdout).trim(), "42");

    // A second echo server registers (-n) in the name server the first one runs.
    const withNaming = await startEchoServer(["-n"], env);
    try {
      assert.notStrictEqual(withNaming.uri, withNs.uri);
      assert.strictEqual(await lookup(), withNaming.uri);
    } finally {
      await stopEchoServer(withNaming.process);
    }
  } finally {
    await stopEchoServer(withNs.process);
  }
});
