/**
 * The Deno proxy against real Python Pyro5 5.15 daemons: `python3 -m Pyro5.utils.echoserver`
 * and tests/interop/pyro_server.py (streams, errors, properties, oneway, auto proxies), with each
 * of the four serializers.
 */
import assert, { deepStrictEqual, equal, match, rejects } from "node:assert";
import { kwargs, PyroProxy, StreamResult } from "../../client.ts";
import { CommunicationError, NamingError, RemoteError, TimeoutError } from "../../errors.ts";
import { PyComplex, PyTuple } from "../../serializers/values.ts";
import { interopScript, SERIALIZERS, sleep, startPythonServer } from "../_support_rpc.ts";

async function collect(stream: unknown): Promise<unknown[]> {
  assert(stream instanceof StreamResult, `not a stream: ${stream}`);
  const items: unknown[] = [];
  for await (const item of stream) items.push(item);
  return items;
}

Deno.test("Deno proxy calls Python's echoserver", async (t) => {
  await using server = await startPythonServer(
    ["-u", "-m", "Pyro5.utils.echoserver", "-H", "127.0.0.1", "-p", "0"],
    /echo uri: (PYRO:\S+)/,
  );
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async () => {
      await using echo = new PyroProxy(server.uri, { serializer, timeout: 10 });
      await echo._pyroBind();
      deepStrictEqual([...echo._pyroOneway].sort(), ["oneway_echo", "oneway_slow"]);
      deepStrictEqual([...echo._pyroAttrs], ["verbose"]);
      assert(echo._pyroMethods.has("__dunder__") && !echo._pyroMethods.has("_private"));
      const values: unknown[] = [
        null,
        true,
        -7,
        2 ** 53,
        2n ** 64n,
        3.25,
        "ünïcødé ✓",
        [1, [2, "x"]],
        { a: 1, b: [true, null] },
      ];
      for (const value of values) deepStrictEqual(await echo.echo(value), value);
      if (serializer !== "json") {
        deepStrictEqual(await echo.echo(new Uint8Array([0, 255])), new Uint8Array([0, 255]));
      }
      assert(Number.isNaN(await echo.nan()));
      equal(await echo.inf(), Infinity);
      deepStrictEqual(await collect(await echo.generator()), ["one", "two", "three"]);
      const error = await echo.error().catch((e: unknown) => e);
      assert(error instanceof RemoteError, String(error));
      equal(error.pythonClass, "builtins.ValueError");
      equal(error.message, "this is the generated error from echoserver echo() method");
      match(error.remoteTraceback!.join(""), /Traceback \(most recent call last\)/);
      match(error.remoteTraceback!.join(""), /in error\n/);
      await rejects(echo.error_with_text(), /the message of the error/);
      const started = performance.now();
      equal(await echo.oneway_echo("hi"), undefined);
      assert(performance.now() - started < 1000);
      equal(await echo.__dunder__(), "should be allowed (dunder)");
      await rejects(echo._pyroInvoke("_private", []), (e: unknown) => {
        assert(e instanceof RemoteError && e.pythonClass === "builtins.AttributeError");
        equal(e.message, "attempt to access private attribute '_private'");
        return true;
      });
      equal(await echo.verbose, false);
      await echo._pyroSetAttr("verbose", false);
      const batch = echo._pyroBatch();
      for (let i = 0; i < 100; i++) batch.echo(i);
      deepStrictEqual([...await batch()], Array.from({ length: 100 }, (_, i) => i));

      await using daemon = new PyroProxy(
        echo._pyroUri.toString().replace(
          "test.echoserver",
          "Pyro.Daemon",
        ),
        { serializer },
      );
      equal(await daemon.ping(), null);
      deepStrictEqual((await daemon.registered() as string[]).sort(), [
        "Pyro.Daemon",
        "test.echoserver",
      ]);
      match(await daemon.info(), /^Pyro\.Daemon bound on 127\.0\.0\.1:\d+, NAT None/);
      const meta = await daemon.get_metadata("test.echoserver") as Record<string, unknown>;
      deepStrictEqual([...meta.attrs as Iterable<string>], ["verbose"]);
    });
  }
  await t.step("shutdown", async () => {
    await using echo = new PyroProxy(server.uri);
    equal(await echo.shutdown(), null);
  });
});

Deno.test("Deno proxy calls a Python Pyro5 test server", async (t) => {
  await using server = await startPythonServer(
    ["-u", interopScript("pyro_server.py")],
    /uri: (PYRO:\S+)/,
  );
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async (t) => {
      await using thing = new PyroProxy(server.uri, { serializer, timeout: 10 });
      await t.step("values", async () => {
        const types = await thing.types() as Record<string, unknown>;
        equal(types.none, null);
        equal(types.bool, true);
        equal(types.int, 42);
        equal(types.big, 2n ** 70n);
        equal(types.float, 2.5);
        equal(types.integral_float, 2);
        equal(types.str, "ünïcødé");
        deepStrictEqual(types.list, [1, [2]]);
        deepStrictEqual([...types.tuple as unknown[]], [1, 2]);
        equal(types.tuple instanceof PyTuple, serializer === "serpent" || serializer === "marshal");
        deepStrictEqual(types.dict, { nested: { x: 1 } });
        if (serializer !== "json") {
          deepStrictEqual(await thing.bytes_value(), new Uint8Array([0, 1, 255]));
          deepStrictEqual(await thing.complex_value(), new PyComplex(1.5, -2));
        }
        const set = await thing.set_value();
        deepStrictEqual([...set].sort(), [1, 2, 3]);
        deepStrictEqual(await thing.keywords(1, kwargs({ c: 3 })), [1, 2, { c: 3 }]);
        deepStrictEqual(await thing.keywords(1, kwargs({ b: 5 })), [1, 5, {}]);
      });
      await t.step("errors", async () => {
        const error = await thing.fail().catch((e: unknown) => e);
        assert(error instanceof RemoteError);
        equal(error.pythonClass, "builtins.ValueError");
        equal(error.message, "python says no");
        match(error.remoteTraceback!.join(""), /pyro_server\.py", line \d+, in fail\n/);
        const key = await thing.fail_key().catch((e: unknown) => e);
        assert(key instanceof RemoteError && key.pythonClass === "builtins.KeyError");
        deepStrictEqual(key.args, ["missing"]);
        await rejects(thing.fail_naming(), NamingError);
        const custom = await thing.fail_custom().catch((e: unknown) => e);
        assert(custom instanceof RemoteError);
        equal(custom.pythonClass, "testmodule.CustomError");
        deepStrictEqual(custom.args, ["custom trouble", 7]);
        equal(await thing.add(1, 2), 3);
      });
      await t.step("attributes", async () => {
        await thing._pyroSetAttr("value", 10);
        equal(await thing.value, 10);
        equal(await thing.readonly, "fixed");
        await rejects(thing._pyroSetAttr("readonly", 1), /AttributeError|attribute/);
        deepStrictEqual([...thing._pyroAttrs].sort(), ["readonly", "value"]);
      });
      await t.step("streams, also closed early", async () => {
        deepStrictEqual(await collect(await thing.count(4)), [0, 1, 2, 3]);
        const before = await thing.closed_streams();
        let seen = 0;
        for await (const _ of await thing.endless()) if (++seen === 5) break;
        // close_stream is oneway: poll until the Python generator's finally block ran.
        for (let i = 0; i < 200 && await thing.closed_streams() === before; i++) await sleep(10);
        equal(await thing.closed_streams(), before + 1);
      });
      await t.step("oneway, concurrency, timeout", async () => {
        const done = await thing.oneway_done();
        const started = performance.now();
        equal(await thing.oneway_slow(0.5), undefined);
        equal(await thing.echo("right away"), "right away");
        assert(performance.now() - started < 400, "oneway call blocked");
        const results = await Promise.all(Array.from({ length: 50 }, (_, i) => thing.add(i, i)));
        deepStrictEqual(results, Array.from({ length: 50 }, (_, i) => 2 * i));
        for (let i = 0; i < 200 && await thing.oneway_done() === done; i++) await sleep(10);
        equal(await thing.oneway_done(), done + 1);
        thing._pyroTimeout = 0.3;
        await rejects(thing.slow(2), TimeoutError);
        thing._pyroTimeout = 10;
        equal(await thing.echo("reconnected"), "reconnected");
      });
      await t.step("batch with an error", async () => {
        const batch = thing._pyroBatch();
        batch.add(1, 1);
        batch.fail();
        batch.add(2, 2);
        if (serializer === "marshal") {
          // Python Pyro5 cannot marshal its own _ExceptionWrapper: the whole batch fails.
          await rejects(batch(), /unmarshallable object/);
          return;
        }
        const results = (await batch())[Symbol.iterator]();
        equal(results.next().value, 2);
        let thrown: unknown;
        try {
          results.next();
        } catch (e) {
          thrown = e;
        }
        assert(thrown instanceof RemoteError && thrown.message === "python says no");
      });
      await t.step("auto proxy and annotations", async () => {
        // Pyro5's marshal serializer has no auto proxies (and its class_to_dict even unhooks the
        // object from its daemon for good), so that is left to the other serializers.
        if (serializer !== "marshal") {
          const sub = await thing.get_sub();
          assert(sub instanceof PyroProxy);
          equal(await sub.name(), "sub object");
          sub._pyroRelease();
        }
        await using annotated = new PyroProxy(server.uri, {
          serializer,
          annotations: () => new Map([["XDNO", new TextEncoder().encode("from deno")]]),
        });
        deepStrictEqual(await annotated.annotations(), { XDNO: "from deno" });
        const back = annotated._pyroResponseAnnotations.get("XPYR");
        equal(new TextDecoder().decode(back), "from python");
      });
    });
  }
  await t.step("unknown object and refused private member", async () => {
    await using nothing = new PyroProxy(server.uri.replace("PYRO:thing@", "PYRO:nothing@"));
    await rejects(nothing._pyroBind(), (e: unknown) => {
      assert(e instanceof CommunicationError);
      match(e.message, /rejected: unknown object$/);
      return true;
    });
    await using thing = new PyroProxy(server.uri);
    await rejects(thing._private(), /no exposed attribute or method '_private'/);
    await thing.shutdown();
  });
});
