/**
 * Keyword arguments bound to a method's parameters by name, as Python binds them: the parameter
 * names read from source text of every function form, declared names, Python's error wording,
 * and the same over real sockets (calls, batches, oneway calls, function callbacks).
 */
import assert, { deepStrictEqual, equal, rejects, throws } from "node:assert";
import { bindArguments, parseParameters } from "../_params.ts";
import { kwargs, PyroProxy } from "../client.ts";
import { Daemon, expose, exposeObject, oneway } from "../server.ts";
import { waitFor } from "./_support_rpc.ts";

type Row = [string, string, [string | null, boolean][], boolean] | [string, string, null];

// source text (as Function.prototype.toString gives it), then [name, optional] per parameter
// and whether there is a rest parameter; null when the names cannot be known.
const SOURCES: Row[] = [
  ["method", "setTarget(celsius, unit = 'C') { }", [["celsius", false], ["unit", true]], false],
  ["async method", "async m(a) {}", [["a", false]], false],
  ["generator method", "*m(a, ...r) {}", [["a", false]], true],
  ["async generator", "async *gen (a, { x }, [y] = [], ...r) {}", [
    ["a", false],
    [null, false],
    [null, true],
  ], true],
  ["function", "function named(a, b) { return a }", [["a", false], ["b", false]], false],
  ["anonymous function", "function (a) {}", [["a", false]], false],
  ["async function*", "async function* g(p) {}", [["p", false]], false],
  ["arrow", "(x, y)=>x", [["x", false], ["y", false]], false],
  ["bare arrow", "x => x", [["x", false]], false],
  ["async bare arrow", "async x => x", [["x", false]], false],
  ["arrow named async", "async => 1", [["async", false]], false],
  ["no parameters", "ping() { return null; }", [], false],
  ["trailing comma", "(a, b,) => 1", [["a", false], ["b", false]], false],
  ["comments", "f(a /* , z */, // y, w\n b) {}", [["a", false], ["b", false]], false],
  ["defaults with commas and brackets", "m(a = (1, 2), b = [3, 4], c = { d: 5, e: f(6, 7) }) {}", [
    ["a", true],
    ["b", true],
    ["c", true],
  ], false],
  ["defaults with strings", `m(a = "x,)", b = 'y,(', c = \`\${1, 2},)\`) {}`, [
    ["a", true],
    ["b", true],
    ["c", true],
  ], false],
  ["default with a regex", "m(a = /,\\)[)]/g, b) {}", [["a", true], ["b", false]], false],
  ["default with division", "m(a = 4 / 2, b = a / 2) {}", [["a", true], ["b", true]], false],
  ["computed name", '["com" + "puted"](q) {}', [["q", false]], false],
  ["quoted name", '"quoted name"(z) {}', [["z", false]], false],
  ["unicode names", "m(größe, ñ = 1, $x, _y) {}", [
    ["größe", false],
    ["ñ", true],
    ["$x", false],
    ["_y", false],
  ], false],
  ["native", "function max() { [native code] }", null],
  ["class", "class X { constructor(a) {} }", null],
  ["nothing after rest", "(...a, b) => 1", null],
  ["unterminated comment", "m(a /* b) {}", null],
];

Deno.test("parseParameters reads every function form", async (t) => {
  for (const [name, source, expected, rest] of SOURCES) {
    await t.step(name, () => {
      const signature = parseParameters(source);
      if (expected === null) return equal(signature, null);
      assert(signature !== null, source);
      deepStrictEqual(signature.params.map((p) => [p.name, p.optional]), expected);
      equal(signature.rest, rest);
    });
  }
});

Deno.test("parseParameters reads what Deno's transpiler makes of TypeScript", () => {
  class Thermostat {
    setTarget(celsius: number, unit?: string, { precise }: { precise?: boolean } = {}): string {
      return `${celsius}${unit}${precise}`;
    }
  }
  const signature = parseParameters(Thermostat.prototype.setTarget.toString())!;
  // `unit?` leaves no trace at run time: it counts as required.
  deepStrictEqual(signature.params.map((p) => [p.name, p.optional]), [
    ["celsius", false],
    ["unit", false],
    [null, true],
  ]);
});

function setTarget(celsius: number, unit = "C"): string {
  return `${celsius} ${unit}`;
}
function spread(first: number, ...rest: number[]): number[] {
  return [first, ...rest];
}

Deno.test("bindArguments binds as Python does, with Python's wording", async (t) => {
  const ok: [string, unknown, unknown[], Record<string, unknown>, unknown[]][] = [
    ["keyword only", setTarget, [], { celsius: 21 }, [21]],
    ["both by keyword, any order", setTarget, [], { unit: "F", celsius: 3 }, [3, "F"]],
    ["positional then keyword", setTarget, [1], { unit: "K" }, [1, "K"]],
    ["no keywords: as given", setTarget, [1, 2, 3], {}, [1, 2, 3]],
    ["rest takes extra positionals", spread, [1, 2, 3], {}, [1, 2, 3]],
    ["rest with a keyword", spread, [], { first: 1 }, [1]],
    ["a gap is undefined", (a: number, b = 2, c = 3) => [a, b, c], [], { a: 1, c: 4 }, [
      1,
      undefined,
      4,
    ]],
  ];
  for (const [name, fn, args, keywords, expected] of ok) {
    await t.step(name, () => deepStrictEqual(bindArguments("f", fn, args, keywords), expected));
  }
  const bad: [string, unknown, unknown[], Record<string, unknown>, string][] = [
    [
      "unknown keyword",
      setTarget,
      [],
      { celsius: 1, x: 2 },
      "f() got an unexpected keyword argument 'x'",
    ],
    [
      "given twice",
      setTarget,
      [1],
      { celsius: 2 },
      "f() got multiple values for argument 'celsius'",
    ],
    [
      "missing",
      setTarget,
      [],
      { unit: "F" },
      "f() missing 1 required positional argument: 'celsius'",
    ],
    [
      "two missing",
      (a: number, b: number, c = 1) => a + b + c,
      [],
      { c: 2 },
      "f() missing 2 required positional arguments: 'a' and 'b'",
    ],
    [
      "three missing",
      (a: number, b: number, c: number, d = 0) => a + b + c + d,
      [],
      { d: 2 },
      "f() missing 3 required positional arguments: 'a', 'b', and 'c'",
    ],
    [
      "too many positionals",
      setTarget,
      [1, "C", 3],
      { unit: "F" },
      "f() takes from 1 to 2 positional arguments but 3 were given",
    ],
    [
      "a rest parameter is no keyword",
      spread,
      [1],
      { rest: [2] },
      "f() got an unexpected keyword argument 'rest'",
    ],
    [
      "destructured parameters are positional only",
      ({ a }: { a: number }) => a,
      [],
      { a: 1 },
      "f() got an unexpected keyword argument 'a'",
    ],
    [
      "names unknown",
      Math.max,
      [],
      { a: 1 },
      "f() cannot take keyword arguments: its parameter names are unknown (declare them with @expose({ params }))",
    ],
  ];
  for (const [name, fn, args, keywords, message] of bad) {
    await t.step(
      name,
      () => throws(() => bindArguments("f", fn, args, keywords), { name: "TypeError", message }),
    );
  }
  await t.step("self counts for a method of a class", () => {
    throws(() => bindArguments("T.f", setTarget, [1, 2, 3], { x: 1 }, true), {
      message: "T.f() takes from 2 to 3 positional arguments but 4 were given",
    });
    throws(() => bindArguments("T.f", () => 1, [1], { x: 1 }, true), {
      message: "T.f() takes 1 positional argument but 2 were given",
    });
  });
});

class Thermostat {
  target = 0;

  @expose
  setTarget(celsius: number, unit = "C"): string {
    this.target = celsius;
    return `target set to ${celsius} ${unit}`;
  }

  // As minified code would read: the declared names count.
  @expose({ params: ["celsius", "unit?"] })
  minified(a: number, b?: string): string {
    return `${a} ${b ?? "C"}`;
  }

  @expose({ kwargs: true })
  configure(name: string, options: Record<string, unknown>): unknown[] {
    return [name, options];
  }

  @expose({ params: ["name", "...more"], kwargs: false })
  declaredRest(...all: unknown[]): unknown[] {
    return all;
  }

  @expose({ params: ["celsius"] })
  async later(celsius: number): Promise<number> {
    await Promise.resolve();
    return celsius * 2;
  }

  @oneway
  record(celsius: number): void {
    this.target = celsius;
  }
}

Deno.test("Daemon binds keyword arguments of remote calls by name", async (t) => {
  const errors: unknown[] = [];
  await using daemon = new Daemon({ host: "127.0.0.1", onError: (e) => errors.push(e) });
  const thermostat = new Thermostat();
  const uri = daemon.register(thermostat, "thermostat");
  const calc = exposeObject({
    add: (a: number, b: number) => a + b,
    scaled: (x: number, factor: number) => x * factor,
    options: (_first: unknown, rest: Record<string, unknown>) => rest,
  }, { params: { scaled: ["value", "factor?"] }, kwargs: ["options"] });
  const calcUri = daemon.register(calc, "calc");
  for (const serializer of ["serpent", "marshal", "json", "msgpack"] as const) {
    await t.step(serializer, async () => {
      await using proxy = new PyroProxy(uri, { serializer });
      equal(await proxy.setTarget(kwargs({ celsius: 21 })), "target set to 21 C");
      equal(await proxy.setTarget(kwargs({ unit: "F", celsius: 70 })), "target set to 70 F");
      equal(await proxy.minified(kwargs({ celsius: 5 })), "5 C");
      equal(await proxy.minified(kwargs({ unit: "K", celsius: 5 })), "5 K");
      deepStrictEqual(await proxy.configure("x", kwargs({ a: 1, b: [2] })), ["x", {
        a: 1,
        b: [2],
      }]);
      deepStrictEqual(await proxy.configure(kwargs({ name: "y" })), ["y", {}]);
      deepStrictEqual(await proxy.declaredRest("a", "b", "c"), ["a", "b", "c"]);
      deepStrictEqual(await proxy.declaredRest(kwargs({ name: "a" })), ["a"]);
      equal(await proxy.later(kwargs({ celsius: 4 })), 8);
      await rejects(proxy.setTarget(kwargs({ celsius: 1, x: 2 })), (e: unknown) => {
        assert(e instanceof TypeError);
        equal(e.message, "Thermostat.setTarget() got an unexpected keyword argument 'x'");
        return true;
      });
      await rejects(proxy.minified(kwargs({ a: 1 })), {
        name: "TypeError",
        message: "Thermostat.minified() got an unexpected keyword argument 'a'",
      });
      await rejects(proxy.configure(1, kwargs({ name: 2 })), {
        message: "Thermostat.configure() got multiple values for argument 'name'",
      });
      await rejects(proxy.configure(1, 2), {
        message: "Thermostat.configure() takes 2 positional arguments but 3 were given",
      });

      await using calcProxy = new PyroProxy(calcUri, { serializer });
      equal(await calcProxy.add(kwargs({ b: 2, a: 1 })), 3);
      equal(await calcProxy.scaled(kwargs({ value: 2, factor: 3 })), 6);
      await rejects(calcProxy.scaled(kwargs({ x: 2 })), {
        message: "scaled() got an unexpected keyword argument 'x'",
      });
      deepStrictEqual(await calcProxy.options(0, kwargs({ z: 1 })), { z: 1 });

      // A batch binds each call the same way; an error ends it.
      const batch = proxy._pyroBatch();
      batch.setTarget(kwargs({ celsius: 3 }));
      batch.setTarget(kwargs({ unit: "F" }));
      batch.setTarget(kwargs({ celsius: 9 }));
      const results = (await batch())[Symbol.iterator]();
      equal(results.next().value, "target set to 3 C");
      throws(() => results.next(), {
        name: "TypeError",
        message: "Thermostat.setTarget() missing 1 required positional argument: 'celsius'",
      });
      equal(thermostat.target, 3);

      // A oneway call binds too; its binding error goes to onError.
      const before = errors.length;
      await proxy.record(kwargs({ celsius: 42 }));
      await waitFor(() => thermostat.target === 42);
      await proxy.record(kwargs({ kelvin: 1 }));
      await waitFor(() => errors.length === before + 1);
      equal(
        (errors.at(-1) as Error).message,
        "Thermostat.record() got an unexpected keyword argument 'kelvin'",
      );
    });
  }
});

Deno.test("expose refuses bad parameter declarations", () => {
  throws(() => expose({ params: ["a", "a"] }), /Duplicate parameter name: a/);
  throws(() => expose({ params: ["...a", "b"] }), /A rest parameter must be last/);
  throws(() => expose({ params: ["not a name"] }), /Invalid parameter name/);
  throws(() => expose({ params: ["...a"], kwargs: true }), /both a rest parameter and kwargs/);
  throws(() => exposeObject({ x: 1 }, { params: { x: ["a"] } }), /not a method/);
  const onClass = expose({ params: [] }) as unknown as (value: unknown, context: unknown) => void;
  throws(
    () => onClass(class {}, { kind: "class", name: "Nope" }),
    /@expose with options can only decorate a method/,
  );
});

Deno.test("function callbacks bind keyword arguments to the function's own parameters", async () => {
  await using daemon = new Daemon({ host: "127.0.0.1" });
  const greet = (name: string, greeting = "Hello") => `${greeting}, ${name}`;
  const proxy = daemon.proxyFor(greet);
  try {
    equal(await proxy.__call__(kwargs({ name: "Deno", greeting: "Hi" })), "Hi, Deno");
    await rejects(proxy.__call__(kwargs({ nom: "x" })), {
      message: "__call__() got an unexpected keyword argument 'nom'",
    });
  } finally {
    proxy._pyroRelease();
  }
});
