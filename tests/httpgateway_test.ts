/**
 * The HTTP gateway over real sockets: every route and header sent to Python's
 * `pyro5-httpgateway` and to ours, against our echo server (`deno task echoserver`) and Python's
 * `Pyro5.utils.echoserver`, answers compared (status, headers, JSON bodies); then what only ours
 * does: pooled and bounded connections, re-lookup of a moved object, JSON bodies, correlation
 * ids reaching the daemon, bad input, the command's output.
 *
 * Permissions: `--allow-net --allow-run --allow-read --allow-env`.
 */
import assert from "node:assert";
import { startHttpGateway } from "../httpgateway.ts";
import { startNameServer } from "../nameserver.ts";
import { currentContext, Daemon, exposeObject } from "../server.ts";
import { locateNS } from "../client.ts";
import { main } from "../cli/httpgateway.ts";
import { startEchoServer, stopEchoServer } from "./interop/_echoserver.ts";
import { startPythonEchoServer, startPythonGateway, stop } from "./_gateway.ts";

const CORRELATION = "11112222-1111-2222-3333-222244449999";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Case {
  path: string;
  method?: string;
  headers?: Record<string, string>;
  /** Compare status and headers only (each gateway writes its own index page). */
  html?: boolean;
}

interface Answer {
  status: number;
  headers: Record<string, string | null>;
  body: unknown;
}

/** Sorts `$meta`'s lists: they come from a set, whose order is the gateway's own. */
function normalized(body: unknown): unknown {
  if (body !== null && typeof body === "object" && "methods" in body && "attributes" in body) {
    const meta = body as { methods: string[]; attributes: string[] };
    return { methods: [...meta.methods].sort(), attributes: [...meta.attributes].sort() };
  }
  return body;
}

async function ask(base: string, c: Case): Promise<Answer> {
  const response = await fetch(new URL(c.path, base), {
    method: c.method ?? "GET",
    headers: c.headers,
    redirect: "manual",
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  const type = response.headers.get("content-type");
  let body: unknown = text;
  if (
    !c.html && type?.startsWith("application/json") && text !== "" &&
    !/^-?(NaN|Infinity)$/.test(text)
  ) {
    body = normalized(JSON.parse(text));
  }
  const correlation = response.headers.get("x-pyro-correlation-id");
  const given = c.headers?.["X-Pyro-Correlation-Id"];
  return {
    status: response.status,
    headers: {
      "content-type": type,
      location: response.headers.get("location"),
      "access-control-allow-origin": response.headers.get("access-control-allow-origin"),
      "access-control-allow-methods": response.headers.get("access-control-allow-methods"),
      "access-control-allow-headers": response.headers.get("access-control-allow-headers"),
      // A fresh one per call: its form is compared, not its value (unless the request set it).
      "x-pyro-correlation-id": correlation === null
        ? null
        : given && correlation === given
        ? "<as sent>"
        : UUID.test(correlation)
        ? "<uuid>"
        : correlation,
    },
    body: c.html ? (text.includes("<html") ? "<html>" : text) : body,
  };
}

function echoCases(name: string): Case[] {
  const at = (rest: string) => `/pyro/${name}/${rest}`;
  return [
    { path: at("echo?message=hi") },
    { path: at("echo?message=hi&message=ho") },
    { path: at("echo?message=%E2%82%AC+x%26y") },
    { path: at("echo?message=") },
    { path: at("echo") },
    { path: at("echo?bad=1") },
    { path: at("echo?message=post"), method: "POST" },
    { path: at("error") },
    { path: at("error_with_text") },
    { path: at("$meta") },
    { path: at("verbose") },
    { path: at("verbose?x=1") },
    { path: at("nope") },
    { path: at("_private") },
    { path: at("__dunder__") },
    { path: at("nan") },
    { path: at("inf") },
    { path: at("oneway_echo?message=x") },
    { path: at("echo?message=ow"), headers: { "X-Pyro-Options": "oneway" } },
    { path: at("echo?message=c"), headers: { "X-Pyro-Correlation-Id": CORRELATION } },
    { path: at("echo?message=c"), headers: { "X-Pyro-Correlation-Id": "zzz" } },
    { path: at("echo"), method: "OPTIONS" },
    { path: at("echo"), method: "PUT" },
    { path: at("echo"), method: "DELETE" },
  ];
}

const ROUTE_CASES: Case[] = [
  { path: "/" },
  { path: "/pyro" },
  { path: "/pyro/x" },
  { path: "/pyro/x/" },
  { path: "/elsewhere" },
  { path: "/elsewhere", method: "PUT" },
  { path: "/pyro/", html: true },
  { path: "/pyro/test.unknown/echo" },
  { path: "/pyro/http.hidden/echo" },
  { path: "/pyro/Pyro.NameServer/count" },
  { path: "/pyro/Pyro.NameServer/list" },
  { path: "/pyro/Pyro.NameServer/list?prefix=test.py" },
  { path: "/pyro/Pyro.NameServer/lookup?name=test.pyecho" },
];

const KEY_CASES: Case[] = [
  { path: "/pyro/test.echoserver/echo?message=k" },
  { path: "/pyro/test.echoserver/echo?message=k", headers: { "X-Pyro-Gateway-Key": "wrong" } },
  { path: "/pyro/test.echoserver/echo?message=k&$key=wrong" },
  { path: "/pyro/test.echoserver/echo?message=k&$key=secret" },
  { path: "/pyro/test.pyecho/echo?message=k", headers: { "X-Pyro-Gateway-Key": "secret" } },
  { path: "/pyro/Pyro.NameServer/count?$key=secret" },
  { path: "/pyro/test.echoserver/echo", method: "OPTIONS" },
  { path: "/pyro/", html: true },
];

Deno.test("HttpGateway answers as pyro5-httpgateway, against Deno's and Python's echo servers", async (t) => {
  await using ns = await startNameServer({ host: "127.0.0.1", port: 0 });
  const nsPort = ns.uri.port!;
  const nsEnv = { PYRO_NS_HOST: "127.0.0.1", PYRO_NS_PORT: String(nsPort) };
  const started: Deno.ChildProcess[] = [];
  let denoEcho: Deno.ChildProcess | undefined;
  try {
    const [deno, python] = await Promise.all([
      startEchoServer(["-n"], nsEnv),
      startPythonEchoServer(),
    ]);
    denoEcho = deno.process;
    started.push(python.process);
    {
      await using nsProxy = await locateNS("127.0.0.1", nsPort);
      await nsProxy.register("test.pyecho", python.uri);
    }
    const [pyOpen, pyKeyed] = await Promise.all([
      startPythonGateway(["-e", "test\\.|Pyro\\."], nsPort),
      startPythonGateway(["-e", "test\\.", "-g", "secret", "-c", "http://x.example"], nsPort),
    ]);
    started.push(pyOpen.process, pyKeyed.process);
    const quiet = () => {};
    await using open = await startHttpGateway({
      host: "127.0.0.1",
      port: 0,
      expose: "test\\.|Pyro\\.",
      nsHost: "127.0.0.1",
      nsPort,
      log: quiet,
    });
    await using keyed = await startHttpGateway({
      host: "127.0.0.1",
      port: 0,
      expose: "test\\.",
      gatewayKey: "secret",
      cors: "http://x.example",
      nsHost: "127.0.0.1",
      nsPort,
      log: quiet,
    });

    const compare = async (cases: Case[], ours: string, theirs: string) => {
      for (const c of cases) {
        const [mine, pyro5] = [await ask(ours, c), await ask(theirs, c)];
        assert.deepStrictEqual(
          mine,
          pyro5,
          `${c.method ?? "GET"} ${c.path} ${JSON.stringify(c.headers ?? {})}`,
        );
      }
    };
    await t.step(
      "routes, the name server, unknown and hidden names",
      () => compare(ROUTE_CASES, open.url, pyOpen.url),
    );
    await t.step(
      "test.echoserver: deno task echoserver",
      () => compare(echoCases("test.echoserver"), open.url, pyOpen.url),
    );
    await t.step(
      "test.pyecho: Python's Pyro5.utils.echoserver",
      () => compare(echoCases("test.pyecho"), open.url, pyOpen.url),
    );
    await t.step(
      "gateway key (header and $key) and CORS origin",
      () => compare(KEY_CASES, keyed.url, pyKeyed.url),
    );

    await t.step("the answers are the echo servers' own", async () => {
      for (const name of ["test.echoserver", "test.pyecho"]) {
        const hi = await fetch(`${open.url}${name}/echo?message=hi%20there`);
        assert.equal(hi.status, 200);
        assert.equal(await hi.text(), '"hi there"');
        const error = await fetch(`${open.url}${name}/error`);
        assert.equal(error.status, 500);
        const body = await error.json();
        assert.equal(body.__class__, "builtins.ValueError");
        assert.deepStrictEqual(body.args, [
          "this is the generated error from echoserver echo() method",
        ]);
        assert.ok(body.attributes._pyroTraceback.join("").includes("ValueError"));
      }
    });

    await t.step("index page lists the exposed names with methods and attributes", async () => {
      const page = await (await fetch(open.url)).text();
      for (
        const text of [
          "test.echoserver",
          "test.pyecho",
          "Pyro.NameServer",
          "oneway_echo",
          "verbose",
          "pyro_call",
        ]
      ) {
        assert.ok(page.includes(text), `index page lacks ${text}`);
      }
      assert.ok(page.includes(`127.0.0.1:${nsPort}`));
      const theirs = await (await fetch(pyOpen.url)).text();
      assert.ok(theirs.includes("test.pyecho") && theirs.includes("test.echoserver"));
    });
  } finally {
    for (const process of started) await stop(process);
    if (denoEcho) await stopEchoServer(denoEcho);
  }
});

/** A name server and a daemon in this process, with one object registered as `http.probe`. */
async function probeSetup(object: object) {
  const ns = await startNameServer({ host: "127.0.0.1", port: 0 });
  const daemon = new Daemon({ host: "127.0.0.1", port: 0 });
  const nsProxy = await locateNS("127.0.0.1", ns.uri.port!);
  await nsProxy.register("http.probe", daemon.register(object, "probe").toString());
  return {
    ns,
    daemon,
    nsProxy,
    async [Symbol.asyncDispose]() {
      await nsProxy[Symbol.asyncDispose]();
      await daemon.close();
      await ns.close();
    },
  };
}

Deno.test("HttpGateway pools proxies per name: bounded, reused, many concurrent requests", async () => {
  const connections = new Set<string>();
  let inFlight = 0;
  let most = 0;
  await using setup = await probeSetup(exposeObject({
    async work(n: string) {
      const addr = currentContext()!.clientAddr as Deno.NetAddr;
      connections.add(`${addr.hostname}:${addr.port}`);
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight--;
      return Number(n) * 2;
    },
  }));
  await using gateway = await startHttpGateway({
    host: "127.0.0.1",
    port: 0,
    nsHost: "127.0.0.1",
    nsPort: setup.ns.uri.port!,
    poolSize: 4,
  });
  const results = await Promise.all(
    Array.from(
      { length: 48 },
      (_, i) =>
        fetch(`${gateway.url}http.probe/work?n=${i}`).then(async (r) => [r.status, await r.json()]),
    ),
  );
  assert.deepStrictEqual(results, Array.from({ length: 48 }, (_, i) => [200, i * 2]));
  assert.ok(connections.size <= 4, `${connections.size} connections for a pool of 4`);
  assert.ok(most >= 2, `calls ran one at a time (${most})`);
  const before = connections.size;
  for (let i = 0; i < 10; i++) {
    const r = await fetch(`${gateway.url}http.probe/work?n=1`);
    assert.equal(await r.text(), "2");
  }
  assert.equal(connections.size, before, "sequential requests made new connections");
});

Deno.test("HttpGateway finds a re-registered object at its new address", async () => {
  await using setup = await probeSetup(exposeObject({ where: () => "first" }));
  await using gateway = await startHttpGateway({
    host: "127.0.0.1",
    port: 0,
    nsHost: "127.0.0.1",
    nsPort: setup.ns.uri.port!,
    log: () => {},
  });
  assert.equal(await (await fetch(`${gateway.url}http.probe/where`)).text(), '"first"');
  await setup.daemon.close();
  await using second = new Daemon({ host: "127.0.0.1", port: 0 });
  const uri = second.register(exposeObject({ where: () => "second" }), "probe2");
  await setup.nsProxy.register("http.probe", uri.toString(), false);
  // The pooled connection to the old daemon is gone: one request may fail with it...
  let text = "";
  for (let attempt = 0; attempt < 3 && text !== '"second"'; attempt++) {
    text = await (await fetch(`${gateway.url}http.probe/where`)).text();
  }
  // ...then the name is looked up again.
  assert.equal(text, '"second"');
});

Deno.test("HttpGateway takes a POST's JSON object body as keyword arguments", async () => {
  // `show` takes every keyword argument as one object (Python's **kwargs).
  await using setup = await probeSetup(
    exposeObject({ show: (kw: unknown) => kw }, { kwargs: ["show"] }),
  );
  await using gateway = await startHttpGateway({
    host: "127.0.0.1",
    port: 0,
    nsHost: "127.0.0.1",
    nsPort: setup.ns.uri.port!,
    maxBodySize: 1000,
    log: () => {},
  });
  const post = (body: string, type = "application/json") =>
    fetch(`${gateway.url}http.probe/show?q=1`, {
      method: "POST",
      headers: { "Content-Type": type },
      body,
    });
  let r = await post('{"a": [1, 2.5, null], "b": {"c": "\\u20ac"}}');
  assert.equal(r.status, 200);
  assert.deepStrictEqual(await r.json(), { q: "1", a: [1, 2.5, null], b: { c: "€" } });
  r = await post("[1, 2]");
  assert.equal(r.status, 400);
  assert.match(await r.text(), /must be an object/);
  r = await post("{nope");
  assert.equal(r.status, 400);
  assert.match(await r.text(), /invalid JSON body/);
  r = await post(JSON.stringify({ big: "x".repeat(2000) }));
  assert.equal(r.status, 413);
  await r.body?.cancel();
  r = await post("a=1", "application/x-www-form-urlencoded");
  assert.deepStrictEqual(await r.json(), { q: "1" });
});

Deno.test("HttpGateway sends the X-Pyro-Correlation-Id to the daemon and returns it", async () => {
  await using setup = await probeSetup(exposeObject({
    corr: () =>
      Array.from(currentContext()!.correlationId, (b) => b.toString(16).padStart(2, "0")).join(""),
  }));
  await using gateway = await startHttpGateway({
    host: "127.0.0.1",
    port: 0,
    nsHost: "127.0.0.1",
    nsPort: setup.ns.uri.port!,
  });
  const r = await fetch(`${gateway.url}http.probe/corr`, {
    headers: { "X-Pyro-Correlation-Id": CORRELATION.toUpperCase() },
  });
  assert.equal(r.headers.get("x-pyro-correlation-id"), CORRELATION);
  assert.equal(await r.json(), CORRELATION.replaceAll("-", ""));
  const fresh = await fetch(`${gateway.url}http.probe/corr`);
  const id = fresh.headers.get("x-pyro-correlation-id")!;
  assert.match(id, UUID);
  assert.equal(await fresh.json(), id.replaceAll("-", ""));
});

Deno.test("HttpGateway refuses iterators and bad input, and keeps serving", async () => {
  await using setup = await probeSetup(exposeObject({
    *items() {
      yield 1;
    },
    ok: () => "ok",
  }));
  await using gateway = await startHttpGateway({
    host: "127.0.0.1",
    port: 0,
    nsHost: "127.0.0.1",
    nsPort: setup.ns.uri.port!,
    log: () => {},
  });
  const items = await fetch(`${gateway.url}http.probe/items`);
  assert.equal(items.status, 500);
  const error = await items.json();
  assert.equal(error.__class__, "Pyro5.errors.PyroError");
  assert.match(error.args[0], /cannot stream/);
  for (const path of ["http.probe/ok?%zz=%zz", "http.probe/%zz", "%00/%00", "http.probe/ok%0a"]) {
    const r = await fetch(`${gateway.url}${path}`);
    assert.ok([200, 403, 404, 500].includes(r.status), `${path}: ${r.status}`);
    await r.body?.cancel();
  }
  assert.equal(await (await fetch(`${gateway.url}http.probe/ok`)).text(), '"ok"');
});

Deno.test("HttpGateway without a name server: 500 on the index page and on calls", async () => {
  using unused = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = unused.addr.port;
  unused.close();
  await using gateway = await startHttpGateway({
    host: "127.0.0.1",
    port: 0,
    nsHost: "127.0.0.1",
    nsPort: port,
    log: () => {},
  });
  const page = await fetch(gateway.url);
  assert.equal(page.status, 500);
  assert.equal(
    await page.text(),
    "Cannot connect to the Pyro name server. Is it running? Refresh page to retry.",
  );
  const call = await fetch(`${gateway.url}http.x/y`);
  assert.equal(call.status, 500);
  assert.equal((await call.json()).__class__, "Pyro5.errors.NamingError");
});

Deno.test("httpgateway command: pyro5-httpgateway's start-up output and flags", async () => {
  await using ns = await startNameServer({ host: "127.0.0.1", port: 0 });
  const lines: string[] = [];
  const io = (env: Record<string, string>, stop: Promise<void>) => ({
    out: (l: string) => lines.push(l),
    err: (l: string) => lines.push(`ERR ${l}`),
    env,
    stop,
  });
  let code = await main(
    ["-H", "127.0.0.1", "-p", "0", "-e", "test\\."],
    io({ PYRO_NS_HOST: "127.0.0.1", PYRO_NS_PORT: String(ns.uri.port) }, Promise.resolve()),
  );
  assert.equal(code, 0);
  assert.equal(lines[0], "Exposing objects with names matching:  test\\.");
  assert.equal(
    lines[1],
    `Connected to name server at:  PYRO:Pyro.NameServer@127.0.0.1:${ns.uri.port}`,
  );
  assert.match(lines[2], /^Pyro HTTP gateway running on http:\/\/127\.0\.0\.1:\d+\/pyro\/$/);
  lines.length = 0;
  code = await main(
    ["-H", "127.0.0.1", "-p", "0", "-e", ""],
    io({ PYRO_NS_HOST: "127.0.0.1", PYRO_NS_PORT: "1" }, Promise.resolve()),
  );
  assert.equal(code, 0);
  assert.deepStrictEqual(lines.slice(0, 2), [
    "Warning: exposing all objects (no expose regex set)",
    "Not yet connected to a name server.",
  ]);
  lines.length = 0;
  code = await main(["-t", "soon"], io({}, Promise.resolve()));
  assert.equal(code, 2);
  assert.equal(
    lines.at(-1),
    "ERR httpgateway: error: argument -t/--timeout: invalid float value: 'soon'",
  );
  lines.length = 0;
  code = await main(["-h"], io({}, Promise.resolve()));
  assert.equal(code, 0);
  assert.match(lines[0], /-g GATEWAYKEY, --gatewaykey GATEWAYKEY/);
  assert.match(lines[0], /default=http\\\./);
});
