/**
 * Daemon tests: listening (TCP, IPv6, Unix socket), registration, the built-in Pyro.Daemon
 * object, the handshake and every kind of request on the wire, over every serializer.
 */
import assert, { deepStrictEqual, equal, match, ok, rejects, throws } from "node:assert";
import { PyroProxy } from "../client.ts";
import { makeConfig } from "../config.ts";
import {
  CommunicationError,
  ConnectionClosedError,
  DaemonError,
  NamingError,
  ProtocolError,
  PyroError,
  RemoteError,
} from "../errors.ts";
import { MessageFlags, MessageType } from "../protocol/message.ts";
import { createSerializer } from "../serializers/mod.ts";
import {
  CallContext,
  currentContext,
  Daemon,
  DAEMON_NAME,
  exposeObject,
  getExposedMembers,
  isPrivateAttribute,
} from "../server.ts";
import {
  NothingExposed,
  PartlyExposed,
  PerCallCounter,
  RawClient,
  SERIALIZERS,
  SessionCounter,
  SingleCounter,
  TestService,
  waitFor,
} from "./_support_rpc.ts";

const SERVICE_METHODS = [
  "__dunder__",
  "add",
  "asyncAdd",
  "asyncGenerator",
  "context",
  "echo",
  "echoArgs",
  "echoKeywords",
  "endless",
  "fail",
  "failAsync",
  "failCustom",
  "failPyro",
  "failTyped",
  "failingGenerator",
  "generator",
  "half",
  "increment",
  "listValues",
  "onewayRecord",
  "onewaySlow",
  "setTarget",
  "slow",
];

function sorted(value: unknown): string[] {
  assert(value instanceof Set || Array.isArray(value), `not a set or list: ${value}`);
  return [...(value as Iterable<unknown>)].map(String).sort();
}

function decode(message: { data: Uint8Array; serializerId: number }): unknown {
  return createSerializer(message.serializerId).loads(message.data);
}

Deno.test("Daemon listens on 127.0.0.1 port 0 and closes idempotently", async () => {
  const daemon = new Daemon({ host: "127.0.0.1", port: 0 });
  const port = (daemon.addr as Deno.NetAddr).port;
  assert(port > 0);
  equal(daemon.locationStr, `127.0.0.1:${port}`);
  equal(daemon.uri.toString(), `PYRO:${DAEMON_NAME}@127.0.0.1:${port}`);
  equal(daemon.natLocationStr, null);
  const first = daemon.close();
  const second = daemon.close();
  await Promise.all([first, second, daemon.closed]);
  await rejects(Deno.connect({ hostname: "127.0.0.1", port }));
});

Deno.test("Daemon serves IPv6 (::1)", async () => {
  await using daemon = new Daemon({ host: "::1", port: 0 });
  match(daemon.locationStr, /^\[::1\]:\d+$/);
  const uri = daemon.register(new TestService(), "service");
  equal(uri.host, "::1");
  await using proxy = new PyroProxy(uri, { serializer: "json" });
  equal(await proxy.add(2, 3), 5);
});

Deno.test("Daemon serves a Unix domain socket and removes it on close", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/pyro.sock`;
  try {
    const daemon = new Daemon({ unixSocket: path });
    equal(daemon.locationStr, `./u:${path}`);
    const uri = daemon.register(new TestService(), "service");
    equal(uri.toString(), `PYRO:service@./u:${path}`);
    const proxy = new PyroProxy(uri, { serializer: "msgpack" });
    equal(await proxy.echo("over unix"), "over unix");
    proxy._pyroRelease();
    await daemon.close();
    await rejects(Deno.lstat(path), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Daemon.register ids, duplicates, unregister, uriFor, NAT", async (t) => {
  await using daemon = new Daemon({ host: "127.0.0.1", natHost: "example.com", natPort: 0 });
  const port = (daemon.addr as Deno.NetAddr).port;
  await t.step("generated ids look like Pyro5's", () => {
    const uri = daemon.register(new TestService());
    match(uri.object, /^obj_[0-9a-f]{32}$/);
    equal(uri.location, `example.com:${port}`);
    equal(daemon.uriFor(uri.object, false).location, `127.0.0.1:${port}`);
  });
  await t.step("duplicates are refused unless forced", () => {
    const service = new TestService();
    daemon.register(service, "dup");
    throws(() => daemon.register(service, "other"), DaemonError);
    throws(() => daemon.register(new TestService(), "dup"), DaemonError);
    daemon.register(new TestService(), "dup", { force: true });
  });
  await t.step("unregister by id or object; Pyro.Daemon stays", () => {
    const service = new TestService();
    daemon.register(service, "gone");
    daemon.unregister(service);
    assert(!daemon.registeredIds().includes("gone"));
    daemon.register(service, "gone");
    daemon.unregister("gone");
    assert(!daemon.registeredIds().includes("gone"));
    daemon.unregister("never-registered");
    daemon.unregister(DAEMON_NAME);
    equal(daemon.registeredIds()[0], DAEMON_NAME);
    throws(() => daemon.unregister(new TestService()), DaemonError);
    throws(() => daemon.uriFor(new TestService()), DaemonError);
    equal(daemon.uriFor("anything").toString(), `PYRO:anything@example.com:${port}`);
  });
  await t.step("NAT options are checked", () => {
    throws(() => new Daemon({ host: "127.0.0.1", natPort: 5 }), RangeError);
    throws(() => new Daemon({ unixSocket: "/tmp/x", natHost: "h" }), RangeError);
  });
});

Deno.test("Daemon unregister makes later calls fail with unknown object", async () => {
  await using daemon = new Daemon({ host: "127.0.0.1" });
  const uri = daemon.register(new TestService(), "service");
  await using proxy = new PyroProxy(uri, { serializer: "json" });
  equal(await proxy.add(1, 1), 2);
  daemon.unregister("service");
  const error = await proxy.add(1, 1).catch((e: unknown) => e);
  assert(error instanceof DaemonError);
  equal(error.message, "unknown object");
  await using fresh = new PyroProxy(uri, { serializer: "json" });
  await rejects(fresh._pyroBind(), /rejected: unknown object/);
});

Deno.test("Pyro.Daemon built-in object, per serializer", async (t) => {
  await using daemon = new Daemon({ host: "127.0.0.1" });
  daemon.register(new TestService(), "service");
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async () => {
      await using proxy = new PyroProxy(daemon.uri, { serializer });
      equal(await proxy.ping(), null);
      deepStrictEqual(await proxy.registered(), [DAEMON_NAME, "service"]);
      match(
        await proxy.info(),
        /^Pyro\.Daemon bound on 127\.0\.0\.1:\d+, NAT None, 2 objects registered\. Servertype: /,
      );
      deepStrictEqual(sorted(proxy._pyroMethods), [
        "close_stream",
        "get_metadata",
        "get_next_stream_item",
        "info",
        "ping",
        "registered",
      ]);
      const meta = await proxy.get_metadata("service") as Record<string, unknown>;
      deepStrictEqual(Object.keys(meta).sort(), ["attrs", "methods", "oneway"]);
      // Pyro5 sends sets: serpent and marshal keep them, json and msgpack make lists.
      const setType = serializer === "serpent" || serializer === "marshal" ? Set : Array;
      assert(meta.methods instanceof setType && meta.attrs instanceof setType);
      deepStrictEqual(sorted(meta.methods), SERVICE_METHODS);
      deepStrictEqual(sorted(meta.oneway), ["onewayRecord", "onewaySlow"]);
      deepStrictEqual(sorted(meta.attrs), ["counter", "readonly", "value"]);
      await rejects(proxy.get_metadata("nope"), (e: unknown) => {
        assert(e instanceof DaemonError);
        equal(e.message, "unknown object");
        return true;
      });
      await rejects(proxy.get_next_stream_item("nope"), /item stream terminated/);
      equal(await proxy.close_stream("nope"), null);
    });
  }
});

Deno.test("Daemon exposes what Pyro5 would", () => {
  deepStrictEqual(sorted(getExposedMembers(new TestService()).methods), SERVICE_METHODS);
  const partly = getExposedMembers(new PartlyExposed());
  deepStrictEqual(sorted(partly.methods), ["visible"]);
  deepStrictEqual(sorted(partly.attrs), ["attribute"]);
  equal(getExposedMembers(new NothingExposed()).methods.size, 0);
  assert(isPrivateAttribute("_x") && isPrivateAttribute("__init__") && isPrivateAttribute("___"));
  assert(!isPrivateAttribute("__len__") && !isPrivateAttribute("x"));
});

Deno.test("Daemon handshake on the wire", async (t) => {
  const validated: unknown[] = [];
  await using daemon = new Daemon({
    host: "127.0.0.1",
    validateHandshake: (_client, data) => {
      validated.push(data);
      if (data === "let me in") return { welcome: true };
      if (data === "hello") return "hello";
      throw new Error("go away");
    },
  });
  daemon.register(new TestService(), "service");
  for (const serializer of SERIALIZERS) {
    await t.step(`${serializer}: CONNECT_OK carries handshake and metadata`, async () => {
      await using raw = await RawClient.connect(daemon.addr, serializer);
      await raw.send(
        MessageType.CONNECT,
        raw.serializer.dumps({ handshake: "let me in", object: "service" }),
        { seq: 7 },
      );
      const reply = await raw.connection.receive(5000);
      equal(reply.type, MessageType.CONNECT_OK);
      equal(reply.seq, 7);
      equal(reply.serializerId, raw.serializer.id);
      const body = raw.serializer.loads(reply.data) as Record<string, Record<string, unknown>>;
      deepStrictEqual(body.handshake, { welcome: true });
      deepStrictEqual(sorted(body.meta.methods), SERVICE_METHODS);
    });
  }
  await t.step("a refused handshake gets CONNECT_FAIL with the error message", async () => {
    await using raw = await RawClient.connect(daemon.addr, "json");
    const reply = await raw.handshake("service", "bad");
    equal(reply.type, MessageType.CONNECT_FAIL);
    equal(raw.serializer.loads(reply.data), "go away");
    await rejects(raw.connection.receive(5000), ConnectionClosedError);
  });
  await t.step("an unknown object gets CONNECT_FAIL 'unknown object'", async () => {
    await using raw = await RawClient.connect(daemon.addr, "msgpack");
    const reply = await raw.handshake("no.such.object");
    equal(reply.type, MessageType.CONNECT_FAIL);
    equal(raw.serializer.loads(reply.data), "unknown object");
  });
  await t.step("a call before the handshake gets a marshal CONNECT_FAIL", async () => {
    await using raw = await RawClient.connect(daemon.addr, "json");
    const reply = await raw.call("service", "echo", [1]);
    equal(reply.type, MessageType.CONNECT_FAIL);
    equal(reply.serializerId, 2);
    equal(decode(reply), "invalid msg type 4 received (expected: 1)");
  });
  await t.step("a proxy sees the refusal as CommunicationError", async () => {
    await using proxy = new PyroProxy(daemon.uriFor("service"), { handshake: "nope" });
    await rejects(proxy._pyroBind(), (e: unknown) => {
      assert(e instanceof CommunicationError);
      match(e.message, /^connection to \('127\.0\.0\.1', \d+\) rejected: go away$/);
      return true;
    });
  });
  ok(validated.includes("let me in"));
});

Deno.test("Daemon answers PING with pong, same seq, nothing deserialized", async () => {
  await using daemon = new Daemon({ host: "127.0.0.1" });
  await using raw = await RawClient.connect(daemon.addr, "serpent");
  equal((await raw.handshake(DAEMON_NAME)).type, MessageType.CONNECT_OK);
  await raw.send(MessageType.PING, new TextEncoder().encode("ping"), {
    seq: 321,
    serializerId: 42,
  });
  const reply = await raw.connection.receive(5000);
  equal(reply.type, MessageType.PING);
  equal(reply.seq, 321);
  equal(reply.serializerId, 42);
  equal(new TextDecoder().decode(reply.data), "pong");
});

Deno.test("Daemon replies with the request's serializer, seq and correlation id", async (t) => {
  await using daemon = new Daemon({ host: "127.0.0.1" });
  daemon.register(new TestService(), "service");
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async () => {
      await using raw = await RawClient.connect(daemon.addr, serializer);
      await raw.handshake("service");
      const correlationId = new Uint8Array(16).fill(7);
      const reply = await raw.call("service", "add", [20, 22], { seq: 65535, correlationId });
      equal(reply.type, MessageType.RESULT);
      equal(reply.seq, 65535);
      equal(reply.serializerId, raw.serializer.id);
      equal(reply.flags & MessageFlags.EXCEPTION, 0);
      deepStrictEqual(reply.correlationId, correlationId);
      equal(raw.serializer.loads(reply.data), 42);
      const failed = await raw.call("service", "fail", ["oops"], { seq: 2 });
      equal(failed.flags & MessageFlags.EXCEPTION, MessageFlags.EXCEPTION);
      const error = raw.serializer.loads(failed.data);
      assert(error instanceof RemoteError);
      equal(error.pythonClass, "builtins.ValueError");
      equal(error.message, "oops");
      const traceback = error.remoteTraceback!;
      equal(traceback[0], "Traceback (most recent call last):\n");
      match(traceback.join(""), /File ".*_support_rpc\.ts", line \d+, in TestService\.fail\n/);
      equal(traceback.at(-1), "ValueError: oops\n");
    });
  }
});

Deno.test("Daemon refuses private, unexposed and unknown names; allows dunder names", async (t) => {
  await using daemon = new Daemon({ host: "127.0.0.1" });
  daemon.register(new TestService(), "service");
  daemon.register(new PartlyExposed(), "partly");
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async () => {
      await using proxy = new PyroProxy(daemon.uriFor("service"), { serializer });
      const attributeError = (text: string) => (e: unknown) => {
        assert(e instanceof RemoteError, String(e));
        equal(e.pythonClass, "builtins.AttributeError");
        equal(e.message, text);
        return true;
      };
      await rejects(
        proxy._pyroInvoke("_private", []),
        attributeError("attempt to access private attribute '_private'"),
      );
      await rejects(
        proxy._pyroInvoke("__init__", []),
        attributeError("attempt to access private attribute '__init__'"),
      );
      await rejects(
        proxy._pyroInvoke("nothing", []),
        attributeError("'TestService' object has no attribute 'nothing'"),
      );
      await rejects(
        proxy._pyroInvoke("onewayCalls", []),
        attributeError("attempt to access unexposed attribute 'onewayCalls'"),
      );
      equal(await proxy.__dunder__(), "should be allowed (dunder)");
      // The proxy itself refuses names missing from the metadata, as Pyro5's does.
      await rejects(proxy._private(), /has no exposed attribute or method '_private'/);
      await using partly = new PyroProxy(daemon.uriFor("partly"), { serializer });
      equal(await partly.visible(), "visible");
      equal(await partly.attribute, "attr");
      await rejects(
        partly._pyroInvoke("hidden", []),
        attributeError("attempt to access unexposed attribute 'hidden'"),
      );
    });
  }
});

Deno.test("Daemon runs oneway calls detached, without a reply", async () => {
  const service = new TestService();
  await using daemon = new Daemon({ host: "127.0.0.1" });
  daemon.register(service, "service");
  await using raw = await RawClient.connect(daemon.addr, "json");
  await raw.handshake("service");
  const started = performance.now();
  await raw.send(
    MessageType.INVOKE,
    raw.serializer.dumpsCall("service", "onewaySlow", [0.3], {}),
    { seq: 1, flags: MessageFlags.ONEWAY },
  );
  const reply = await raw.call("service", "echo", ["next"], { seq: 2 });
  equal(reply.seq, 2); // no reply for seq 1
  assert(performance.now() - started < 250, "the oneway call delayed the next call");
  await waitFor(() => service.onewayCalls.includes("slow done"));
});

Deno.test("Daemon streams iterator results (Pyro5 ITER_STREAMING)", async (t) => {
  const service = new TestService();
  await using daemon = new Daemon({ host: "127.0.0.1" });
  daemon.register(service, "service");
  for (const serializer of SERIALIZERS) {
    await t.step(`${serializer}: wire format`, async () => {
      await using raw = await RawClient.connect(daemon.addr, serializer);
      await raw.handshake("service");
      const reply = await raw.call("service", "generator", [2]);
      // Like Pyro5, every reply carries a correlation id (a new one when the request had none).
      equal(
        reply.flags,
        MessageFlags.EXCEPTION | MessageFlags.ITEM_STREAM_RESULT | MessageFlags.CORR_ID,
      );
      const streamId = new TextDecoder().decode(reply.annotations.get("STRM"));
      match(streamId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      const marker = raw.serializer.loads(reply.data);
      assert(marker instanceof ProtocolError);
      equal(marker.message, "result of call is an iterator");
      const items = [];
      for (let seq = 10; seq < 13; seq++) {
        const item = await raw.call(DAEMON_NAME, "get_next_stream_item", [streamId], { seq });
        items.push(raw.serializer.loads(item.data));
        if (item.flags & MessageFlags.EXCEPTION) break;
      }
      deepStrictEqual(items.slice(0, 2), [0, 1]);
      const stop = items[2];
      assert(stop instanceof RemoteError && stop.pythonClass === "builtins.StopIteration");
      equal(daemon.streamCount, 0);
    });
  }
  await t.step("close_stream ends the generator", async () => {
    await using raw = await RawClient.connect(daemon.addr, "json");
    await raw.handshake("service");
    const finished = service.streamsFinished;
    const reply = await raw.call("service", "endless", []);
    const streamId = new TextDecoder().decode(reply.annotations.get("STRM"));
    await raw.call(DAEMON_NAME, "get_next_stream_item", [streamId], { seq: 2 });
    equal(daemon.streamCount, 1);
    await raw.call(DAEMON_NAME, "close_stream", [streamId], { seq: 3 });
    equal(daemon.streamCount, 0);
    equal(service.streamsFinished, finished + 1);
  });
  await t.step("a disconnect with ITER_STREAM_LINGER 0 ends the client's streams", async () => {
    await using lingerless = new Daemon({
      host: "127.0.0.1",
      config: makeConfig({ ITER_STREAM_LINGER: 0 }),
    });
    lingerless.register(service, "service");
    const raw = await RawClient.connect(lingerless.addr, "json");
    await raw.handshake("service");
    await raw.call("service", "endless", []);
    equal(lingerless.streamCount, 1);
    raw.close();
    await waitFor(() => lingerless.streamCount === 0);
  });
  await t.step("streams linger after a disconnect, then expire", async () => {
    await using lingering = new Daemon({
      host: "127.0.0.1",
      config: makeConfig({ ITER_STREAM_LINGER: 0.1, POLLTIMEOUT: 0.05 }),
    });
    lingering.register(service, "service");
    const raw = await RawClient.connect(lingering.addr, "json");
    await raw.handshake("service");
    const reply = await raw.call("service", "endless", []);
    const streamId = new TextDecoder().decode(reply.annotations.get("STRM"));
    raw.close();
    await waitFor(() => lingering.connectionCount === 0);
    equal(lingering.streamCount, 1);
    // A new connection may pick the stream up again while it lingers.
    await using again = await RawClient.connect(lingering.addr, "json");
    await again.handshake("service");
    const item = await again.call(DAEMON_NAME, "get_next_stream_item", [streamId], { seq: 5 });
    equal(again.serializer.loads(item.data), 0);
    again.close();
    await waitFor(() => lingering.streamCount === 0, 3000);
  });
  await t.step("ITER_STREAM_LIFETIME ends old streams", async () => {
    await using shortLived = new Daemon({
      host: "127.0.0.1",
      config: makeConfig({ ITER_STREAM_LIFETIME: 0.1, POLLTIMEOUT: 0.05 }),
    });
    shortLived.register(service, "service");
    await using raw = await RawClient.connect(shortLived.addr, "json");
    await raw.handshake("service");
    await raw.call("service", "endless", []);
    equal(shortLived.streamCount, 1);
    await waitFor(() => shortLived.streamCount === 0, 3000);
  });
  await t.step("without ITER_STREAMING there is no stream id", async () => {
    await using plain = new Daemon({
      host: "127.0.0.1",
      config: makeConfig({ ITER_STREAMING: false }),
    });
    plain.register(service, "service");
    await using proxy = new PyroProxy(plain.uriFor("service"), { serializer: "json" });
    await rejects(proxy.generator(3), /server is not configured to allow streaming/);
    equal(plain.streamCount, 0);
  });
});

Deno.test("Daemon batch replies: results list with BATCH flag, an error ends the batch", async (t) => {
  await using daemon = new Daemon({ host: "127.0.0.1" });
  daemon.register(new TestService(), "service");
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async () => {
      await using raw = await RawClient.connect(daemon.addr, serializer);
      await raw.handshake("service");
      const calls = [["add", [1, 2], {}], ["fail", ["stop"], {}], ["add", [3, 4], {}]];
      const reply = await raw.call("service", "<batch>", calls, { flags: MessageFlags.BATCH });
      equal(reply.flags, MessageFlags.BATCH | MessageFlags.CORR_ID);
      const results = raw.serializer.loads(reply.data) as unknown[];
      equal(results.length, 2);
      equal(results[0], 3);
      const wrapped = results[1] as { error: RemoteError };
      equal(wrapped.constructor.name, "ExceptionWrapper");
      equal(wrapped.error.message, "stop");
      match(wrapped.error.remoteTraceback!.join(""), /ValueError: stop\n$/);
    });
  }
});

Deno.test("Daemon instance modes for registered classes", async () => {
  await using daemon = new Daemon({ host: "127.0.0.1" });
  daemon.register(SessionCounter, "session");
  daemon.register(PerCallCounter, "percall");
  daemon.register(SingleCounter, "single");
  await using a = new PyroProxy(daemon.uriFor("session"));
  await using b = new PyroProxy(daemon.uriFor("session"));
  equal(await a.next(), 1);
  equal(await a.next(), 2);
  equal(await b.next(), 1);
  await using p = new PyroProxy(daemon.uriFor("percall"));
  equal(await p.next(), 1);
  equal(await p.next(), 1);
  await using s1 = new PyroProxy(daemon.uriFor("single"));
  await using s2 = new PyroProxy(daemon.uriFor("single"));
  equal(await s1.next(), 1);
  equal(await s2.next(), 2);
});

Deno.test("Daemon call context, annotations and kwargs", async () => {
  const tag = new TextEncoder();
  await using daemon = new Daemon({
    host: "127.0.0.1",
    annotations: () => new Map([["XDMN", tag.encode("daemon")]]),
  });
  daemon.register(new TestService(), "service");
  await using proxy = new PyroProxy(daemon.uriFor("service"), {
    serializer: "serpent",
    annotations: () => new Map([["XTST", tag.encode("from client")]]),
  });
  const context = await proxy.context() as Record<string, unknown>;
  equal(context.serializerId, 1);
  deepStrictEqual(context.annotations, { XTST: "from client" });
  const received = proxy._pyroResponseAnnotations as Map<string, Uint8Array>;
  equal(new TextDecoder().decode(received.get("XRES")), "response");
  equal(new TextDecoder().decode(received.get("XDMN")), "daemon");
  equal(currentContext(), undefined);
  assert(typeof CallContext === "function");
  const { kwargs } = await import("../client.ts");
  deepStrictEqual(await proxy.echoKeywords(1, kwargs({ sep: "," })), [1, { sep: "," }]);
});

Deno.test("Daemon reports method errors to onError", async () => {
  const seen: [unknown, string][] = [];
  await using daemon = new Daemon({
    host: "127.0.0.1",
    onError: (error, info) => seen.push([error, info.method]),
  });
  daemon.register(new TestService(), "service");
  await using proxy = new PyroProxy(daemon.uriFor("service"));
  await rejects(proxy.failPyro(), NamingError);
  equal(seen.length, 1);
  assert(seen[0][0] instanceof NamingError);
  equal(seen[0][1], "failPyro");
});

Deno.test("Daemon sends registered objects as proxies", async () => {
  await using daemon = new Daemon({ host: "127.0.0.1" });
  const inner = new SessionCounter();
  daemon.register(inner, "inner");
  daemon.register(exposeObject({ getInner: () => inner }), "outer");
  await using outer = new PyroProxy(daemon.uriFor("outer"), { serializer: "serpent" });
  const got = await outer.getInner();
  assert(got instanceof PyroProxy);
  equal(got._pyroUri.toString(), daemon.uriFor("inner").toString());
  equal(await got.next(), 1);
  got._pyroRelease();
  const viaProxyFor = daemon.proxyFor("inner");
  deepStrictEqual([...viaProxyFor._pyroMethods], ["next"]);
});

Deno.test("Daemon refuses connections beyond maxConnections", async () => {
  await using daemon = new Daemon({ host: "127.0.0.1", maxConnections: 2 });
  daemon.register(new TestService(), "service");
  const uri = daemon.uriFor("service");
  await using a = new PyroProxy(uri);
  await using b = new PyroProxy(uri);
  await a._pyroBind();
  await b._pyroBind();
  await using c = new PyroProxy(uri, { serializer: "json" });
  await rejects(c._pyroBind(), (e: unknown) => {
    assert(e instanceof CommunicationError);
    match(
      e.message,
      /rejected: no free workers, increase server threadpool size \(all 2 connections/,
    );
    return true;
  });
  // The refusal is a marshal CONNECT_FAIL, whatever the client's serializer, as in Pyro5.
  await using raw = await RawClient.connect(daemon.addr, "msgpack");
  const reply = await raw.handshake("service");
  equal(reply.type, MessageType.CONNECT_FAIL);
  equal(reply.serializerId, 2);
  match(decode(reply) as string, /^no free workers, increase server threadpool size \(all 2 /);
  a._pyroRelease();
  await waitFor(() => daemon.connectionCount === 1);
  equal(await c.add(1, 2), 3);
});

Deno.test("Daemon closes idle connections after COMMTIMEOUT", async () => {
  await using daemon = new Daemon({
    host: "127.0.0.1",
    config: makeConfig({ COMMTIMEOUT: 0.1 }),
  });
  daemon.register(new TestService(), "service");
  await using raw = await RawClient.connect(daemon.addr, "json");
  await raw.handshake("service");
  await rejects(raw.connection.receive(3000), ConnectionClosedError);
  equal(daemon.connectionCount, 0);
});

Deno.test("Daemon.close ends open connections; an aborted signal closes it", async () => {
  const controller = new AbortController();
  const daemon = new Daemon({ host: "127.0.0.1", signal: controller.signal });
  daemon.register(new TestService(), "service");
  await using proxy = new PyroProxy(daemon.uriFor("service"), { serializer: "msgpack" });
  equal(await proxy.echo(1), 1);
  const slow = proxy.slow(0.05).catch((e: unknown) => e);
  await waitFor(() => daemon.connectionCount === 1);
  controller.abort();
  await daemon.closed;
  const outcome = await slow;
  assert(outcome instanceof PyroError || outcome === "Finally, an answer!");
  await rejects(proxy.echo(2), CommunicationError);
  equal(daemon.connectionCount, 0);
});
