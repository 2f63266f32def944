/**
 * Fuzzing the json serializer with seeded inputs: random values round-trip; the `JSON.parse` fast
 * path and the own parser agree on tens of thousands of valid and mutated documents; and, when
 * the Python peer is installed, Python reads what we write and writes byte for byte the same.
 * (That every input ends in a value or a PyroError is the fuzz engine's: tests/fuzz/fuzz_test.ts.)
 */
import { deepStrictEqual, fail, ok, strictEqual } from "node:assert";
import { PyroError } from "../../errors.ts";
import { JsonSerializer } from "../../serializers/json.ts";
import { ClassRegistry } from "../../serializers/classes.ts";
import { parsePythonJson } from "../../serializers/_json_decode.ts";
import { decodedForm, type GenOptions, mutate, randomValue } from "./_marshal_json_gen.ts";
import { Random } from "./_random.ts";
import { runPython } from "../_marshal_json_capture.ts";

const json = new JsonSerializer();
const shallow = new JsonSerializer({ maxDepth: 3 });
const classes = new ClassRegistry();
const OPTIONS: GenOptions = {
  marshal: false,
  loneSurrogates: true,
  oneCharStrings: true,
  sharing: false,
};
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Python json's text for a non-string dict key, as our encoder writes it. */
function keyText(key: unknown): string {
  const text = decoder.decode(json.dumps(new Map([[key, 0]])));
  return JSON.parse(text.slice(1, text.indexOf(": ")));
}

/** The outcome of decoding: a value, or the PyroError's message. */
function outcome(decode: () => unknown): { value: unknown } | { error: string } {
  try {
    return { value: decode() };
  } catch (error) {
    if (!(error instanceof PyroError)) {
      fail(`${(error as Error)?.name}: ${(error as Error)?.message}`);
    }
    return { error: error.message };
  }
}

Deno.test("json fuzz: random values round-trip", () => {
  const rng = new Random(1234);
  for (let i = 0; i < 5000; i++) {
    const value = randomValue(rng, OPTIONS);
    const bytes = json.dumps(value);
    deepStrictEqual(json.loads(bytes), decodedForm(value, true, keyText), `value #${i}`);
  }
});

Deno.test("json fuzz: fast path and own parser agree on valid and mutated documents", () => {
  const rng = new Random(5678);
  const docs: Uint8Array[] = [];
  for (let i = 0; i < 400; i++) docs.push(json.dumps(randomValue(rng, OPTIONS)));
  docs.push(encoder.encode('{"a": [1, -0, 1e5, 12345678901234567890, "x\\u00e9\\n"], "b": {}}'));
  const alphabet = encoder.encode('{}[]",:0123456789-+.eEtrufalsnNIy \\/u\n');
  let values = 0;
  const started = performance.now();
  for (let i = 0; i < 40_000; i++) {
    const data = i % 10 === 0 ? rng.pick(docs) : mutate(rng, rng.pick(docs), alphabet);
    const fast = outcome(() => json.loads(data));
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(data);
    } catch {
      ok("error" in fast, "invalid UTF-8 must fail");
      continue;
    }
    const slow = outcome(() => parsePythonJson(text, classes, 1000));
    if ("value" in fast) values++;
    // Both succeed with the same value, or both fail (JSON.parse's and Python's messages differ
    // from each other, but the fast path always reports the own parser's message).
    deepStrictEqual(fast, slow, `document ${JSON.stringify(text)}`);
    // With a small depth limit nearly every document takes the walk after JSON.parse.
    deepStrictEqual(
      outcome(() => shallow.loads(data)),
      outcome(() => parsePythonJson(text, classes, 3)),
      `document ${JSON.stringify(text)} at depth 3`,
    );
  }
  const elapsed = performance.now() - started;
  ok(values > 4000, `${values} documents decoded`);
  ok(elapsed < 60_000, `took ${elapsed} ms`); // generous: 2 cores shared by many
});

Deno.test("json fuzz: Python reads our JSON and writes the same", async () => {
  const rng = new Random(2718);
  // Python cannot UTF-8 encode lone surrogates; leave them out here.
  const options: GenOptions = { ...OPTIONS, loneSurrogates: false };
  const values = Array.from({ length: 800 }, () => randomValue(rng, options));
  const ours = values.map((v) => decoder.decode(json.dumps(v)));
  const script = String.raw`
import sys, json
from Pyro5.serializers import JsonSerializer
ser = JsonSerializer()
out = []
for text in json.load(sys.stdin):
    try:
        out.append(ser.dumps(ser.loads(text.encode("utf-8"))).decode("utf-8"))
    except Exception as e:
        out.append("error " + type(e).__name__ + ": " + str(e))
print(json.dumps(out))
`;
  const python = await runPython(script, ours) as string[];
  for (let i = 0; i < values.length; i++) strictEqual(python[i], ours[i], `value #${i}`);
});
