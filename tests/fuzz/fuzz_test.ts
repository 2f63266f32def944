/**
 * The fuzz engine in the test command: a short bounded run of every target (the same code as
 * `deno task fuzz`, fewer inputs), the engine's hang and crash detection, and the replay of every
 * stored regression vector.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { fuzzTarget } from "./_engine.ts";
import { inputSeed, Random } from "./_random.ts";
import { loadRegressions } from "./_regressions.ts";
import { targetNamed, TARGETS, tryInput } from "./_targets.ts";
import { b64 } from "../_support.ts";

/** Inputs per target in the test command; `deno task fuzz` runs 100,000. */
const SHORT_RUN = 5000;
const HANG_MS = 2000;

Deno.test("fuzzTarget: a short run of every target ends each input in a value or a PyroError", async (t) => {
  const seed = Number(Deno.env.get("FUZZ_SEED") ?? 0x11);
  for (const { name } of TARGETS) {
    await t.step(name, async () => {
      const figures = await fuzzTarget(name, { seed, count: SHORT_RUN, hangMs: HANG_MS });
      const found = figures.findings.map((f) => `${f.kind} #${f.index}: ${f.error}`);
      deepStrictEqual(found, [], `seed ${seed}`);
      strictEqual(figures.inputs, SHORT_RUN);
      strictEqual(figures.values + figures.rejected, SHORT_RUN);
      // Inputs that reach both outcomes: the mutations neither only break nor only pass.
      ok(figures.values > 0 && figures.rejected > 0, `${figures.values} values`);
      ok(figures.errorKinds.size > 1, `${[...figures.errorKinds.keys()]}`);
    });
  }
});

Deno.test("fuzzTarget: a hang is stopped and a crash recorded, and the run goes on", async () => {
  const targets = new URL("./_engine_test_targets.ts", import.meta.url);
  const count = 600, seed = 5;
  const first = (i: number) => new Random(inputSeed(seed, "misbehaving", i)).int(256);
  const expect = (byte: number) =>
    Array.from({ length: count }, (_, i) => i).filter((i) => first(i) === byte);
  const hangs = expect(0xff), crashes = expect(0xfe);
  ok(hangs.length > 0 && crashes.length > 0, "the seed should give both");
  const figures = await fuzzTarget("misbehaving", { seed, count, hangMs: 300, targets });
  const found = (kind: string) =>
    figures.findings.filter((f) => f.kind === kind).map((f) => f.index);
  deepStrictEqual(found("hang"), hangs);
  deepStrictEqual(found("crash"), crashes);
  for (const finding of figures.findings) strictEqual(finding.input[0], first(finding.index));
  strictEqual(figures.inputs, count);
  strictEqual(figures.values + figures.rejected + crashes.length + hangs.length, count);
  ok(figures.errorKinds.has("ProtocolError: Odd byte"), `${[...figures.errorKinds.keys()]}`);
});

Deno.test("fuzz regressions: every stored vector ends in a value or a PyroError, in time", () => {
  for (const [i, regression] of loadRegressions().entries()) {
    const outcome = tryInput(targetNamed(regression.target), b64(regression.input));
    const label = `#${i} ${regression.target} (${regression.kind}: ${regression.error})`;
    ok(outcome.kind !== "crash", `${label}: ${"error" in outcome ? outcome.error : ""}`);
    ok(outcome.ms < HANG_MS, `${label}: took ${outcome.ms} ms`);
  }
});
