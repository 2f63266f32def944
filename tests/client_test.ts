/**
 * Proxy tests: a Deno proxy against a Deno daemon over every serializer: calls, errors,
 * attributes, oneway, batches, streams, timeouts, reconnects, concurrency.
 */
import assert, { deepStrictEqual, equal, match, rejects, throws } from "node:assert";
import { kwargs, PyroProxy, StreamResult } from "../client.ts";
import { makeConfig } from "../config.ts";
import {
  CommunicationError,
  ConnectionClosedError,
  NamingError,
  PyroError,
  RemoteError,
  SerializeError,
  TimeoutError,
} from "../errors.ts";
import { Daemon, exposeObject } from "../server.ts";
import { PyComplex, PyFloat, PyTuple, tuple } from "../serializers/values.ts";
import { NothingExposed, SERIALIZERS, sleep, TestService, waitFor } from "./_support_rpc.ts";

type SerializerName = typeof SERIALIZERS[number];

/** Starts a daemon with one TestService registered as "service". */
function serve(options: ConstructorParameters<typeof Daemon>[0] = {}) {
  const service = new TestService();
  const daemon = new Daemon({ host: "127.0.0.1", ...options });
  const uri = daemon.register(service, "service");
  return { daemon, service, uri };
}

/** Values every serializer round-trips unchanged. */
const COMMON_VALUES: [string, unknown][] = [
  ["null", null],
  ["true", true],
  ["false", false],
  ["zero", 0],
  ["negative int", -12345],
  ["int beyond 32 bits", 2 ** 40],
  ["float", 1.5],
  ["negative float", -2.75e-10],
  ["string", "hello"],
  ["unicode", "ünïcødé ✓ 𝄞 \u0000 \n\"'\\"],
  ["empty string", ""],
  ["list", [1, "two", [3, [4.5]]]],
  ["empty list", []],
  ["dict", { a: 1, b: { c: [1, 2] }, "key with space": null }],
  ["empty dict", {}],
];

Deno.test("PyroProxy calls and round-trips values, per serializer", async (t) => {
  const { daemon, uri } = serve();
  await using _daemon = daemon;
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async (t) => {
      await using proxy = new PyroProxy(uri, { serializer });
      for (const [name, value] of COMMON_VALUES) {
        await t.step(name, async () => deepStrictEqual(await proxy.echo(value), value));
      }
      await t.step("big int", async () => {
        deepStrictEqual(await proxy.echo(2n ** 70n), 2n ** 70n);
        deepStrictEqual(await proxy.echo(-(2n ** 63n)), -(2n ** 63n));
      });
      await t.step("bytes", async () => {
        const bytes = new Uint8Array([0, 1, 255]);
        // Python Pyro5's json serializer cannot send bytes either.
        if (serializer === "json") await rejects(proxy.echo(bytes), SerializeError);
        else deepStrictEqual(await proxy.echo(bytes), bytes);
      });
      await t.step("tuple", async () => {
        const back = await proxy.echo(tuple<unknown>(1, "a"));
        deepStrictEqual([...back], [1, "a"]);
        // json and msgpack have no tuples: Python Pyro5 gets lists there too.
        equal(back instanceof PyTuple, serializer === "serpent" || serializer === "marshal");
      });
      await t.step("set", async () => {
        const back = await proxy.echo(new Set([1, 2, 3]));
        deepStrictEqual([...back].sort(), [1, 2, 3]);
        equal(back instanceof Set, serializer === "serpent" || serializer === "marshal");
      });
      await t.step("dict with int keys", async () => {
        const back = await proxy.echo(new Map([[1, "one"], [2, "two"]]));
        if (serializer === "json") deepStrictEqual(back, { 1: "one", 2: "two" });
        else deepStrictEqual(back, new Map([[1, "one"], [2, "two"]]));
      });
      await t.step("complex", async () => {
        if (serializer === "json") {
          await rejects(proxy.echo(new PyComplex(1, 2)));
        } else {
          deepStrictEqual(await proxy.echo(new PyComplex(1, -2)), new PyComplex(1, -2));
        }
      });
      await t.step("sync and async methods, varargs, kwargs, floats", async () => {
        equal(await proxy.add(40, 2), 42);
        equal(await proxy.asyncAdd(40, 2), 42);
        deepStrictEqual(await proxy.echoArgs(1, 2, 3), [1, 2, 3]);
        deepStrictEqual(await proxy.echoKeywords(1, kwargs({ key: "v" })), [1, { key: "v" }]);
        deepStrictEqual(await proxy.echoKeywords(kwargs({ first: 0 })), [0, {}]);
        equal(await proxy.half(5), 2.5);
        equal(await proxy.half(4), 2);
        assert(Number.isNaN(await proxy.echo(NaN)));
        equal(await proxy.echo(Infinity), Infinity);
      });
    });
  }
});

Deno.test("PyroProxy rethrows remote errors with their traceback, per serializer", async (t) => {
  const { daemon, uri } = serve();
  await using _daemon = daemon;
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async () => {
      await using proxy = new PyroProxy(uri, { serializer });
      // A JavaScript RangeError arrives as one (Python callers get a ValueError).
      const value = await proxy.fail("it broke").catch((e: unknown) => e);
      assert(value instanceof RangeError && value instanceof RemoteError);
      equal(value.name, "RangeError");
      equal(value.pythonClass, "builtins.ValueError");
      equal(value.message, "it broke");
      deepStrictEqual(value.args, ["it broke"]);
      const traceback = value.remoteTraceback!.join("");
      match(traceback, /^Traceback \(most recent call last\):\n/);
      match(traceback, / {2}File ".*tests\/_support_rpc\.ts", line \d+, in TestService\.fail\n/);
      match(traceback, /ValueError: it broke\n$/);
      const typed = await proxy.failTyped().catch((e: unknown) => e);
      assert(typed instanceof TypeError && typed instanceof RemoteError);
      equal(typed.pythonClass, "builtins.TypeError");
      match(typed.remoteTraceback!.at(-1)!, /^TypeError: wrong type\n$/);
      const pyro = await proxy.failPyro().catch((e: unknown) => e);
      assert(pyro instanceof NamingError);
      equal(pyro.message, "no such name");
      match(pyro.remoteTraceback!.at(-1)!, /^Pyro5\.errors\.NamingError: no such name\n$/);
      const custom = await proxy.failCustom().catch((e: unknown) => e);
      assert(custom instanceof RemoteError);
      equal(custom.pythonClass, "mymodule.InsufficientFunds");
      deepStrictEqual(custom.args, ["too poor", 3]);
      const asyncFailure = await proxy.failAsync("later").catch((e: unknown) => e);
      assert(asyncFailure instanceof RemoteError && asyncFailure.message === "later");
      // The connection is still good after errors.
      equal(await proxy.add(1, 1), 2);
    });
  }
});

Deno.test("PyroProxy remote attributes, per serializer", async (t) => {
  const { daemon, uri, service } = serve();
  await using _daemon = daemon;
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async () => {
      await using proxy = new PyroProxy(uri, { serializer });
      await proxy._pyroSetAttr("value", 42);
      equal(await proxy.value, 42);
      await proxy._pyroSetAttr("value", 7);
      equal(await proxy.value, 7);
      equal(service.value, 7);
      equal(await proxy.readonly, "fixed");
      await rejects(proxy._pyroSetAttr("readonly", "x"), (e: unknown) => {
        assert(e instanceof RemoteError && e.name === "AttributeError");
        equal(e.message, "attempt to access unexposed or unknown remote attribute 'readonly'");
        return true;
      });
      await proxy._pyroSetAttr("counter", 10);
      equal(await proxy.increment(), 11);
      equal(await proxy.counter, 11);
      await rejects(proxy._pyroSetAttr("nope", 1), /has no exposed attribute 'nope'/);
      throws(() => {
        proxy.value = 3;
      }, TypeError);
      deepStrictEqual([...proxy._pyroAttrs].sort(), ["counter", "readonly", "value"]);
    });
  }
});

Deno.test("PyroProxy oneway calls do not wait, per serializer", async (t) => {
  const { daemon, uri, service } = serve();
  await using _daemon = daemon;
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async () => {
      service.onewayCalls.length = 0;
      await using proxy = new PyroProxy(uri, { serializer });
      await proxy._pyroBind();
      deepStrictEqual([...proxy._pyroOneway].sort(), ["onewayRecord", "onewaySlow"]);
      const started = performance.now();
      equal(await proxy.onewaySlow(0.3), undefined);
      equal(await proxy.onewayRecord("x"), undefined);
      equal(await proxy.echo("after"), "after");
      assert(performance.now() - started < 250, "oneway call blocked");
      await waitFor(() => service.onewayCalls.length === 2);
      deepStrictEqual(service.onewayCalls, ["x", "slow done"]);
    });
  }
});

Deno.test("PyroProxy batches, per serializer", async (t) => {
  const { daemon, uri, service } = serve();
  await using _daemon = daemon;
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async () => {
      await using proxy = new PyroProxy(uri, { serializer });
      const batch = proxy._pyroBatch();
      for (let i = 0; i < 100; i++) batch.add(i, 1);
      equal(batch._pyroCalls.length, 100);
      const results = [...await batch()];
      deepStrictEqual(results, Array.from({ length: 100 }, (_, i) => i + 1));
      equal(batch._pyroCalls.length, 0);

      batch.echo("first");
      batch.fail("batch broke");
      batch.echo("never");
      const iterator = (await batch())[Symbol.iterator]();
      deepStrictEqual(iterator.next(), { value: "first", done: false });
      throws(() => iterator.next(), (e: unknown) => {
        assert(e instanceof RemoteError && e.message === "batch broke");
        match(e.remoteTraceback!.join(""), /ValueError: batch broke/);
        return true;
      });

      service.onewayCalls.length = 0;
      batch.onewayRecord(1);
      batch.echoKeywords(2, kwargs({ k: 3 }));
      equal(await batch({ oneway: true }), undefined);
      await waitFor(() => service.onewayCalls.length === 1);
      equal(await proxy.echo("still fine"), "still fine");
    });
  }
});

Deno.test("PyroProxy streams iterator results, per serializer", async (t) => {
  const { daemon, uri, service } = serve();
  await using _daemon = daemon;
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async () => {
      await using proxy = new PyroProxy(uri, { serializer });
      const stream = await proxy.generator(5);
      assert(stream instanceof StreamResult);
      const items: unknown[] = [];
      for await (const item of stream) items.push(item);
      deepStrictEqual(items, [0, 1, 2, 3, 4]);
      equal(daemon.streamCount, 0);

      const asyncItems: unknown[] = [];
      for await (const item of await proxy.asyncGenerator(3)) asyncItems.push(item);
      deepStrictEqual(asyncItems, ["item0", "item1", "item2"]);

      const listed: unknown[] = [];
      for await (const item of await proxy.listValues()) listed.push(item);
      deepStrictEqual(listed, ["a", "b", "c"]);

      // Stopping early closes the remote stream, and the generator's finally block runs.
      const finished = service.streamsFinished;
      let count = 0;
      for await (const _ of await proxy.endless()) {
        if (++count === 3) break;
      }
      await waitFor(() => service.streamsFinished === finished + 1);
      equal(daemon.streamCount, 0);

      const failing = await proxy.failingGenerator();
      deepStrictEqual(await failing.next(), { value: 1, done: false });
      await rejects(failing.next(), /generator broke/);
      deepStrictEqual(await failing.next(), { value: undefined, done: true });
    });
  }
});

Deno.test("PyroProxy pipelines concurrent calls on one connection, per serializer", async (t) => {
  const { daemon, uri } = serve();
  await using _daemon = daemon;
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async () => {
      await using proxy = new PyroProxy(uri, { serializer });
      const calls = Array.from({ length: 300 }, (_, i) => proxy.add(i, 0));
      deepStrictEqual(await Promise.all(calls), Array.from({ length: 300 }, (_, i) => i));
      equal(daemon.connectionCount, 1);
      // Errors and results interleave correctly.
      const mixed = await Promise.allSettled([
        proxy.echo("a"),
        proxy.fail("b"),
        proxy.asyncAdd(1, 2),
        proxy.echo("d"),
      ]);
      deepStrictEqual(mixed.map((r) => r.status), [
        "fulfilled",
        "rejected",
        "fulfilled",
        "fulfilled",
      ]);
      deepStrictEqual(mixed.map((r) => r.status === "fulfilled" ? r.value : r.reason.message), [
        "a",
        "b",
        3,
        "d",
      ]);
    });
  }
});

Deno.test("PyroProxy timeout raises TimeoutError and the proxy reconnects", async (t) => {
  const { daemon, uri } = serve();
  await using _daemon = daemon;
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async () => {
      await using proxy = new PyroProxy(uri, { serializer, timeout: 0.15 });
      equal(await proxy.echo(1), 1);
      const started = performance.now();
      await rejects(proxy.slow(1), (e: unknown) => {
        assert(e instanceof TimeoutError, String(e));
        equal(e.message, "receiving: timeout");
        return true;
      });
      const elapsed = performance.now() - started;
      assert(elapsed >= 140 && elapsed < 900, `timeout took ${elapsed} ms`);
      equal(proxy._pyroConnected, false);
      equal(await proxy.echo(2), 2);
      proxy._pyroTimeout = 0;
      equal(await proxy.slow(0.2), "Finally, an answer!");
    });
  }
});

Deno.test("PyroProxy release, reconnect, using, retries", async () => {
  const { daemon, uri } = serve();
  await using _daemon = daemon;
  {
    using proxy = new PyroProxy(uri);
    equal(await proxy.echo(1), 1);
    equal(proxy._pyroConnected, true);
    const local = proxy._pyroLocalSocket as Deno.NetAddr;
    assert(local.port > 0);
    proxy._pyroRelease();
    equal(proxy._pyroConnected, false);
    equal(await proxy.echo(2), 2);
    equal(proxy._pyroConnected, true);
    await proxy._pyroReconnect();
    equal(await proxy.echo(3), 3);
  }
  await waitFor(() => daemon.connectionCount === 0);

  // A connection the daemon dropped fails once, then the proxy reconnects; with retries the
  // caller never sees the failure.
  await using retrying = new PyroProxy(uri, { maxRetries: 2 });
  await using plain = new PyroProxy(uri);
  equal(await retrying.echo(1), 1);
  equal(await plain.echo(1), 1);
  await daemon.close();
  const { daemon: second } = serve({ port: uri.port! });
  await using _second = second;
  await rejects(plain.echo(2), CommunicationError);
  equal(await plain.echo(3), 3);
  equal(await retrying.echo(4), 4);
});

Deno.test("PyroProxy is awaitable as itself and lazy until first use", async () => {
  const { daemon, uri } = serve();
  await using _daemon = daemon;
  await using proxy = new PyroProxy(uri, { serializer: "json" });
  equal(proxy.then, undefined);
  equal(await proxy, proxy);
  equal(daemon.connectionCount, 0);
  // Before the metadata is known, members are awaitable (attributes) and callable (methods).
  equal(await proxy.value, 42);
  await using other = new PyroProxy(uri);
  equal(await other.add(2, 2), 4);
  await using third = new PyroProxy(uri);
  const method = await third.add;
  equal(typeof method, "function");
  equal(await method(3, 3), 6);
  await using fourth = new PyroProxy(uri);
  await rejects(fourth.nonexistent(), /has no exposed attribute or method 'nonexistent'/);
  match(String(proxy), /^<PyroProxy; connected; for PYRO:service@127\.0\.0\.1:\d+>$/);
  equal(JSON.stringify({ p: proxy }), `{"p":"${uri}"}`);
});

Deno.test("PyroProxy inspects as its URI and state (Deno.inspect, console, util.inspect)", async () => {
  const { inspect } = await import("node:util");
  const { daemon, uri } = serve();
  await using _daemon = daemon;
  await using proxy = new PyroProxy(uri, { serializer: "msgpack" });
  const idle = `<PyroProxy; not connected; serializer msgpack; for ${uri}>`;
  equal(Deno.inspect(proxy), idle);
  equal(Deno.inspect(proxy, { showProxy: true }), idle);
  equal(inspect(proxy), idle);
  assert(Deno.inspect({ nested: [proxy] }).includes(idle));
  equal(await proxy.echo(1), 1);
  equal(Deno.inspect(proxy), `<PyroProxy; connected; serializer msgpack; for ${uri}>`);
  // without a serializer of its own, the configured one; callable proxies too
  await using plain = new PyroProxy("PYRO:x@localhost:1", {
    config: makeConfig({ SERIALIZER: "json" }),
    callable: true,
  });
  equal(typeof plain, "function");
  equal(Deno.inspect(plain), "<PyroProxy; not connected; serializer json; for PYRO:x@localhost:1>");
  equal(
    inspect([plain]),
    "[ <PyroProxy; not connected; serializer json; for PYRO:x@localhost:1> ]",
  );
});

Deno.test("PyroProxy connection failures", async (t) => {
  await t.step("nobody listening", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    await using proxy = new PyroProxy(`PYRO:x@127.0.0.1:${port}`);
    await rejects(proxy.echo(1), (e: unknown) => {
      assert(e instanceof CommunicationError);
      match(e.message, new RegExp(`^cannot connect to \\('127\\.0\\.0\\.1', ${port}\\): `));
      return true;
    });
  });
  await t.step("unknown object", async () => {
    const { daemon } = serve();
    await using _daemon = daemon;
    await using proxy = new PyroProxy(daemon.uriFor("nothing.here"));
    await rejects(proxy.echo(1), /rejected: unknown object/);
  });
  await t.step("an object exposing nothing", async () => {
    const { daemon } = serve();
    await using _daemon = daemon;
    const uri = daemon.register(new NothingExposed(), "empty");
    await using proxy = new PyroProxy(uri);
    await rejects(proxy._pyroBind(), (e: unknown) => {
      assert(e instanceof PyroError);
      // Pyro5 #97: the message names the object.
      equal(
        e.message,
        `remote object '${uri}' doesn't expose any methods or attributes. ` +
          "Did you forget setting @expose on them?",
      );
      return true;
    });
  });
  await t.step("a handshake validator can refuse the daemon", async () => {
    const { daemon, uri } = serve({ validateHandshake: () => ({ version: 1 }) });
    await using _daemon = daemon;
    const seen: unknown[] = [];
    await using proxy = new PyroProxy(uri, {
      validateHandshake: (response) => {
        seen.push(response);
        throw new PyroError("wrong version");
      },
    });
    await rejects(proxy._pyroBind(), /wrong version/);
    deepStrictEqual(seen, [{ version: 1 }]);
    equal(proxy._pyroConnected, false);
  });
  await t.step("PYRONAME needs a name server", async () => {
    await using proxy = new PyroProxy("PYRONAME:some.name@127.0.0.1:1");
    await rejects(proxy._pyroBind(), PyroError);
  });
  await t.step("a closed connection fails pending calls", async () => {
    const { daemon, uri } = serve();
    await using proxy = new PyroProxy(uri);
    const pending = proxy.slow(5).catch((e: unknown) => e);
    await waitFor(() => daemon.connectionCount === 1);
    await sleep(10);
    await daemon.close();
    assert(await pending instanceof ConnectionClosedError);
  });
});

Deno.test("PyroProxy travels as a Pyro5 proxy and comes back usable", async (t) => {
  const { daemon, uri } = serve();
  await using _daemon = daemon;
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async () => {
      await using proxy = new PyroProxy(uri, { serializer });
      await proxy._pyroBind();
      const copy = await proxy.echo(proxy);
      assert(copy instanceof PyroProxy);
      assert(copy !== proxy);
      equal(copy._pyroUri.toString(), uri.toString());
      deepStrictEqual([...copy._pyroMethods].sort(), [...proxy._pyroMethods].sort());
      equal(await copy.add(1, 2), 3);
      copy._pyroRelease();
    });
  }
});

Deno.test("PyroProxy over a compressed connection with a message size limit", async () => {
  const config = makeConfig({ COMPRESSION: true, MAX_MESSAGE_SIZE: 50_000 });
  const { daemon, uri } = serve({ config });
  await using _daemon = daemon;
  await using proxy = new PyroProxy(uri, { config, serializer: "msgpack" });
  const big = "x".repeat(45_000); // compresses well below the limit
  equal(await proxy.echo(big), big);
  const random = crypto.getRandomValues(new Uint8Array(60_000));
  await rejects(proxy.echo(random), /too large/);
  equal(await proxy.echo("still usable"), "still usable");
});

Deno.test("PyroProxy for a plain object exposed with exposeObject", async () => {
  const { daemon } = serve();
  await using _daemon = daemon;
  const store = exposeObject({
    items: [] as string[],
    total: 0,
    add(item: string) {
      this.items.push(item);
      return this.items.length;
    },
  }, { methods: ["add"], attributes: ["total", "items"] });
  const uri = daemon.register(store, "store");
  await using proxy = new PyroProxy(uri, { serializer: "serpent" });
  equal(await proxy.add("a"), 1);
  deepStrictEqual(await proxy.items, ["a"]);
  await proxy._pyroSetAttr("total", 5);
  equal(store.total, 5);
  equal(new PyFloat(1).value, 1);
});

Deno.test("PyroProxy resolves PYRONAME through the name server on connect", async () => {
  const { startNameServer } = await import("../nameserver.ts");
  await using ns = await startNameServer({ host: "127.0.0.1", port: 0 });
  const { daemon, uri } = serve();
  await using _daemon = daemon;
  ns.nameserver.register("test.service", uri.toString(), false, []);
  await using proxy = new PyroProxy(`PYRONAME:test.service@127.0.0.1:${ns.uri.port}`);
  equal(await proxy.add(1, 2), 3);
  equal(proxy._pyroUri.protocol, "PYRONAME");
  proxy._pyroRelease();
  equal(await proxy._pyroBind(), true);
  equal(proxy._pyroUri.toString(), uri.toString());
});
