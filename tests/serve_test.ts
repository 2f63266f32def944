/**
 * The server API Pyro5 programs use: `serve()` with and without a name server, the daemon's
 * `housekeeping` hook, `resetMetadataCache`, and weak registration (in a subprocess that can
 * run the garbage collector).
 */
import assert, { deepStrictEqual, equal, match, rejects, throws } from "node:assert";
import { PyroProxy } from "../client.ts";
import { makeConfig } from "../config.ts";
import { DaemonError, NamingError } from "../errors.ts";
import { startNameServer } from "../nameserver.ts";
import { Daemon, expose, exposeObject, serve } from "../server.ts";
import { repoPath } from "./_peer.ts";
import { runPython, sleep, waitFor } from "./_support_rpc.ts";

@expose
class Greeter {
  greet(name: string): string {
    return `Hello, ${name}`;
  }
}

Deno.test("serve registers objects by name and prints what Pyro5 prints", async () => {
  const controller = new AbortController();
  const lines: string[] = [];
  const greeter = new Greeter();
  const served = serve(
    new Map<object, string | null>([[greeter, "example.greeter"], [Greeter, null]]),
    {
      host: "127.0.0.1",
      useNs: false,
      signal: controller.signal,
      print: (line) => lines.push(line),
    },
  );
  await waitFor(() => lines.length === 5);
  equal(lines[0], "Object <Greeter object>:");
  match(lines[1], /^ {4}uri = PYRO:example\.greeter@127\.0\.0\.1:\d+$/);
  equal(lines[2], "Object <class 'Greeter'>:");
  match(lines[3], /^ {4}uri = PYRO:obj_[0-9a-f]{32}@127\.0\.0\.1:\d+$/);
  equal(lines[4], "Pyro daemon running.");
  {
    await using proxy = new PyroProxy(lines[1].slice("    uri = ".length));
    equal(await proxy.greet("serve"), "Hello, serve");
    await using byClass = new PyroProxy(lines[3].slice("    uri = ".length));
    equal(await byClass.greet("class"), "Hello, class");
  }
  controller.abort();
  await served; // the daemon it made is closed
  await rejects(
    (async () => {
      await using proxy = new PyroProxy(lines[1].slice("    uri = ".length));
      await proxy.greet("again");
    })(),
  );
});

// What Python Pyro5's serve() prints for the same objects, for comparison.
const PYTHON_SERVE = `
import threading
from Pyro5.api import Daemon, expose, serve

@expose
class Greeter:
    def greet(self, name):
        return "Hello, " + name

daemon = Daemon(host="127.0.0.1")
threading.Timer(1.0, daemon.shutdown).start()
serve({Greeter(): "example.greeter", Greeter: None}, daemon=daemon, use_ns=False)
`;

Deno.test("serve prints the lines Python Pyro5's serve prints", async () => {
  const python = await runPython(["-c", PYTHON_SERVE], 60_000);
  equal(python.code, 0, python.stderr);
  const controller = new AbortController();
  const lines: string[] = [];
  const served = serve(
    new Map<object, string | null>([[new Greeter(), "example.greeter"], [
      Greeter,
      null,
    ]]),
    {
      host: "127.0.0.1",
      useNs: false,
      signal: controller.signal,
      print: (line) => lines.push(...line.split("\n")),
    },
  );
  await waitFor(() => lines.at(-1) === "Pyro daemon running.");
  controller.abort();
  await served;
  // Object representations and addresses differ; the layout is the same.
  const shape = (text: string[]) =>
    text.map((line) => line.replace(/<.*>/, "<repr>").replace(/@[\d.]+:\d+$/, "@host:port"))
      .map((line) => line.replace(/obj_[0-9a-f]{32}/, "obj_id"));
  deepStrictEqual(shape(lines), shape(python.stdout.trim().split("\n")));
});

Deno.test("serve registers names in the name server, with a given daemon", async () => {
  await using ns = await startNameServer({ host: "127.0.0.1", port: 0 });
  const config = makeConfig({ NS_HOST: "127.0.0.1", NS_PORT: ns.uri.port! });
  const daemon = new Daemon({ host: "127.0.0.1" });
  const lines: string[] = [];
  const served = serve([[new Greeter(), "example.greeter"], [new Greeter(), undefined]], {
    daemon,
    config,
    locateOptions: { broadcast: false },
    print: (line) => lines.push(line),
  });
  await waitFor(() => lines.at(-1) === "Pyro daemon running.");
  deepStrictEqual(lines.map((line) => line.replace(/PYRO:\S+/, "URI")), [
    "Object <Greeter object>:",
    "    uri = URI",
    "    name = example.greeter",
    "Object <Greeter object>:",
    "    uri = URI",
    "Pyro daemon running.",
  ]);
  // The name server knows the name; the daemon gave the object an id of its own.
  match(ns.nameserver.lookup("example.greeter").toString(), /^PYRO:obj_[0-9a-f]{32}@127\.0\.0\.1:/);
  equal(ns.nameserver.count(), 2);
  {
    await using proxy = new PyroProxy("PYRONAME:example.greeter", { config });
    equal(await proxy.greet("ns"), "Hello, ns");
  }
  await daemon.close(); // closing the given daemon ends serve
  await served;
});

Deno.test("serve without a name server fails with a NamingError and closes its daemon", async () => {
  // A free port with nothing on it.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const config = makeConfig({ NS_HOST: "127.0.0.1", NS_PORT: port });
  const lines: string[] = [];
  await rejects(
    serve([[new Greeter(), "x"]], {
      host: "127.0.0.1",
      config,
      locateOptions: { broadcast: false },
      print: (line) => lines.push(line),
    }),
    NamingError,
  );
  deepStrictEqual(lines, []);
});

Deno.test("Daemon housekeeping is called periodically until close", async () => {
  const config = makeConfig({ POLLTIMEOUT: 0.05 });
  let calls = 0;
  let running = 0;
  let overlapped = false;
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => logged.push(args);
  try {
    const daemon = new Daemon({
      host: "127.0.0.1",
      config,
      housekeeping: async (d) => {
        assert(d === daemon);
        calls++;
        if (running++ > 0) overlapped = true;
        await sleep(120); // longer than the interval: it is not called again meanwhile
        running--;
        if (calls === 2) throw new Error("housekeeping failed once");
      },
    });
    await waitFor(() => calls >= 4, 10_000);
    await daemon.close();
    const after = calls;
    await sleep(300);
    equal(calls, after, "called after close");
    assert(!overlapped, "overlapping housekeeping");
    equal(logged.length, 1);
    match(String(logged[0][0]), /housekeeping/);
    equal((logged[0][1] as Error).message, "housekeeping failed once");
  } finally {
    console.error = original;
  }
});

Deno.test("Daemon resetMetadataCache makes new proxies see changed members", async () => {
  await using daemon = new Daemon({ host: "127.0.0.1" });
  const calc = exposeObject({ add: (a: number, b: number) => a + b }, { methods: ["add"] });
  const uri = daemon.register(calc, "calc");
  exposeObject(Object.assign(calc, { sub: (a: number, b: number) => a - b }), {
    methods: ["add", "sub"],
  });
  {
    await using before = new PyroProxy(uri);
    await rejects(before.sub(3, 1), /no exposed attribute or method 'sub'/);
  }
  daemon.resetMetadataCache(calc);
  deepStrictEqual([...daemon.metadataOf("calc").methods].sort(), ["add", "sub"]);
  {
    await using after = new PyroProxy(uri);
    equal(await after.sub(3, 1), 2);
  }
  daemon.resetMetadataCache("no.such.id"); // ignored, as in Pyro5
  throws(() => daemon.resetMetadataCache({}), DaemonError);
});

Deno.test("Daemon register weak: collected objects are unregistered", async () => {
  await using daemon = new Daemon({ host: "127.0.0.1" });
  throws(() => daemon.register(Greeter, "cls", { weak: true }), {
    name: "TypeError",
    message: "Classes cannot be registered with weak=True",
  });
  const kept = new Greeter();
  daemon.register(kept, "weak.kept", { weak: true });
  {
    await using proxy = new PyroProxy(daemon.uriFor("weak.kept"));
    equal(await proxy.greet("weak"), "Hello, weak");
  }
  daemon.unregister(kept);
  deepStrictEqual(daemon.registeredIds(), ["Pyro.Daemon"]);
  // The garbage collector's part runs where it can be started: a subprocess.
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--v8-flags=--expose-gc",
      "--allow-net=127.0.0.1",
      repoPath("tests/_weak_program.ts"),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  equal(output.code, 0, stderr);
  const seen = JSON.parse(new TextDecoder().decode(output.stdout));
  // A proxy of a collected object is refused at connect, as for any unknown object.
  match(seen.weakCall, /^CommunicationError: connection to .* rejected: unknown object$/);
  delete seen.weakCall;
  deepStrictEqual(seen, {
    before: ["Pyro.Daemon", "strong", "weak"],
    after: ["Pyro.Daemon", "strong"],
    strongCall: "Hello, strong",
  });
});
