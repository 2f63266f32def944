/**
 * Interop of the name server, both directions, on loopback only:
 * - Python Pyro5 clients, daemons, PYRONAME/PYROMETA proxies and `python3 -m Pyro5.nsc` against
 *   our name server, compared with the same against Python's own name server;
 * - our clients, resolve() and our nsc against `Pyro5.nameserver`;
 * - broadcast discovery: Python's locate_ns() finds our responder, our locateNS() finds Python's.
 *
 * Run: deno test -A tests/interop/nameserver_interop_test.ts
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert";
import * as client from "../../client.ts";
import { kwargs, PyroProxy } from "../../client.ts";
import { makeConfig } from "../../config.ts";
import { NamingError } from "../../errors.ts";
import { locateNS, resolve } from "../../locate.ts";
import { BroadcastServer, startNameServer } from "../../nameserver.ts";
import type { SerializerName } from "../../serializers/mod.ts";
import { Daemon, exposeObject } from "../../server.ts";
import { main as nscMain } from "../../cli/nsc.ts";
import { peerEnv, repoPath } from "../_peer.ts";
import { PyroUri } from "../../uri.ts";

const PEER = repoPath("tests/interop/ns_peer.py");
const TIMEOUT_MS = 30_000;
const SERIALIZERS: SerializerName[] = ["serpent", "json", "marshal", "msgpack"];

function withTimeout<T>(promise: Promise<T>, what: string, ms = TIMEOUT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs python3 to completion (bounded) and returns its stdout and exit code. */
async function runPython(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command("python3", {
    args,
    env: { ...await peerEnv(), ...options.env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  if (options.stdin) await writer.write(new TextEncoder().encode(options.stdin));
  await writer.close();
  try {
    const result = await withTimeout(child.output(), `python3 ${args.join(" ")}`);
    return {
      code: result.code,
      stdout: new TextDecoder().decode(result.stdout),
      stderr: new TextDecoder().decode(result.stderr),
    };
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    throw error;
  }
}

async function peerJson(
  args: string[],
  env?: Record<string, string>,
): Promise<Record<string, unknown>> {
  const result = await runPython([PEER, ...args], { env });
  strictEqual(result.code, 0, result.stderr);
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!);
}

/** A long-running Python helper: its READY line, and a bounded stop. */
class PythonService implements AsyncDisposable {
  #child: Deno.ChildProcess;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #stdout: ReadableStreamDefaultReader<Uint8Array>;
  ready: string[] = [];

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#stdin = child.stdin.getWriter();
    this.#stdout = child.stdout.getReader();
  }

  static async start(args: string[]): Promise<PythonService> {
    const child = new Deno.Command("python3", {
      args,
      env: await peerEnv(),
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const service = new PythonService(child);
    try {
      await withTimeout(service.#readReady(), `READY from ${args.join(" ")}`);
    } catch (error) {
      await service[Symbol.asyncDispose]();
      throw error;
    }
    return service;
  }

  async #readReady(): Promise<void> {
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await this.#stdout.read();
      if (done) throw new Error("python helper ended before READY");
      text += new TextDecoder().decode(value);
    }
    const line = text.slice(0, text.indexOf("\n")).trim().split(" ");
    if (line[0] !== "READY") throw new Error(`unexpected helper output: ${text}`);
    this.ready = line.slice(1);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.#stdin.close();
    } catch { /* already closed */ }
    const stopped = await Promise.race([
      this.#child.status.then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 5000)),
    ]);
    if (!stopped) {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* gone */ }
    }
    await this.#child.status;
    await this.#stdout.cancel().catch(() => {});
  }
}

/** A TCP port nothing listens on (bound, then released). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** The same operations, through one of our proxies, on any name server; a JSON-able record. */
async function exercise(
  ns: PyroProxy,
  prefix: string,
  withMetadata: boolean,
): Promise<Record<string, unknown>> {
  const norm = (value: unknown): unknown => {
    if (value instanceof Set) return [...value].map(norm).sort();
    if (Array.isArray(value)) {
      // metadata comes as a list with json and msgpack: order it like a set
      const items = value.map(norm);
      return items.length > 0 && items.every((v) => typeof v === "string") ? items.sort() : items;
    }
    if (value instanceof client.PyroProxy) return "proxy";
    if (value !== null && typeof value === "object" && "protocol" in value) return `URI:${value}`;
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, norm(v)]));
    }
    return value;
  };
  const error = async (call: () => Promise<unknown>) => {
    try {
      await call();
      return null;
    } catch (e) {
      return [(e as Error).name, (e as Error).message];
    }
  };
  const out: Record<string, unknown> = {};
  await ns.register(
    `${prefix}a`,
    "PYRO:obj_a@localhost:5001",
    kwargs({ metadata: new Set(["x", "y"]) }),
  );
  await ns.register(`${prefix}b`, "PYRO:obj_b@localhost:5002", true, ["y"]);
  out.lookup = norm(await ns.lookup(`${prefix}a`));
  out.list = norm(await ns.list(kwargs({ prefix })));
  out.listRegex = norm(await ns.list(null, `${prefix.replaceAll(".", "\\.")}[ab]$`));
  out.ypAllNoMeta = norm(await ns.yplookup(["x", "y"], null, false));
  if (withMetadata) {
    out.lookupMeta = norm(await ns.lookup(`${prefix}a`, kwargs({ return_metadata: true })));
    out.listMeta = norm(await ns.list(null, `${prefix.replaceAll(".", "\\.")}[ab]$`, true));
    out.ypAll = norm(await ns.yplookup(["x", "y"]));
  }
  out.ypAny = norm(await ns.yplookup(kwargs({ meta_any: ["y"], return_metadata: false })));
  out.safe = await error(() =>
    ns.register(`${prefix}b`, "PYRO:x@localhost:1", kwargs({ safe: true }))
  );
  out.unknown = await error(() => ns.lookup(`${prefix}zzz`));
  await ns.set_metadata(`${prefix}b`, ["z"]);
  out.afterSetMeta = norm(await ns.yplookup(null, ["z"], false));
  out.ping = await ns.ping();
  out.removed = [
    await ns.remove(`${prefix}a`),
    await ns.remove(kwargs({ prefix })),
    await ns.remove(null, null, "nothing.*"),
  ];
  out.remaining = norm(await ns.list(prefix));
  return out;
}

// Python's own name server cannot send metadata with json, msgpack (a frozenset) or marshal (a URI
// in a tuple), so its answers over serpent are the reference for every serializer here.
Deno.test("Python clients use our name server, as they use Python's", async (t) => {
  await using ours = await startNameServer({ host: "127.0.0.1", port: 0 });
  await using python = await PythonService.start([PEER, "nameserver"]);
  const pythonPort = String(new PyroUri(python.ready[0]).port);
  const reference = await peerJson(["client", "127.0.0.1", pythonPort, "serpent", "t."]);
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async () => {
      const got = await peerJson(["client", "127.0.0.1", String(ours.uri.port), serializer, "t."]);
      // Same answers as Python's name server (its own URI aside)...
      const same = [
        "lookup",
        "lookup_meta",
        "lookup_type",
        "list_prefix",
        "list_regex",
        "yp_all",
        "yp_any",
        "safe",
        "after_setmeta",
        "setmeta_unknown",
        "unknown",
        "ping",
        "count_before",
        "remove_name",
        "remove_prefix",
        "remove_regex",
        "remove_self",
        "count_after",
      ];
      for (const key of same) deepStrictEqual(got[key], reference[key], key);
      deepStrictEqual(got.yp_ns, { "Pyro.NameServer": ours.uri.toString() });
      deepStrictEqual(got.lookup, "URI:PYRO:obj_office@localhost:5001");
      deepStrictEqual(got.lookup_meta, ["URI:PYRO:obj_office@localhost:5001", [
        "color",
        "printer",
      ]]);
      deepStrictEqual(got.count_after, 1);
      // ...bad input raises what Python's raises (the sizes beyond our limits aside)...
      const errors = ["bad_regex", "bad_name", "bad_uri", "bad_meta", "both_filters", "yp_both"];
      for (const key of errors) {
        deepStrictEqual(got[key], reference[key], key);
      }
      deepStrictEqual(got.bad_uri, ["PyroError", "invalid uri"]);
      deepStrictEqual(got.both_filters, [
        "ValueError",
        "you can only filter on one thing at a time",
      ]);
      deepStrictEqual(got.big_meta, ["NamingError", "too many metadata tags: more than 1000"]);
      // ...and keyword arguments bind as in Python.
      for (const key of ["kwarg_typo", "kwarg_missing", "kwarg_twice", "kwarg_register"]) {
        deepStrictEqual(got[key], reference[key], key);
      }
      deepStrictEqual(got.kwarg_list, { "t.kw": "PYRO:obj_kw@localhost:5004" });
      deepStrictEqual(got.kwarg_remove, 1);
      deepStrictEqual(got.kwarg_typo, [
        "TypeError",
        "NameServer.lookup() got an unexpected keyword argument 'return_meta'",
      ]);
    });
  }
});

Deno.test("A Python daemon registers in our name server; PYRONAME and PYROMETA proxies work", async () => {
  await using ours = await startNameServer({ host: "127.0.0.1", port: 0 });
  const port = String(ours.uri.port);
  await using daemon = await PythonService.start([
    PEER,
    "daemon",
    "127.0.0.1",
    port,
    "py.echo",
    "echoing",
  ]);
  const registered = ours.nameserver.lookup("py.echo", true) as unknown as [unknown, Set<string>];
  strictEqual(String(registered[0]), daemon.ready[0]);
  deepStrictEqual(registered[1], new Set(["echoing"]));
  // Python proxies resolving through our name server
  const got = await peerJson(["proxies", "127.0.0.1", port, "py.echo", "echoing"]);
  deepStrictEqual(got, {
    pyroname: [1, "two"],
    pyroname_who: "python",
    pyrometa: "meta",
    resolve: daemon.ready[0],
    missing: ["NamingError", "unknown name: no.such.name"],
    missing_meta: [
      "NamingError",
      "no registrations available with desired metadata properties {'no.such.tag'}",
    ],
  });
  // our resolve() and a proxy on what it found
  const where = `127.0.0.1:${port}`;
  const uri = await resolve(`PYRONAME:py.echo@${where}`);
  strictEqual(uri.toString(), daemon.ready[0]);
  strictEqual((await resolve(`PYROMETA:echoing@${where}`)).toString(), daemon.ready[0]);
  await using echo = new PyroProxy(uri);
  strictEqual(await echo.whoami(), "python");
});

// The proxy resolves PYRONAME/PYROMETA through `resolve` (client.ts re-exports locate.ts).
Deno.test({
  name: "PyroProxy with PYRONAME/PYROMETA URIs resolves through the name server",
  fn: async () => {
    strictEqual(client.resolve, resolve);
    await using ours = await startNameServer({ host: "127.0.0.1", port: 0 });
    await using daemon = new Daemon({ host: "127.0.0.1", port: 0 });
    const first = daemon.register(exposeObject({ who: () => "first" }));
    const second = daemon.register(exposeObject({ who: () => "second" }));
    ours.nameserver.register("deno.thing", first, false, ["tagged"]);
    const where = `127.0.0.1:${ours.uri.port}`;
    await using named = new PyroProxy(`PYRONAME:deno.thing@${where}`);
    strictEqual(await named.who(), "first");
    strictEqual(named._pyroUri.protocol, "PYRONAME"); // not bound: stays a PYRONAME proxy
    // Pyro5's caching: a connected proxy keeps its connection; a new connection resolves again.
    ours.nameserver.register("deno.thing", second, false, ["tagged"]);
    strictEqual(await named.who(), "first");
    named._pyroRelease();
    strictEqual(await named.who(), "second");
    // _pyroBind on a connected proxy changes nothing (as in Pyro5); after a release it binds.
    strictEqual(await named._pyroBind(), false);
    strictEqual(named._pyroUri.protocol, "PYRONAME");
    named._pyroRelease();
    strictEqual(await named._pyroBind(), true);
    strictEqual(named._pyroUri.toString(), second.toString());
    await using meta = new PyroProxy(`PYROMETA:tagged@${where}`);
    strictEqual(await meta.who(), "second");
    await using missing = new PyroProxy(`PYRONAME:no.such@${where}`);
    try {
      await missing.who();
      ok(false, "expected a NamingError");
    } catch (error) {
      ok(error instanceof NamingError, String(error));
    }
  },
});

Deno.test("Our clients use Python's name server, as they use ours", async (t) => {
  await using python = await PythonService.start([PEER, "nameserver"]);
  await using ours = await startNameServer({ host: "127.0.0.1", port: 0 });
  const pythonPort = new PyroUri(python.ready[0]).port!;
  let reference: Record<string, unknown> = {};
  await t.step("reference: serpent on Python's name server", async () => {
    await using theirs = await locateNS("127.0.0.1", pythonPort);
    strictEqual(theirs._pyroUri.toString(), python.ready[0]);
    reference = await exercise(theirs, "t.", true);
    deepStrictEqual(reference.safe, ["NamingError", "name already registered: t.b"]);
    deepStrictEqual(reference.ypAll, { "t.a": ["PYRO:obj_a@localhost:5001", ["x", "y"]] });
  });
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async () => {
      const options = { proxyOptions: { serializer } };
      await using theirs = await locateNS("127.0.0.1", pythonPort, options);
      await using mine = await locateNS("127.0.0.1", ours.uri.port!, options);
      deepStrictEqual(await exercise(mine, "t.", true), reference);
      // Python's name server fails to send metadata with json, msgpack and marshal itself.
      const withMetadata = serializer === "serpent";
      deepStrictEqual(
        await exercise(theirs, "t.", withMetadata),
        await exercise(mine, "t.", withMetadata),
      );
    });
  }
  await t.step("resolve() through Python's name server", async () => {
    await using theirs = await locateNS("127.0.0.1", pythonPort);
    await theirs.register("via.python", "PYRO:obj@localhost:7777", false, ["pytag"]);
    const where = `127.0.0.1:${pythonPort}`;
    strictEqual(
      (await resolve(`PYRONAME:via.python@${where}`)).toString(),
      "PYRO:obj@localhost:7777",
    );
    strictEqual((await resolve(`PYROMETA:pytag@${where}`)).toString(), "PYRO:obj@localhost:7777");
  });
});

/** Runs one nsc command with our nsc; stdout lines (stderr appended after a marker). */
async function ourNsc(args: string[], input = ""): Promise<string> {
  const out: string[] = [];
  const err: string[] = [];
  let pending = "";
  const code = await nscMain(args, {
    out: (line) => out.push(pending + line),
    write: (text) => pending += text,
    err: (line) => err.push(line),
    readLine: () => Promise.resolve(input || null),
    env: {},
  });
  return `${out.join("\n")}\n[exit ${code}]`;
}

async function pythonNsc(args: string[], input = ""): Promise<string> {
  const result = await runPython(["-m", "Pyro5.nsc", ...args], { stdin: input });
  return `${result.stdout.replace(/\n$/, "")}\n[exit ${result.code}]`;
}

const NSC_SCRIPT: [string[], string?][] = [
  [["ping"]],
  [["register", "nsc.one", "PYRO:one@localhost:1111"]],
  [["register", "nsc.one", "PYRO:dup@localhost:1111"]],
  [["register", "nsc.two", "PYRO:two@localhost:2222"]],
  [["setmeta", "nsc.one", "alpha", "beta"]],
  [["setmeta", "nsc.two", "beta"]],
  [["list"]],
  [["list", "nsc."]],
  [["listmatching", String.raw`nsc\.t.*`]],
  [["lookup", "nsc.two"]],
  [["lookup", "nsc.none"]],
  [["yplookup_all", "alpha", "beta"]],
  [["yplookup_any", "beta"]],
  [["setmeta", "nsc.two"]],
  [["remove", "nsc.two"]],
  [["remove", "nsc.two"]],
  [["removematching", "nsc.*"], "y\n"],
  [["list"]],
  [["lookup"]],
];

/** Makes outputs comparable: the name server's own URI varies, and so does set order. */
function normalize(text: string, nsUri: string): string {
  return text.replaceAll(nsUri, "<NS>").replace(
    /\{('[^']*'(?:, '[^']*')*)\}/g,
    (_, items: string) => `{${items.split(", ").sort().join(", ")}}`,
  );
}

Deno.test("nsc: Python's and ours print the same on Python's name server and ours", async (t) => {
  type Nsc = (args: string[], input?: string) => Promise<string>;
  const run = async (nsc: Nsc, nsUri: string) => {
    const port = String(new PyroUri(nsUri).port);
    const outputs: string[] = [];
    for (const [args, input] of NSC_SCRIPT) {
      outputs.push(normalize(await nsc(["-n", "127.0.0.1", "-p", port, ...args], input), nsUri));
    }
    return outputs;
  };
  const withPython = async (nsc: Nsc) => {
    await using python = await PythonService.start([PEER, "nameserver"]);
    return await run(nsc, python.ready[0]);
  };
  const withOurs = async (nsc: Nsc) => {
    await using ours = await startNameServer({ host: "127.0.0.1", port: 0 });
    return await run(nsc, ours.uri.toString());
  };
  const reference = await withPython(pythonNsc);
  const cases: [string, () => Promise<string[]>][] = [
    ["Python's nsc on our name server", () => withOurs(pythonNsc)],
    ["our nsc on Python's name server", () => withPython(ourNsc)],
    ["our nsc on our name server", () => withOurs(ourNsc)],
  ];
  for (const [name, outputs] of cases) {
    await t.step(name, async () => {
      const got = await outputs();
      for (let i = 0; i < NSC_SCRIPT.length; i++) {
        strictEqual(got[i], reference[i], `nsc ${NSC_SCRIPT[i][0].join(" ")}`);
      }
    });
  }
  await t.step("no name server", async () => {
    const port = String(closedPort());
    const expected = await pythonNsc(["-n", "127.0.0.1", "-p", port, "ping"]);
    strictEqual(expected, "Error: Failed to locate the nameserver\n[exit 0]");
    // Deliberately unlike pyro5-nsc: where it looked, and a non-zero exit (README, Differences).
    strictEqual(
      await ourNsc(["-n", "127.0.0.1", "-p", port, "ping"]),
      `Error: Failed to locate the nameserver at 127.0.0.1:${port}\n[exit 1]`,
    );
  });
});

Deno.test("Broadcast discovery: Python's locate_ns finds our responder", async () => {
  await using ours = await startNameServer({ host: "127.0.0.1", port: 0 });
  await using responder = await BroadcastServer.start(ours.uri, {
    host: "127.255.255.255",
    port: 0,
  });
  const got = await peerJson(["locate"], {
    // direct attempts fail (nothing on that port), so locate_ns falls back to broadcast
    PYRO_NS_HOST: "127.0.0.1",
    PYRO_NS_PORT: String(closedPort()),
    PYRO_NS_BCPORT: String(responder.port),
    PYRO_BROADCAST_ADDRS: "127.255.255.255",
  });
  deepStrictEqual(got, { uri: ours.uri.toString(), count: 1 });
});

Deno.test("Broadcast discovery: our locateNS finds Python's responder", async () => {
  await using python = await PythonService.start([PEER, "nameserver"]);
  const config = makeConfig({
    NS_HOST: "127.0.0.1",
    NS_PORT: closedPort(),
    NS_BCPORT: Number(python.ready[1]),
    BROADCAST_ADDRS: ["127.0.0.1"],
  });
  await using ns = await locateNS(null, null, { config });
  strictEqual(ns._pyroUri.toString(), python.ready[0]);
  strictEqual(await ns.count(), 1);
});
