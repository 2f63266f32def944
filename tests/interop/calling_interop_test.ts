/**
 * The calling model across Python Pyro5 5.15 and Deno (tests/interop/calling_peer.py is the
 * Python side): auto proxies both ways, callbacks both ways (object and function callbacks, a
 * failing @callback, a client that has gone), instance modes seen from Python, correlation ids
 * and annotations crossing both ways, SerializedBlob through dispatchers of either kind,
 * pipelined calls on a Python daemon, reconnects after a daemon restart on the same port, and
 * MAX_RETRIES, with each serializer.
 */
import assert, { deepStrictEqual, equal, match, notEqual, rejects } from "node:assert";
import { PyroProxy, SerializedBlob } from "../../client.ts";
import { makeConfig } from "../../config.ts";
import { CommunicationError, ConnectionClosedError } from "../../errors.ts";
import { ClassRegistry } from "../../serializers/mod.ts";
import { type CallErrorInfo, Daemon, exposeObject } from "../../server.ts";
import { startPython } from "../_peer.ts";
import {
  Adder,
  annotationText,
  BlobListener,
  ContextProbe,
  Dispatcher,
  Factory,
  hex,
  instanceClasses,
  InstanceLog,
  Listener,
  Thingy,
  Worker,
} from "../_support_calling.ts";
import {
  interopScript,
  type PythonServer,
  runPython,
  SERIALIZERS,
  sleep,
  startPythonServer,
  waitFor,
} from "../_support_rpc.ts";

const PEER = interopScript("calling_peer.py");

interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

function parseResults(stdout: string): CheckResult[] {
  return stdout.trim().split("\n").filter(Boolean).map((line) => JSON.parse(line));
}

function startPeerServer(port = 0, commtimeout = 0): Promise<PythonServer> {
  return startPythonServer(
    ["-u", PEER, "server", String(port), String(commtimeout)],
    /location: (\S+)/,
  );
}

const encode = (text: string) => new TextEncoder().encode(text);

for (const serializer of SERIALIZERS) {
  Deno.test(`Python Pyro5 client, Deno daemon: calling model (${serializer})`, async (t) => {
    const log = new InstanceLog();
    const { Single, Session, PerCall } = instanceClasses(log);
    await using daemon = new Daemon({
      host: "127.0.0.1",
      annotations: () => new Map([["DDAA", encode("set by the daemon")]]),
      onError: () => {},
    });
    daemon.register(new Factory(), "factory");
    daemon.register(new Worker(), "worker");
    daemon.register(new ContextProbe(), "probe");
    daemon.register(new ContextProbe(), "probe2");
    daemon.register(Single, "single");
    daemon.register(Session, "session");
    daemon.register(PerCall, "percall");
    const dispatcher = new Dispatcher();
    daemon.register(dispatcher, "dispatcher");
    daemon.register(new Adder(), "adder");
    const baseline = daemon.registeredIds().length;
    const run = await runPython([PEER, "client", daemon.locationStr, serializer]);
    const results = parseResults(run.stdout);
    assert(run.code === 0, `python exited with ${run.code}: ${run.stderr}`);
    equal(results.length, 9, `not every check ran: ${run.stdout}\n${run.stderr}`);
    for (const result of results) {
      await t.step(result.name, () => assert(result.ok, result.detail));
    }
    await t.step("Deno side afterwards: no connection, one single instance left", async () => {
      dispatcher.release();
      await waitFor(() => daemon.connectionCount === 0);
      equal(daemon.instanceCount, 1);
      equal(log.created - log.disposed, 1);
      // Only the factory's things stay registered (the returned function went with its client).
      equal(daemon.registeredIds().length, baseline + 3);
    });
  });
}

Deno.test("Deno proxies, Python Pyro5 daemon: calling model", async (t) => {
  await using server = await startPeerServer();
  const uri = (name: string) => `PYRO:${name}@${server.uri}`;
  const reported: CallErrorInfo[] = [];
  const listenerClasses = new ClassRegistry().registerDictToClass(
    "blobtest.CustomData",
    (_name, dict) => ({ custom: dict.value }),
  );
  await using own = new Daemon({
    host: "127.0.0.1",
    classes: listenerClasses,
    onError: (_error, info) => reported.push(info),
  });
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async (t) => {
      const options = { serializer, callbackDaemon: own, timeout: 10 } as const;
      await t.step("autoproxy: Python's registered objects arrive as proxies", async () => {
        if (serializer === "marshal") return; // Pyro5's marshal serializer has no auto proxies
        await using factory = new PyroProxy(uri("factory"), options);
        const thing = await factory.createSomething(4);
        assert(thing instanceof PyroProxy);
        equal(await thing.speak("hi"), "Thingy 4 says: hi");
        thing._pyroRelease();
      });
      await t.step("autoproxy: our registered objects arrive in Python as proxies", async () => {
        const thing = new Thingy(9);
        own.register(thing);
        await using factory = new PyroProxy(uri("factory"), options);
        equal(await factory.useThing(thing, "from deno"), "Thingy 9 says: from deno");
        deepStrictEqual(thing.said, ["from deno"]);
        own.unregister(thing);
      });
      await t.step("callbacks: Python calls our object during and after the call", async () => {
        const listener = new Listener();
        own.register(listener);
        await using worker = new PyroProxy(uri("worker"), options);
        equal(await worker.work(listener, 3), "worked 3 steps");
        deepStrictEqual(listener.seen, [1, 2, 3]);
        equal(await worker.later(listener, "later"), undefined);
        await waitFor(() => listener.seen.length === 4);
        equal(listener.seen[3], "later");
        own.unregister(listener);
      });
      await t.step("callbacks: a failing @callback is reported here and raised there", async () => {
        const listener = new Listener();
        own.register(listener);
        const before = reported.length;
        await using worker = new PyroProxy(uri("worker"), options);
        equal(await worker.provoke(listener), "ValueError: callback exploded");
        equal(reported.length, before + 1);
        equal(reported.at(-1)!.callback, true);
        own.unregister(listener);
      });
      await t.step("function callbacks: Python calls a plain Deno function", async () => {
        await using worker = new PyroProxy(uri("worker"), options);
        const sum = (a: number, b: number, c: number) => a + b + c;
        equal(await worker.apply(sum, 1, 2, 3), 6);
        own.unregister(sum);
      });
      await t.step("call context: correlation id and annotations both ways", async () => {
        const responses: Record<string, string>[] = [];
        await using probe = new PyroProxy(uri("probe"), {
          ...options,
          annotations: () => new Map([["XDNO", encode("from deno")]]),
          onResponseAnnotations: (annotations) => responses.push(annotationText(annotations)),
        });
        const id = crypto.getRandomValues(new Uint8Array(16));
        probe._pyroCorrelationId = id;
        const described = await probe.describe() as Record<string, unknown>;
        equal(described.correlation, hex(id));
        deepStrictEqual(described.annotations, { XDNO: "from deno" });
        deepStrictEqual(responses.at(-1), { XPYR: "from python" });
        const forwarded = await probe.forward(uri("probe")) as Record<string, unknown>;
        equal(forwarded.correlation, hex(id));
        probe._pyroCorrelationId = null;
        const first = (await probe.describe() as Record<string, string>).correlation;
        const second = (await probe.describe() as Record<string, string>).correlation;
        match(first, /^[0-9a-f]{32}$/);
        notEqual(first, second);
      });
      await t.step("instance modes of a Python daemon", async () => {
        const ids = async (name: string) => {
          await using p = new PyroProxy(uri(name), options);
          return [await p.msg(), await p.msg()];
        };
        const [p1, p2] = await ids("percall");
        notEqual(p1, p2);
        const [s1, s2] = await ids("session");
        equal(s1, s2);
        const [s3] = await ids("session");
        notEqual(s3, s1);
        const [g1] = await ids("single");
        const [g2] = await ids("single");
        equal(g1, g2);
      });
      await t.step("SerializedBlob: Deno -> Python dispatcher -> Deno listener", async () => {
        const listener = new BlobListener();
        own.register(listener);
        await using dispatcher = new PyroProxy(uri("dispatcher"), options);
        const topic = `deno-${serializer}`;
        // Pyro5 forwards a blob's bytes labelled with its own proxy's serializer: the proxy it
        // gets for our listener must say which one (its state carries the serializer name).
        const ref = own.proxyFor(listener);
        ref._pyroSerializer = serializer;
        await dispatcher.register(topic, ref);
        const payload = { __class__: "blobtest.CustomData", value: [1, "two"] };
        const data = serializer === "marshal" ? [payload] : payload;
        equal(await dispatcher.process_blob(new SerializedBlob(topic, data)), 1);
        const expected = { custom: [1, "two"] };
        deepStrictEqual(listener.received, [serializer === "marshal" ? [expected] : expected]);
        own.unregister(listener);
      });
      await t.step("pipelining: concurrent calls on one connection, run in order", async () => {
        await using calc = new PyroProxy(uri("calc"), options);
        await calc.recorded();
        const started = performance.now();
        const done = await Promise.all(Array.from({ length: 10 }, (_, i) => calc.record(i, 0.02)));
        const elapsed = performance.now() - started;
        deepStrictEqual(done, Array.from({ length: 10 }, (_, i) => i));
        deepStrictEqual(await calc.recorded(), Array.from({ length: 10 }, (_, i) => i));
        assert(elapsed >= 190, `the Python daemon ran them in parallel? ${elapsed} ms`);
      });
    });
  }
  await t.step("callbacks: a Deno client that has gone", async () => {
    const gone = new Daemon({ host: "127.0.0.1" });
    const listener = new Listener();
    gone.register(listener);
    await using worker = new PyroProxy(uri("worker"), { callbackDaemon: gone });
    equal(await worker.keep(listener), 1);
    deepStrictEqual(await worker.notifyKept("one"), ["got one"]);
    await gone.close();
    const [outcome] = await worker.notifyKept("two") as string[];
    match(outcome, /^(ConnectionClosedError|CommunicationError): /);
    equal(gone.connectionCount, 0);
  });
  // The Python daemon keeps some of our proxies (its dispatcher's listeners): they go with it.
  await server.stop();
  await waitFor(() => own.connectionCount === 0, 10_000);
});

Deno.test("reconnect: a Deno proxy and a restarted Python daemon on the same port", async () => {
  let server = await startPeerServer();
  const port = Number(server.uri.split(":").at(-1));
  try {
    await using calc = new PyroProxy(`PYRO:calc@${server.uri}`, { serializer: "msgpack" });
    equal(await calc.add(1, 2), 3);
    await server.stop();
    await rejects(calc.add(2, 3), (e: unknown) => e instanceof CommunicationError);
    const restarted = startPeerServer(port).then((s) => server = s);
    await calc._pyroReconnect(100, 0.1);
    await restarted;
    equal(await calc.add(3, 4), 7);
  } finally {
    await server.stop();
  }
});

Deno.test("reconnect: a Python proxy and a restarted Deno daemon on the same port", async () => {
  const calc = () => exposeObject({ add: (a: number, b: number) => a + b });
  let daemon = new Daemon({ host: "127.0.0.1" });
  const uri = daemon.register(calc(), "calc");
  const python = await startPython([PEER, "reconnect", uri.toString(), "serpent"]);
  const reader = python.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const writer = python.stdin.getWriter();
  let text = "";
  try {
    while (!text.includes('"waiting"')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    await daemon.close();
    daemon = new Daemon({ host: "127.0.0.1", port: uri.port! });
    daemon.register(calc(), "calc");
    await writer.write(encode("restarted\n"));
    await writer.close();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    equal((await python.status).code, 0);
  } finally {
    await daemon.close();
  }
  const results = parseResults(text);
  deepStrictEqual(results.map((r) => r.name), [
    "reconnect: first call",
    "waiting",
    "reconnect: after the daemon restarted on the same port",
  ]);
  for (const result of results) assert(result.ok, result.detail);
});

Deno.test("retries: MAX_RETRIES across Python and Deno daemons that drop idle connections", async (t) => {
  await t.step("Deno proxy, Python daemon", async () => {
    await using server = await startPeerServer(0, 0.2);
    await using plain = new PyroProxy(`PYRO:calc@${server.uri}`);
    await using retrying = new PyroProxy(`PYRO:calc@${server.uri}`, { maxRetries: 2 });
    equal(await plain.add(1, 1), 2);
    equal(await retrying.add(1, 1), 2);
    await sleep(500);
    await rejects(plain.add(2, 2), ConnectionClosedError);
    equal(await retrying.add(2, 2), 4);
  });
  for (const serializer of SERIALIZERS) {
    await t.step(`Python proxy, Deno daemon (${serializer})`, async () => {
      await using daemon = new Daemon({
        host: "127.0.0.1",
        config: makeConfig({ COMMTIMEOUT: 0.2 }),
      });
      const uri = daemon.register(exposeObject({ add: (a: number, b: number) => a + b }), "calc");
      const run = await runPython([PEER, "retry", uri.toString(), serializer]);
      const results = parseResults(run.stdout);
      equal(results.length, 2, `${run.stdout}\n${run.stderr}`);
      for (const result of results) assert(result.ok, `${result.name}: ${result.detail}`);
      await waitFor(() => daemon.connectionCount === 0);
    });
  }
});
