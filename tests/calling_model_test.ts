/**
 * Pyro5's calling model, Deno on both sides: auto proxies, callbacks (objects and plain
 * functions), callable proxies, instance modes, call context (correlation ids, annotations,
 * client address, handshake data), connection hooks and resource tracking, reconnects and
 * retries, concurrent use of one proxy, and SerializedBlob pass-through. Every test ends with
 * the daemons' counts checked and Deno's op and resource sanitizers on.
 */
import assert, { deepStrictEqual, equal, match, notEqual, rejects, throws } from "node:assert";
import { createProxy, kwargs, PyroProxy, type RemoteFunction, SerializedBlob } from "../client.ts";
import { makeConfig } from "../config.ts";
import { ConnectionClosedError, RemoteError, SerializeError, TimeoutError } from "../errors.ts";
import { MessageFlags, MessageType } from "../protocol/message.ts";
import { ClassRegistry, createSerializer, PyTuple } from "../serializers/mod.ts";
import {
  type CallErrorInfo,
  ClientConnection,
  currentContext,
  Daemon,
  expose,
  exposeObject,
} from "../server.ts";
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
  ResourceService,
  Thingy,
  Worker,
} from "./_support_calling.ts";
import { RawClient, SERIALIZERS, sleep, TestService, waitFor } from "./_support_rpc.ts";

const encode = (text: string) => new TextEncoder().encode(text);

/** A callable proxy of a function of numbers. */
type Fn<R> = RemoteFunction<(...args: number[]) => R>;

function localDaemon(options: ConstructorParameters<typeof Daemon>[0] = {}): Daemon {
  return new Daemon({ host: "127.0.0.1", ...options });
}

Deno.test("autoproxy: registered objects in results arrive as usable proxies, per serializer", async (t) => {
  await using daemon = localDaemon();
  const factory = new Factory();
  const uri = daemon.register(factory, "example.autoproxy");
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async () => {
      await using remote = new PyroProxy(uri, { serializer });
      const thing = await remote.createSomething(1);
      assert(thing instanceof PyroProxy);
      match(thing._pyroUri.toString(), /^PYRO:obj_[0-9a-f]{32}@127\.0\.0\.1:\d+$/);
      deepStrictEqual([...thing._pyroMethods].sort(), ["getNumber", "speak"]);
      equal(await thing.speak("I am the first"), "Thingy 1 says: I am the first");
      // Inside containers too.
      const many = await remote.createMany(2) as { things: PyroProxy[] };
      deepStrictEqual(await Promise.all(many.things.map((p) => p.getNumber())), [1, 2]);
      for (const p of [thing, ...many.things]) p._pyroRelease();
      equal(factory.made.at(-3)!.said.at(-1), "I am the first");
    });
  }
  await waitFor(() => daemon.connectionCount === 0);
});

Deno.test("autoproxy: objects registered on the client side travel as proxies, per serializer", async (t) => {
  await using server = localDaemon();
  await using own = localDaemon();
  const uri = server.register(new Factory(), "factory");
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async () => {
      const local = new Thingy(7);
      own.register(local);
      await using remote = new PyroProxy(uri, { serializer });
      equal(await remote.useThing(local, "hello"), "Thingy 7 says: hello");
      deepStrictEqual(local.said, ["hello"]);
      // Nested in a list as well; and an explicit proxy travels the same way.
      deepStrictEqual(await remote.useThings([local, own.proxyFor(local)]), [7, 7]);
      own.unregister(local);
      // Unregistered, it is an ordinary object again: the server cannot rebuild it.
      await rejects(remote.useThing(local, "x"), /unsupported serialized class: Thingy/);
    });
  }
  await waitFor(() => own.connectionCount === 0 && server.connectionCount === 0);
});

Deno.test("callbacks: the server calls the client's object while the client's call runs", async (t) => {
  await using server = localDaemon();
  await using clientDaemon = localDaemon();
  const uri = server.register(new Worker(), "worker");
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async () => {
      const listener = new Listener();
      clientDaemon.register(listener);
      await using worker = new PyroProxy(uri, { serializer });
      equal(await worker.work(listener, 3), "worked 3 steps");
      deepStrictEqual(listener.seen, [1, 2, 3]);
      // A oneway call: the callback arrives after the call has returned.
      equal(await worker.later(listener, "later"), undefined);
      await waitFor(() => listener.seen.length === 4);
      equal(listener.seen[3], "later");
      clientDaemon.unregister(listener);
    });
  }
  await waitFor(() => clientDaemon.connectionCount === 0);
});

Deno.test("callbacks: a failing @callback method is reported on its own side too, and ends cleanly", async (t) => {
  const reported: [unknown, CallErrorInfo][] = [];
  await using server = localDaemon();
  await using clientDaemon = localDaemon({
    onError: (error, info) => reported.push([error, info]),
  });
  const uri = server.register(new Worker(), "worker");
  const listener = new Listener();
  clientDaemon.register(listener);
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async () => {
      const before = reported.length;
      await using worker = new PyroProxy(uri, { serializer });
      // The error goes back to the server, which called the callback (a RangeError again)...
      equal(await worker.provoke(listener), "RangeError: callback exploded");
      // ...and is reported where the callback ran, marked as a callback error.
      equal(reported.length, before + 1);
      const [error, info] = reported.at(-1)!;
      assert(error instanceof RangeError);
      equal(info.method, "explode");
      equal(info.callback, true);
      assert(info.client instanceof ClientConnection);
      // As in Pyro5, the callback's daemon then drops that connection: nothing is left over.
      await waitFor(() => clientDaemon.connectionCount === 0);
      equal(await worker.work(listener, 1), "worked 1 steps");
    });
  }
  await t.step("without onError, the error is logged with console.error", async () => {
    const logged: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => logged.push(args);
    try {
      await using quiet = localDaemon();
      const other = new Listener();
      quiet.register(other);
      await using worker = new PyroProxy(uri);
      equal(await worker.provoke(other), "RangeError: callback exploded");
    } finally {
      console.error = original;
    }
    equal(logged.length, 1);
    match(String(logged[0][0]), /^Error in callback explode:/);
    assert(logged[0][1] instanceof RangeError);
  });
  await waitFor(() => server.connectionCount === 0 && clientDaemon.connectionCount === 0);
});

Deno.test("callbacks: calling back a client that has gone fails cleanly", async () => {
  const worker = new Worker();
  await using server = localDaemon();
  const uri = server.register(worker, "worker");
  const clientDaemon = localDaemon();
  const listener = new Listener();
  clientDaemon.register(listener);
  {
    await using remote = new PyroProxy(uri);
    equal(await remote.keep(listener), 1);
    deepStrictEqual(await remote.notifyKept("first"), ["got first"]);
    await clientDaemon.close();
    // The kept proxy still has a connection to the closed daemon: the call fails, the
    // connection is closed; the next attempt cannot connect at all.
    const [outcome] = await remote.notifyKept("second") as string[];
    match(outcome, /^(ConnectionClosedError|CommunicationError): /);
    const [again] = await remote.notifyKept("third") as string[];
    match(again, /^CommunicationError: cannot connect to/);
  }
  equal(worker.kept[0]._pyroConnected, false);
  deepStrictEqual(listener.seen, ["first"]);
  await waitFor(() => server.connectionCount === 0);
  equal(clientDaemon.connectionCount, 0);
});

Deno.test("function callbacks: plain functions travel as callable proxies (Pyro5 #79)", async (t) => {
  await using server = localDaemon();
  await using clientDaemon = localDaemon();
  const uri = server.register(new Worker(), "worker");
  const baseline = server.registeredIds().length;
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async () => {
      await using worker = new PyroProxy(uri, { serializer, callbackDaemon: clientDaemon });
      const seen: number[][] = [];
      const sum = (a: number, b: number, c: number) => {
        seen.push([a, b, c]);
        return a + b + c;
      };
      equal(await worker.apply(sum, 1, 2, 3), 6);
      equal(await worker.apply(sum, 4, 5, 6), 15);
      deepStrictEqual(seen, [[1, 2, 3], [4, 5, 6]]);
      // One registration per function, kept until unregistered.
      const id = clientDaemon.registeredIds().at(-1)!;
      equal(clientDaemon.registeredIds().length, 2);
      equal(
        await worker.apply(async (x: string) => await Promise.resolve(`async ${x}`), "ok"),
        "async ok",
      );
      equal(clientDaemon.registeredIds().length, 3);
      clientDaemon.unregister(sum);
      assert(!clientDaemon.registeredIds().includes(id));
      // A function returned by the server: a callable proxy, registered for this connection.
      const add5: Fn<number> = await worker.adder(5);
      assert(add5 instanceof PyroProxy);
      equal(typeof add5, "function");
      equal(await add5(1), 6);
      equal(server.registeredIds().length, baseline + 1);
      add5._pyroRelease();
      for (const other of clientDaemon.registeredIds().slice(1)) clientDaemon.unregister(other);
    });
    // The function returned to that connection is gone with it.
    await waitFor(() => server.registeredIds().length === baseline);
  }
  await t.step("kwargs values and functions inside containers (serpent)", async () => {
    await using echo = localDaemon();
    const echoUri = echo.register(
      exposeObject({
        call: async (holder: { fn: Fn<number> }, cb?: Fn<number>) => {
          const a = await holder.fn(2);
          const b = cb ? await cb(3) : null;
          holder.fn._pyroRelease();
          cb?._pyroRelease();
          return [a, b];
        },
      }),
      "echo",
    );
    await using proxy = new PyroProxy(echoUri, {
      serializer: "serpent",
      callbackDaemon: clientDaemon,
    });
    const double = (x: number) => 2 * x;
    deepStrictEqual(await proxy.call({ fn: double }, kwargs({ cb: double })), [4, 6]);
    clientDaemon.unregister(double);
  });
  await t.step("without a callback daemon a function cannot be sent", async () => {
    await using worker = new PyroProxy(uri);
    await rejects(worker.apply((x: number) => x, 1), (e: unknown) => {
      assert(e instanceof SerializeError);
      match(e.message, /cannot pass function .*callbackDaemon/);
      return true;
    });
  });
  await waitFor(() => clientDaemon.connectionCount === 0 && server.connectionCount === 0);
});

Deno.test("callable proxies: an object exposing __call__ makes its proxy callable (Pyro5 #95)", async (t) => {
  await using daemon = localDaemon();
  const adderObject = new Adder();
  const uri = daemon.register(adderObject, "adder");
  const plain = daemon.register(new TestService(), "service");
  const factory = daemon.register(exposeObject({ get: () => adderObject }), "factory");
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async () => {
      // Asked for: callable before the metadata is known.
      await using adder = createProxy<Adder>(uri, { serializer, callable: true });
      equal(typeof adder, "function");
      assert(adder instanceof PyroProxy);
      equal(await adder(2, 3), 5);
      equal(await adder(4, 5), 9);
      equal(await adder.twice(4), 8);
      assert(adder._pyroMethods.has("__call__"));
      // A received proxy knows its metadata: callable by itself.
      await using source = new PyroProxy(factory, { serializer });
      const received = await source.get() as RemoteFunction<(a: number, b: number) => number>;
      equal(await received(20, 22), 42);
      received._pyroRelease();
      // Without `callable`, an ordinary object; and calling what has no __call__ fails.
      await using object = new PyroProxy(uri, { serializer });
      equal(typeof object, "object");
      await using service = createProxy<{ __call__(x: number): number }>(plain, {
        serializer,
        callable: true,
      });
      await rejects(service(1), /has no exposed attribute or method '__call__'/);
    });
  }
});

Deno.test("instance modes: single, session, percall, creator, context, disposal", async (t) => {
  const log = new InstanceLog();
  const { Single, Session, PerCall, Created } = instanceClasses(log);
  const daemon = localDaemon();
  daemon.register(Single, "single");
  daemon.register(Session, "session");
  daemon.register(PerCall, "percall");
  daemon.register(Created, "created");
  const user = (name: string) => () => new Map([["USER", encode(name)]]);
  await t.step("percall: a new instance every call, ended after it", async () => {
    await using p = new PyroProxy(daemon.uriFor("percall"));
    const ids = [(await p.msg())[0], (await p.msg())[0], (await p.msg())[0]];
    equal(new Set(ids).size, 3);
    equal(log.disposed, 3);
    equal(daemon.instanceCount, 0);
  });
  await t.step("session: one instance per connection, made in the call's context", async () => {
    await using a = new PyroProxy(daemon.uriFor("session"), { annotations: user("alice") });
    await using b = new PyroProxy(daemon.uriFor("session"), { annotations: user("bob") });
    const [a1, a2, b1] = [await a.msg(), await a.msg(), await b.msg()];
    deepStrictEqual(a1, a2);
    notEqual(a1[0], b1[0]);
    deepStrictEqual([a1[1], b1[1]], ["alice", "bob"]);
    equal(daemon.instanceCount, 2);
    const disposed = log.disposed;
    a._pyroRelease();
    await waitFor(() => daemon.instanceCount === 1);
    equal(log.disposed, disposed + 1);
    // A new connection of the same proxy gets a new instance.
    notEqual((await a.msg())[0], a1[0]);
  });
  await t.step("single: one instance for every client", async () => {
    await using a = new PyroProxy(daemon.uriFor("single"));
    await using b = new PyroProxy(daemon.uriFor("single"), { serializer: "json" });
    deepStrictEqual(await a.msg(), await b.msg());
  });
  await t.step("instanceCreator runs in the call's context (correlation id)", async () => {
    await using p = new PyroProxy(daemon.uriFor("created"));
    p._pyroCorrelationId = crypto.getRandomValues(new Uint8Array(16));
    equal(await p.corr(), hex(p._pyroCorrelationId));
  });
  await waitFor(() => daemon.connectionCount === 0);
  equal(daemon.instanceCount, 1); // the single one
  const disposed = log.disposed;
  await daemon.close();
  equal(daemon.instanceCount, 0);
  equal(log.disposed, disposed + 1);
  equal(log.created, log.disposed);
});

Deno.test("call context: correlation id set by the client, generated, and propagated", async (t) => {
  await using front = localDaemon();
  await using back = localDaemon();
  const frontUri = front.register(new ContextProbe(), "front");
  const backUri = back.register(new ContextProbe(), "back");
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async () => {
      const seen: number[] = [];
      await using proxy = new PyroProxy(frontUri, {
        serializer,
        onResponseAnnotations: (_annotations, type) => seen.push(type),
      });
      const id = crypto.getRandomValues(new Uint8Array(16));
      proxy._pyroCorrelationId = id;
      const described = await proxy.describe() as Record<string, unknown>;
      equal(described.correlation, hex(id));
      // The front daemon's method calls the back daemon: the same id arrives there.
      const forwarded = await proxy.forward(backUri.toString()) as Record<string, unknown>;
      equal(forwarded.correlation, hex(id));
      // Without one, each call gets a new one (as in Pyro5), also sent on.
      proxy._pyroCorrelationId = null;
      const first = await proxy.describe() as Record<string, unknown>;
      const second = await proxy.describe() as Record<string, unknown>;
      match(String(first.correlation), /^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
      notEqual(first.correlation, second.correlation);
      assert(seen.includes(MessageType.RESULT));
    });
  }
  await t.step("the reply carries the correlation id", async () => {
    await using raw = await RawClient.connect(front.addr, "json");
    await raw.handshake("front");
    const reply = await raw.call("front", "describe", []);
    equal(reply.flags & MessageFlags.CORR_ID, MessageFlags.CORR_ID);
    equal(
      hex(reply.correlationId),
      (raw.serializer.loads(reply.data) as { correlation: string }).correlation,
    );
  });
});

Deno.test("call context: annotations both ways, client address, handshake data", async (t) => {
  const validated: unknown[] = [];
  await using daemon = localDaemon({
    annotations: () => new Map([["DDAA", encode("set by the daemon")]]),
    validateHandshake: (client, data) => {
      const context = currentContext()!;
      validated.push([data, client === context.client, context.seq, hex(context.correlationId)]);
      context.responseAnnotations.set("HSHK", encode("handshake ok"));
      return ["how", "are", "you"];
    },
  });
  const uri = daemon.register(new ContextProbe(), "probe");
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async () => {
      const responses: [Record<string, string>, number][] = [];
      const handshakes: unknown[] = [];
      await using proxy = new PyroProxy(uri, {
        serializer,
        handshake: { secret: "pancakes" },
        annotations: () => new Map([["XYZZ", encode("custom annotation from client")]]),
        onResponseAnnotations: (annotations, type) =>
          responses.push([annotationText(annotations), type]),
        validateHandshake: (response) => void handshakes.push(response),
      });
      const described = await proxy.describe() as Record<string, unknown>;
      deepStrictEqual(described.annotations, { XYZZ: "custom annotation from client" });
      equal(described.port, (proxy._pyroLocalSocket as Deno.NetAddr).port);
      deepStrictEqual(described.handshake, { secret: "pancakes" });
      deepStrictEqual(handshakes, [["how", "are", "you"]]);
      deepStrictEqual(responses, [
        [{ HSHK: "handshake ok", DDAA: "set by the daemon" }, MessageType.CONNECT_OK],
        [{ XRES: "from method", DDAA: "set by the daemon" }, MessageType.RESULT],
      ]);
      deepStrictEqual(annotationText(proxy._pyroResponseAnnotations), {
        XRES: "from method",
        DDAA: "set by the daemon",
      });
    });
  }
  equal(validated.length, SERIALIZERS.length);
  const [data, sameClient, seq, correlation] = validated[0] as [unknown, boolean, number, string];
  deepStrictEqual([data, sameClient, seq], [{ secret: "pancakes" }, true, 0]);
  equal(correlation.length, 32);
});

Deno.test("connection lifecycle: connect and disconnect hooks, resource tracking", async (t) => {
  const events: string[] = [];
  const resourcesAtDisconnect: string[][] = [];
  ResourceService.allocated.clear();
  await using daemon = localDaemon({
    validateHandshake: (_client, data) => {
      if (data === "refuse") throw new Error("refused");
      return "hello";
    },
    onConnect: (client) => events.push(`connect ${(client.remoteAddr as Deno.NetAddr).port}`),
    onDisconnect: (client) => {
      events.push(`disconnect ${(client.remoteAddr as Deno.NetAddr).port}`);
      resourcesAtDisconnect.push(
        [...client.trackedResources].map((r) => (r as unknown as { name: string }).name),
      );
    },
  });
  const uri = daemon.register(ResourceService, "service");
  await t.step("hooks see each connection once; refused ones are not reported", async () => {
    const proxy = new PyroProxy(uri);
    await proxy._pyroBind();
    const port = (proxy._pyroLocalSocket as Deno.NetAddr).port;
    await using refused = new PyroProxy(uri, { handshake: "refuse" });
    await rejects(refused._pyroBind(), /rejected: refused/);
    proxy._pyroRelease();
    await waitFor(() => events.length === 2);
    deepStrictEqual(events, [`connect ${port}`, `disconnect ${port}`]);
  });
  await t.step("resources of a connection are closed when it goes away", async () => {
    const a = new PyroProxy(uri);
    await using b = new PyroProxy(uri);
    await a.allocate("a1");
    await a.allocate("a2");
    await b.allocate("b1");
    deepStrictEqual(await b.list(), ["a1", "a2", "b1"]);
    await a.free("a2"); // freed and untracked by the client itself
    deepStrictEqual(await b.list(), ["a1", "b1"]);
    a._pyroRelease(); // e.g. a client that was killed
    await waitFor(() => ResourceService.allocated.size === 1);
    deepStrictEqual(await b.list(), ["b1"]);
    deepStrictEqual(resourcesAtDisconnect.at(-1), ["a1"]);
  });
  await waitFor(() => daemon.connectionCount === 0);
  deepStrictEqual(await Promise.resolve([...ResourceService.allocated]), []);
});

Deno.test("resilience: reconnect with attempts to a daemon restarted on the same URI", async () => {
  const service = new TestService();
  let daemon = localDaemon();
  const uri = daemon.register(service, "service");
  const port = uri.port!;
  await using proxy = new PyroProxy(uri, { serializer: "msgpack" });
  equal(await proxy.echo(1), 1);
  await daemon.close();
  await rejects(proxy.echo(2), ConnectionClosedError);
  // Not listening yet: attempts are repeated until it is.
  const restarted = sleep(150).then(() => {
    daemon = localDaemon({ port });
    daemon.register(new TestService(), "service");
  });
  const started = performance.now();
  await proxy._pyroReconnect(50, 0.05);
  await restarted;
  assert(performance.now() - started >= 100);
  equal(await proxy.echo(3), 3);
  await daemon.close();
  await rejects(proxy._pyroReconnect(2, 0.01), /failed to reconnect/);
  equal(proxy._pyroConnected, false);
});

Deno.test("resilience: MAX_RETRIES retries after a closed connection or a timeout", async (t) => {
  // The daemon closes idle connections quickly (Pyro5's autoretry example).
  const service = new TestService();
  await using daemon = localDaemon({ config: makeConfig({ COMMTIMEOUT: 0.1 }) });
  const uri = daemon.register(service, "service");
  await t.step("off by default: the caller sees the closed connection once", async () => {
    await using proxy = new PyroProxy(uri);
    equal(proxy._pyroMaxRetries, 0);
    equal(await proxy.add(1, 1), 2);
    await waitFor(() => daemon.connectionCount === 0);
    await rejects(proxy.add(2, 2), ConnectionClosedError);
    equal(await proxy.add(3, 3), 6);
  });
  await t.step("per proxy", async () => {
    await using proxy = new PyroProxy(uri, { maxRetries: 2 });
    equal(await proxy.add(1, 1), 2);
    await waitFor(() => daemon.connectionCount === 0);
    equal(await proxy.add(2, 2), 4);
  });
  await t.step("global, through the configuration", async () => {
    await using proxy = new PyroProxy(uri, { config: makeConfig({ MAX_RETRIES: 1 }) });
    equal(proxy._pyroMaxRetries, 1);
    equal(await proxy.add(1, 1), 2);
    await waitFor(() => daemon.connectionCount === 0);
    equal(await proxy.add(2, 2), 4);
  });
  await t.step("a timeout is retried too, then given up", async () => {
    await using slowDaemon = localDaemon();
    const slow = new TestService();
    const slowUri = slowDaemon.register(slow, "slow");
    await using proxy = new PyroProxy(slowUri, { timeout: 0.05, maxRetries: 2 });
    await rejects(proxy.slow(0.2), TimeoutError);
    equal(slow.slowStarted, 3); // first attempt plus two retries
    proxy._pyroTimeout = 0;
    equal(await proxy.slow(0.01), "Finally, an answer!");
    await sleep(250); // let the abandoned slow calls end
  });
});

Deno.test("ownership: one proxy, many concurrent tasks", async (t) => {
  await using daemon = localDaemon();
  const service = new TestService();
  const uri = daemon.register(service, "service");
  await t.step("calls are pipelined on one connection; our daemon runs them in order", async () => {
    await using proxy = new PyroProxy(uri);
    const order: string[] = [];
    const started = performance.now();
    const tasks = [0.06, 0.01, 0.03].map((seconds, i) =>
      proxy.slow(seconds).then(() => order.push(`task ${i}`))
    );
    await Promise.all(tasks);
    deepStrictEqual(order, ["task 0", "task 1", "task 2"]);
    assert(performance.now() - started >= 95, "calls of one connection ran in parallel");
    equal(daemon.connectionCount, 1);
  });
  await t.step("a timeout fails every call in flight on the connection", async () => {
    await using proxy = new PyroProxy(uri, { timeout: 0.05 });
    equal(await proxy.echo(0), 0);
    const results = await Promise.allSettled([proxy.slow(0.3), proxy.echo(1), proxy.echo(2)]);
    deepStrictEqual(results.map((r) => r.status), ["rejected", "rejected", "rejected"]);
    for (const r of results) assert((r as PromiseRejectedResult).reason instanceof TimeoutError);
    equal(await proxy.echo(3), 3); // a new connection
  });
  await t.step("with retries, the calls in flight are sent again", async () => {
    let drops = 1;
    const dropper = daemon.register(
      exposeObject({
        // Ends this connection (once): every call in flight on it sees it closed.
        drop: async () => {
          await sleep(20);
          if (drops-- > 0) currentContext()!.client.close();
          return "dropped";
        },
        echo: (x: unknown) => x,
      }),
      "dropper",
    );
    await using proxy = new PyroProxy(dropper, { maxRetries: 1 });
    deepStrictEqual(await Promise.all([proxy.drop(), proxy.echo(1), proxy.echo(2)]), [
      "dropped",
      1,
      2,
    ]);
    equal(drops, -1);
    drops = 1;
    await using plain = new PyroProxy(dropper);
    const results = await Promise.allSettled([plain.drop(), plain.echo(1)]);
    deepStrictEqual(results.map((r) => r.status), ["rejected", "rejected"]);
    assert((results[1] as PromiseRejectedResult).reason instanceof ConnectionClosedError);
  });
  await t.step("_pyroRelease ends the calls in flight", async () => {
    await using proxy = new PyroProxy(uri);
    await proxy._pyroBind();
    const pending = proxy.slow(0.2);
    await sleep(10);
    proxy._pyroRelease();
    await rejects(pending, ConnectionClosedError);
  });
  await sleep(400); // the abandoned slow calls end on the daemon
});

Deno.test("SerializedBlob: a dispatcher forwards payloads without decoding them", async (t) => {
  // Only the listener knows the payload's class; the dispatcher could not even decode it.
  const listenerClasses = new ClassRegistry().registerDictToClass(
    "blobtest.CustomData",
    (_name, dict) => ({ custom: dict.value }),
  );
  await using dispatcherDaemon = localDaemon();
  await using listenerDaemon = localDaemon({ classes: listenerClasses });
  const dispatcher = new Dispatcher();
  const dispatcherUri = dispatcherDaemon.register(dispatcher, "dispatcher");
  const listener = new BlobListener();
  listenerDaemon.register(listener, "listener");
  const payload = { __class__: "blobtest.CustomData", value: [1, "two"] };
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async () => {
      await using client = new PyroProxy(dispatcherUri, { serializer });
      await client.register(`topic-${serializer}`, listenerDaemon.proxyFor(listener));
      const before = listener.received.length;
      equal(await client.process_blob(new SerializedBlob(`topic-${serializer}`, payload)), 1);
      deepStrictEqual(listener.received.slice(before), [{ custom: [1, "two"] }]);
      equal(dispatcher.forwardedSerialized.at(-1), true);
      // The dispatcher's serializers could not have decoded it: it went through undecoded.
      const codec = createSerializer(serializer);
      throws(() => codec.loads(codec.dumps(payload)), /unsupported serialized class/);
      // An array of arguments works the same; other arguments are refused.
      await client.process_blob(new SerializedBlob(`topic-${serializer}`, [1, 2]));
      deepStrictEqual(listener.received.at(-1), [1, 2]);
      await rejects(
        client.process_blob(new SerializedBlob("x", 1), 2),
        /if SerializedBlob is used, it must be the only argument/,
      );
    });
  }
  await t.step("the wire: KEEP_SERIALIZED flag and marshal BLBI annotation", async () => {
    const sent: { flags: number; blbi: unknown }[] = [];
    await using spyDaemon = localDaemon();
    const uri = spyDaemon.register(
      exposeObject({
        process_blob: (blob: SerializedBlob) => {
          const context = currentContext()!;
          const raw = context.annotations.get("BLBI")!;
          sent.push({ flags: context.msgFlags, blbi: createSerializer("marshal").loads(raw) });
          return blob.deserialized();
        },
      }),
      "spy",
    );
    await using proxy = new PyroProxy(uri, { serializer: "json" });
    deepStrictEqual(await proxy.process_blob(new SerializedBlob("info", { a: 1 })), { a: 1 });
    equal(sent[0].flags & MessageFlags.KEEP_SERIALIZED, MessageFlags.KEEP_SERIALIZED);
    assert(sent[0].blbi instanceof PyTuple);
    deepStrictEqual([...sent[0].blbi as PyTuple], ["info", "spy", "process_blob"]);
  });
  dispatcher.release();
  await waitFor(() => listenerDaemon.connectionCount === 0);
});

Deno.test("a method with a RemoteError from a callback keeps its type through two hops", async () => {
  await using server = localDaemon();
  await using clientDaemon = localDaemon();
  const uri = server.register(
    exposeObject({
      relay: async (cb: Fn<unknown>) => {
        try {
          return await cb();
        } finally {
          cb._pyroRelease();
        }
      },
    }),
    "relay",
  );
  await using relay = new PyroProxy(uri, { callbackDaemon: clientDaemon });
  const failing = () => {
    throw new RemoteError("mymodule.Nope", ["no way"]);
  };
  await rejects(relay.relay(failing), (e: unknown) => {
    assert(e instanceof RemoteError);
    equal(e.pythonClass, "mymodule.Nope");
    return true;
  });
  clientDaemon.unregister(failing);
  await waitFor(() => clientDaemon.connectionCount === 0);
});

Deno.test("callable proxies travel inside containers in every serializer and stay callable", async () => {
  @expose
  class Adder {
    __call__(a: number, b: number): number {
      return a + b;
    }
  }
  @expose
  class Holder {
    count(list: unknown[]): number {
      return list.length;
    }
    echo(value: unknown): unknown {
      return value;
    }
  }
  await using daemon = new Daemon({ host: "127.0.0.1" });
  const adderUri = daemon.register(new Adder());
  const holderUri = daemon.register(new Holder());
  type Add = (a: number, b: number) => Promise<number>;
  for (const serializer of ["serpent", "json", "marshal", "msgpack"] as const) {
    await using adder = new PyroProxy(adderUri, { serializer, callable: true });
    assert.strictEqual(typeof adder, "function");
    assert.strictEqual(await (adder as unknown as Add)(2, 3), 5, serializer);
    await using holder = new PyroProxy(holderUri, { serializer });
    assert.strictEqual(await holder.count([adder, { inner: adder }]), 2, serializer);
    const [back] = await holder.echo([adder]) as [PyroProxy];
    assert.ok(back instanceof PyroProxy, serializer);
    assert.strictEqual(await (back as unknown as Add)(1, 1), 2, serializer);
    back._pyroRelease();
  }
});
