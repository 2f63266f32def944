/**
 * Fuzzing the marshal serializer with seeded inputs: random values round-trip; and, when the
 * Python peer is installed, Python reads what we write and writes byte for byte the same for the
 * same values. (Mutated and random bytes are the fuzz engine's: tests/fuzz/fuzz_test.ts.)
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { MarshalSerializer } from "../../serializers/marshal.ts";
import { decodedForm, type GenOptions, randomValue } from "./_marshal_json_gen.ts";
import { Random } from "./_random.ts";
import { fromHex, PY_FRESH, runPython, toHex } from "../_marshal_json_capture.ts";

const marshal = new MarshalSerializer();
const FULL: GenOptions = {
  marshal: true,
  loneSurrogates: true,
  oneCharStrings: true,
  sharing: true,
};

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
