/**
 * The decorators in both flavours: standard (TC39) decorators and TypeScript's
 * `experimentalDecorators`, told apart by how they are called. A user's program
 * (tests/_decorators_program.ts) is type-checked and run under a deno.json of each kind.
 */
import assert, { deepStrictEqual, equal, throws } from "node:assert";
import { behavior, callback, expose, getExposedMembers, oneway } from "../server.ts";
import { getInstancing, isCallback } from "../_expose.ts";
import { repoPath } from "./_peer.ts";

const PROGRAM = repoPath("tests/_decorators_program.ts");

async function deno(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

for (const experimental of [true, false]) {
  const flavour = experimental ? "experimentalDecorators" : "standard decorators";
  Deno.test(`A program with decorators type-checks and runs under ${flavour}`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const config = `${dir}/deno.json`;
      const compilerOptions = experimental ? { experimentalDecorators: true } : {};
      await Deno.writeTextFile(config, JSON.stringify({ compilerOptions, lock: false }));
      const checked = await deno(["check", "--config", config, PROGRAM]);
      equal(checked.code, 0, checked.stderr);
      const run = await deno(["run", "--config", config, "--allow-net=127.0.0.1", PROGRAM]);
      equal(run.code, 0, run.stderr);
      if (experimental) assert(/experimentalDecorators/.test(run.stderr), "not legacy mode");
      const seen = JSON.parse(run.stdout.trim().split("\n").at(-1)!);
      assert(/^PYRO:thermostat@127\.0\.0\.1:\d+$/.test(seen.ns.thermostat), seen.ns.thermostat);
      delete seen.ns;
      deepStrictEqual(seen, {
        methods: ["declared", "done", "log", "setTarget"],
        oneway: ["log"],
        attrs: ["celsius"],
        setTarget: "target set to 21 C",
        declared: 7,
        celsius: 25,
        logged: ["hello"],
        counter: [1, 6, 1],
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("expose, oneway, callback and behavior take the experimentalDecorators call shapes", () => {
  class Target {
    method(): number {
      return 1;
    }
    get attribute(): number {
      return 2;
    }
    quiet(): void {}
    listener(): void {}
  }
  const proto = Target.prototype;
  const descriptor = (name: string) => Object.getOwnPropertyDescriptor(proto, name)!;
  const legacy = (decorator: unknown, ...args: unknown[]) =>
    (decorator as (...args: unknown[]) => unknown)(...args);
  legacy(expose, proto, "method", descriptor("method"));
  legacy(expose, proto, "attribute", descriptor("attribute"));
  legacy(oneway, proto, "quiet", descriptor("quiet"));
  legacy(callback, proto, "listener", descriptor("listener"));
  legacy(behavior({ instanceMode: "percall" }), Target);
  const meta = getExposedMembers(new Target());
  deepStrictEqual([...meta.methods].sort(), ["method", "quiet"]);
  deepStrictEqual([...meta.oneway], ["quiet"]);
  deepStrictEqual([...meta.attrs], ["attribute"]);
  assert(isCallback(proto.listener));
  equal(getInstancing(Target).instanceMode, "percall");

  class Whole {
    a(): void {}
    _hidden(): void {}
  }
  legacy(expose, Whole);
  deepStrictEqual([...getExposedMembers(Whole).methods], ["a"]);

  // What cannot be exposed is refused as loudly as with standard decorators.
  throws(() => legacy(expose, Target, "method", descriptor("method")), /Cannot expose static/);
  throws(() => legacy(expose, proto, "_x", descriptor("method")), /private names/);
  throws(() => legacy(expose, proto, "field", undefined), /needs standard decorators/);
  throws(() => legacy(oneway, Target), /@oneway can only decorate a method/);
  throws(() => legacy(behavior(), proto, "method", descriptor("method")), /only decorate a class/);
  throws(() => legacy(expose, 1, 2, 3), /cannot decorate this/);
});
