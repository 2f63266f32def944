/**
 * `deno task fuzz`: fuzzes every decoder with many seeded inputs and prints figures per target.
 *
 *   deno task fuzz [--seed N] [--count N] [--target NAME]... [--hang-ms N] [--record]
 *
 * --count defaults to 100,000 inputs per target; --seed to a random one (printed, so that a run
 * can be repeated). A crash (an error other than a PyroError) or a hang (an input taking longer
 * than --hang-ms) is a finding: printed with its input, and with --record added to
 * tests/testdata/fuzz_regressions.json, which tests/fuzz/fuzz_test.ts replays. Exits 1 when
 * anything was found.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type FuzzFigures, fuzzTarget } from "./_engine.ts";
import { addRegressions } from "./_regressions.ts";
import { TARGETS } from "./_targets.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    seed: { type: "string" },
    count: { type: "string", default: "100000" },
    target: { type: "string", multiple: true },
    "hang-ms": { type: "string", default: "2000" },
    record: { type: "boolean", default: false },
  },
});

function integer(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`--${name} wants a non-negative integer, not ${text}`);
    Deno.exit(2);
  }
  return value;
}

const seed = flags.seed === undefined
  ? crypto.getRandomValues(new Uint32Array(1))[0]
  : integer("seed", flags.seed) >>> 0;
const count = integer("count", flags.count);
const hangMs = integer("hang-ms", flags["hang-ms"]);
const names = flags.target ?? TARGETS.map((t) => t.name);

console.log(`fuzz: seed ${seed}, ${count} inputs per target, hang bound ${hangMs} ms`);
console.log(
  "target".padEnd(20) + "inputs".padStart(9) + "values".padStart(9) + "rejected".padStart(10) +
    "kinds".padStart(7) + "slowest".padStart(12) + "  (input, bytes)".padEnd(20) +
    "inputs/s".padStart(10) + "findings".padStart(10),
);
const all: FuzzFigures[] = [];
for (const name of names) {
  const figures = await fuzzTarget(name, { seed, count, hangMs });
  all.push(figures);
  const { slowest } = figures;
  console.log(
    name.padEnd(20) + String(figures.inputs).padStart(9) + String(figures.values).padStart(9) +
      String(figures.rejected).padStart(10) + String(figures.errorKinds.size).padStart(7) +
      `${slowest.ms.toFixed(1)} ms`.padStart(12) +
      `  (#${slowest.index}, ${slowest.size})`.padEnd(20) +
      String(Math.round(figures.inputs / figures.seconds)).padStart(10) +
      String(figures.findings.length).padStart(10),
  );
  for (const finding of figures.findings) {
    const hex = [...finding.input.subarray(0, 64)].map((b) => b.toString(16).padStart(2, "0"));
    console.log(`  ${finding.kind} at #${finding.index}: ${finding.error}`);
    console.log(`    input (${finding.input.length} bytes): ${hex.join("")}`);
  }
}
const findings = all.flatMap((f) => f.findings);
const inputs = all.reduce((n, f) => n + f.inputs, 0);
const seconds = all.reduce((n, f) => n + f.seconds, 0);
console.log(
  `${inputs} inputs in ${seconds.toFixed(1)} s, ${findings.length} findings (seed ${seed})`,
);
if (findings.length > 0 && flags.record) {
  const added = await addRegressions(findings);
  console.log(`${added} new regression vectors in tests/testdata/fuzz_regressions.json`);
}
Deno.exit(findings.length > 0 ? 1 : 0);
