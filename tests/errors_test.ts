/**
 * Errors a Deno caller catches naturally: JavaScript's and Deno's own error classes thrown by a
 * remote pyro-deno method arrive as instances of the same class, with the remote traceback, with
 * every serializer; Python exceptions and Pyro errors arrive as before.
 */
import assert, { deepStrictEqual, equal, match, rejects } from "node:assert";
import { PyroProxy } from "../client.ts";
import {
  javaScriptClassOf,
  NamingError,
  pythonClassOf,
  RemoteError,
  remoteJavaScriptError,
} from "../errors.ts";
import { Daemon, exposeObject } from "../server.ts";
import { SERIALIZERS } from "./_support_rpc.ts";

type ErrorClass = new (message?: string) => Error;

const CLASSES: [ErrorClass, string][] = [
  [TypeError, "builtins.TypeError"],
  [RangeError, "builtins.ValueError"],
  [SyntaxError, "builtins.SyntaxError"],
  [ReferenceError, "builtins.NameError"],
  [URIError, "builtins.ValueError"],
  [EvalError, "builtins.Exception"],
  [Deno.errors.NotFound, "builtins.FileNotFoundError"],
  [Deno.errors.PermissionDenied, "builtins.PermissionError"],
  [Deno.errors.AddrInUse, "builtins.OSError"],
];

Deno.test("JavaScript errors of a remote method arrive as their own class", async (t) => {
  await using daemon = new Daemon({ host: "127.0.0.1" });
  const uri = daemon.register(
    exposeObject({
      raise(index: number): never {
        const [cls] = CLASSES[index];
        throw new cls(`failure ${index}`);
      },
      plain(): never {
        throw new Error("plain");
      },
      pyro(): never {
        throw new NamingError("no such name");
      },
      python(): never {
        throw new RemoteError("builtins.KeyError", ["k"]);
      },
      async forward(other: string, index: number): Promise<unknown> {
        await using next = new PyroProxy(other);
        return await next.raise(index);
      },
    }),
    "thrower",
  );
  for (const serializer of SERIALIZERS) {
    await t.step(serializer, async () => {
      await using proxy = new PyroProxy(uri, { serializer });
      for (const [index, [cls, pythonClass]] of CLASSES.entries()) {
        const error = await proxy.raise(index).catch((e: unknown) => e);
        assert(error instanceof cls, `${cls.name}: ${error}`);
        assert(error instanceof RemoteError, "counts as a remote error");
        equal(error.message, `failure ${index}`);
        equal(error.pythonClass, pythonClass);
        deepStrictEqual(error.args, [`failure ${index}`]);
        deepStrictEqual(error.attributes, {});
        match(error.remoteTraceback!.join(""), /^Traceback \(most recent call last\):\n/);
        match(error.remoteTraceback!.at(-1)!, new RegExp(`failure ${index}\\n$`));
      }
      // Through a second pyro-deno hop the class stays.
      const forwarded = await proxy.forward(uri.toString(), 1).catch((e: unknown) => e);
      assert(forwarded instanceof RangeError && forwarded.message === "failure 1");
      // Other errors arrive as before.
      const plain = await proxy.plain().catch((e: unknown) => e);
      assert(plain instanceof RemoteError && plain.constructor === RemoteError);
      equal(plain.pythonClass, "builtins.Exception");
      await rejects(proxy.pyro(), (e: unknown) => e instanceof NamingError);
      const python = await proxy.python().catch((e: unknown) => e);
      assert(python instanceof RemoteError && !(python instanceof TypeError));
      equal(python.name, "KeyError");
    });
  }
});

Deno.test("javaScriptClassOf and pythonClassOf name an error's classes", () => {
  class Custom extends RangeError {}
  equal(javaScriptClassOf(new Custom("x")), "RangeError");
  equal(pythonClassOf(new Custom("x")), "builtins.ValueError");
  equal(javaScriptClassOf(new Deno.errors.NotFound("x")), "Deno.errors.NotFound");
  equal(javaScriptClassOf(new Error("x")), undefined);
  equal(javaScriptClassOf(new NamingError("x")), undefined);
  equal(javaScriptClassOf(new RemoteError("builtins.TypeError", ["x"])), undefined);
  const arrived = remoteJavaScriptError("TypeError", {
    pythonClass: "builtins.TypeError",
    args: ["x"],
    attributes: {},
  })!;
  equal(javaScriptClassOf(arrived), "TypeError");
  equal(
    remoteJavaScriptError("NoSuchError", { pythonClass: "", args: [], attributes: {} }),
    undefined,
  );
});
