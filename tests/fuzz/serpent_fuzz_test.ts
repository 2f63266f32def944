/**
 * Seeded fuzzing of the serpent serializer:
 * - round trip: random values of the value model -> dumps -> loads give the value back, and
 *   encoding that again reaches a fixed point;
 * - robustness (random and mutated serpent texts end in a value or a PyroError) is the fuzz
 *   engine's: tests/fuzz/fuzz_test.ts, `deno task fuzz`.
 *
 * Run: deno test tests/fuzz/serpent_fuzz_test.ts
 */
import { ok as assert, strictEqual } from "node:assert";
import { SerpentSerializer } from "../../serializers/serpent.ts";
import {
  makeDict,
  PyComplex,
  PyFloat,
  type PyStringDict,
  PyTuple,
  tuple,
} from "../../serializers/values.ts";
import { SerpentFuzzer } from "./_serpent_gen.ts";
import { assertPyEqual } from "../_support.ts";

const SEED = 0x5e4e;
/** Wall-clock budget per fuzz test; the counts below are minimums reached well within it. */
const BUDGET_MS = 4000;

/** The value the serializer gives back for a generated one. */
function expectedBack(value: unknown): unknown {
  if (value === undefined) return null;
  if (value instanceof PyFloat) return value.value;
  if (value instanceof PyTuple) return tuple(...value.map(expectedBack));
  if (Array.isArray(value)) return value.map(expectedBack);
  if (value instanceof Set) {
    // A frozenset travels as a set; an empty set as an empty tuple.
    return value.size === 0 ? tuple() : new Set([...value].map(expectedBack));
  }
  if (value instanceof PyComplex) {
    // "(a+bj)" is evaluated as a + bj: a -0.0 real part comes back as 0.0 (as in Python).
    return new PyComplex(value.real + 0, value.imag);
  }
  if (value instanceof Map) {
    const keys = [...value.keys()].map(expectedBack);
    return makeDict(keys, [...value.values()].map(expectedBack));
  }
  if (value instanceof Uint8Array) return value;
  if (typeof value === "object" && value !== null) {
    const dict = value as PyStringDict;
    return makeDict(Object.keys(dict), Object.values(dict).map(expectedBack));
  }
  return value;
}

Deno.test("SerpentSerializer: random values round trip (dumps -> loads)", () => {
  const fuzz = new SerpentFuzzer(SEED);
  const serpent = new SerpentSerializer();
  const start = performance.now();
  let count = 0;
  while (count < 20_000 && performance.now() - start < BUDGET_MS) {
    const value = fuzz.value();
    const bytes = serpent.dumps(value);
    const back = serpent.loads(bytes);
    assertPyEqual(back, expectedBack(value), `$[case ${count}]`);
    // Integral floats come back as ints, so the fixed point is the second encoding.
    const text = new TextDecoder().decode(serpent.dumps(back));
    strictEqual(new TextDecoder().decode(serpent.dumps(serpent.loads(serpent.dumps(back)))), text);
    count++;
  }
  assert(count >= 5_000, `only ${count} round trips within the budget`);
});
