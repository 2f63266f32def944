/**
 * Fuzzing the marshal serializer with seeded inputs: random values round-trip; tens of thousands
 * of mutated and random byte strings each end in a value or a PyroError (never a hang, a
 * RangeError or a TypeError); and, when the Python peer is installed, Python reads what we write
 * and writes byte for byte the same for the same values.
 */
import { deepStrictEqual, fail, ok, strictEqual } from "node:assert";
import { PyroError } from "../../errors.ts";
import { MarshalSerializer } from "../../serializers/marshal.ts";
import { decodedForm, type GenOptions, mutate, Random, randomValue } from "./_marshal_json_gen.ts";
import { fromHex, PY_FRESH, runPython, toHex } from "../_marshal_json_capture.ts";

const marshal = new MarshalSerializer();
const FULL: GenOptions = {
  marshal: true,
  loneSurrogates: true,
  oneCharStrings: true,
  sharing: true,
};

/** Decodes, accepting only a value or a PyroError; returns whether a value came out. */
function decodeOrPyroError(data: Uint8Array): boolean {
  try {
    marshal.loads(data);
    return true;
  } catch (error) {
    if (!(error instanceof PyroError)) {
      fail(`${(error as Error)?.name}: ${(error as Error)?.message} for ${toHex(data)}`);
    }
    return false;
  }
}

Deno.test("marshal fuzz: random values round-trip", () => {
  const rng = new Random(20240601);
  for (let i = 0; i < 5000; i++) {
    const value = randomValue(rng, FULL);
    const bytes = marshal.dumps(value);
    deepStrictEqual(marshal.loads(bytes), decodedForm(value, false), `value #${i}`);
    // Encoding is deterministic.
    strictEqual(toHex(marshal.dumps(value)), toHex(bytes));
  }
});

Deno.test("marshal fuzz: mutated input ends in a value or a PyroError", () => {
  const rng = new Random(7);
  const seeds: Uint8Array[] = [];
  for (let i = 0; i < 300; i++) seeds.push(marshal.dumps(randomValue(rng, FULL)));
  seeds.push(marshal.dumpsCall("obj", "method", [1, "two", [3.5]], { k: new Set([1]) }));
  let values = 0;
  const started = performance.now();
  for (let i = 0; i < 40_000; i++) {
    if (decodeOrPyroError(mutate(rng, rng.pick(seeds)))) values++;
  }
  const elapsed = performance.now() - started;
  ok(values > 1000 && values < 40_000, `${values} mutants decoded`);
  ok(elapsed < 10_000, `took ${elapsed} ms`);
});

Deno.test("marshal fuzz: random bytes end in a value or a PyroError", () => {
  const rng = new Random(99);
  // Bytes biased towards valid type codes, so that decoding gets somewhere.
  const codes = [..."NFTi()[{<>zZaAuts0rlgy"].map((c) => c.charCodeAt(0));
  for (let i = 0; i < 30_000; i++) {
    const data = Uint8Array.from(
      { length: 1 + rng.int(40) },
      () =>
        rng.int(3) === 0
          ? rng.pick(codes) | (rng.int(2) << 7)
          : rng.int(3) === 0
          ? rng.int(256)
          : rng.int(4),
    );
    decodeOrPyroError(data);
  }
});

Deno.test("marshal fuzz: Python reads our bytes and writes the same", async () => {
  const rng = new Random(4242);
  // Python's interning of one-character strs depends on the process; leave them out here.
  const options: GenOptions = { ...FULL, oneCharStrings: false };
  const values = Array.from({ length: 600 }, () => randomValue(rng, options));
  const ours = values.map((v) => toHex(marshal.dumps(v)));
  const python = await redumpInPython(ours);
  for (let i = 0; i < values.length; i++) {
    ok(!python[i].startsWith("error"), `Python refused #${i} ${ours[i]}: ${python[i]}`);
    deepStrictEqual(marshal.loads(fromHex(python[i])), decodedForm(values[i], false), `#${i}`);
    // A typed array is a fresh list for Pyro5 (array.tolist()), a held one in this script.
    if (!ArrayBuffer.isView(values[i])) strictEqual(python[i], ours[i], `bytes of value #${i}`);
  }
});

/** Python loads each hex, rebuilds the value fresh and dumps it with Pyro5's serializer. */
async function redumpInPython(hexes: string[]): Promise<string[]> {
  const script = PY_FRESH + String.raw`
import json, marshal
from Pyro5.serializers import MarshalSerializer
ser = MarshalSerializer()
out = []
for h in json.load(sys.stdin):
    try:
        x = fresh(marshal.loads(bytes.fromhex(h)), {})
        out.append(ser.dumps(x).hex())
    except Exception as e:
        out.append("error " + type(e).__name__ + ": " + str(e))
print(json.dumps(out))
`;
  return await runPython(script, hexes) as string[];
}
