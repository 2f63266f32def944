/**
 * Seeded fuzzing of the serpent serializer:
 * - round trip: random values of the value model -> dumps -> loads give the value back, and
 *   encoding that again reaches a fixed point;
 * - robustness: random and mutated serpent texts end in a value or a PyroError subclass
 *   (SerializeError, SecurityError), never another error, a hang or a stack overflow.
 *
 * Run: deno test tests/fuzz/serpent_fuzz_test.ts
 */
import { ok as assert, strictEqual } from "node:assert";
import { PyroError } from "../../errors.ts";
import { SerpentSerializer } from "../../serializers/serpent.ts";
import {
  makeDict,
  PyComplex,
  PyFloat,
  PyFrozenSet,
  type PyStringDict,
  PyTuple,
  tuple,
} from "../../serializers/values.ts";
import { seededRandom } from "../_protocol_support.ts";
import { assertPyEqual } from "../_support.ts";

const SEED = 0x5e4e;
/** Wall-clock budget per fuzz test; the counts below are minimums reached well within it. */
const BUDGET_MS = 4000;

/** Random values of the value model, and random serpent-ish text. */
class Fuzzer {
  #random: () => number;

  constructor(seed: number) {
    this.#random = seededRandom(seed);
  }

  int(limit: number): number {
    return Math.floor(this.#random() * limit);
  }

  chance(p: number): boolean {
    return this.#random() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  string(): string {
    let out = "";
    const n = this.int(12);
    for (let i = 0; i < n; i++) {
      const r = this.#random();
      if (r < 0.5) out += String.fromCharCode(32 + this.int(95));
      else if (r < 0.6) out += this.pick(["'", '"', "\\", "\n", "\r", "\t", "\0", "\x7f", "\x1b"]);
      else if (r < 0.75) out += String.fromCharCode(0x80 + this.int(0x780));
      else if (r < 0.9) out += String.fromCharCode(0x800 + this.int(0xf800)); // lone surrogates too
      else out += String.fromCodePoint(0x10000 + this.int(0x100000));
    }
    return out;
  }

  float(): number {
    if (this.chance(0.1)) return this.pick([Infinity, -Infinity, NaN, -0, 5e-324, 1e16, 1e-5]);
    if (this.chance(0.5)) {
      const view = new DataView(new ArrayBuffer(8));
      view.setUint32(0, this.int(2 ** 32));
      view.setUint32(4, this.int(2 ** 32));
      return view.getFloat64(0);
    }
    return (this.#random() - 0.5) * 10 ** (this.int(40) - 20);
  }

  /** An int: a safe number or a bigint beyond. */
  integer(): number | bigint {
    if (this.chance(0.7)) return this.int(2001) - 1000;
    if (this.chance(0.5)) return Math.floor((this.#random() - 0.5) * 2 ** 53);
    const big = BigInt(this.int(2 ** 30)) * 10n ** BigInt(16 + this.int(40));
    return this.chance(0.5) ? -big : big;
  }

  /** A dict key or set item that survives a round trip unchanged. */
  hashable(depth: number): unknown {
    const r = this.#random();
    if (r < 0.4) return this.integer();
    if (r < 0.7) return this.string();
    if (r < 0.8) return this.chance(0.5);
    if (r < 0.9 && depth < 3) {
      return tuple(...Array.from({ length: this.int(3) }, () => this.hashable(depth + 1)));
    }
    const f = this.float();
    return Number.isNaN(f) ? 0.5 : f; // NaN is written as a dict: not a valid key
  }

  value(depth = 0): unknown {
    const r = depth > 4 ? this.#random() * 0.55 : this.#random();
    if (r < 0.06) return null;
    if (r < 0.1) return this.chance(0.5);
    if (r < 0.2) return this.integer();
    if (r < 0.3) {
      const f = this.float();
      return Number.isInteger(f) && this.chance(0.5) ? new PyFloat(f) : f;
    }
    if (r < 0.42) return this.string();
    if (r < 0.47) return Uint8Array.from({ length: this.int(12) }, () => this.int(256));
    if (r < 0.5) {
      // No NaN part and no -0.0 real part: serpent cannot carry those (Python neither).
      const real = this.float();
      const imag = this.float();
      return new PyComplex(
        Number.isNaN(real) || Object.is(real, -0) ? 1 : real,
        Number.isNaN(imag) ? 2 : imag,
      );
    }
    if (r < 0.55) return undefined;
    if (r < 0.65) return Array.from({ length: this.int(5) }, () => this.value(depth + 1));
    if (r < 0.75) return tuple(...Array.from({ length: this.int(5) }, () => this.value(depth + 1)));
    if (r < 0.8) {
      const items = Array.from({ length: this.int(4) }, () => this.hashable(depth + 1));
      return this.chance(0.3) ? new PyFrozenSet(items) : new Set(items);
    }
    if (r < 0.9) {
      const dict: PyStringDict = {};
      for (let n = this.int(5); n > 0; n--) dict[`k${this.string()}`] = this.value(depth + 1);
      return dict;
    }
    const map = new Map<unknown, unknown>();
    for (let n = this.int(4); n > 0; n--) map.set(this.hashable(depth + 1), this.value(depth + 1));
    return map;
  }

  /** A mutation of valid serpent text. */
  mutate(source: Uint8Array): Uint8Array {
    const bytes = [...source];
    for (let n = 1 + this.int(4); n > 0; n--) {
      const at = this.int(bytes.length + 1);
      switch (this.int(6)) {
        case 0: // flip a byte
          if (bytes.length) bytes[Math.min(at, bytes.length - 1)] = this.int(256);
          break;
        case 1: // insert a token
          bytes.splice(at, 0, ...new TextEncoder().encode(this.pick(TOKENS)));
          break;
        case 2: // delete a range
          bytes.splice(at, 1 + this.int(8));
          break;
        case 3: // duplicate a range
          bytes.splice(at, 0, ...bytes.slice(this.int(bytes.length), at));
          break;
        case 4: // truncate
          bytes.length = at;
          break;
        default: // swap in an ASCII character
          if (bytes.length) bytes[Math.min(at, bytes.length - 1)] = 32 + this.int(95);
      }
    }
    return Uint8Array.from(bytes.slice(0, 4096));
  }

  /** Text built from serpent tokens only. */
  tokens(): Uint8Array {
    let out = "";
    for (let n = this.int(40); n > 0; n--) out += this.pick(TOKENS);
    return new TextEncoder().encode(out);
  }
}

const TOKENS = [
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  ",",
  ":",
  "'",
  '"',
  "'''",
  '"""',
  "\\",
  "\\\n",
  "\n",
  "\r\n",
  " ",
  "\t",
  "#c\n",
  "-",
  "+",
  "j",
  "e",
  "E",
  "_",
  ".",
  "0",
  "1",
  "9",
  "0x",
  "0o",
  "0b",
  "1e5",
  "1.5",
  "1e30000",
  "True",
  "False",
  "None",
  "b'",
  "r'",
  "rb'",
  "u'",
  "f'",
  "\\x4",
  "\\u12",
  "\\U0010ffff",
  "\\N{x}",
  "\\777",
  "é",
  "😀",
  "__class__",
  "'__class__'",
  "'float'",
  "'value'",
  "'nan'",
  "'data'",
  "'encoding'",
  "'base64'",
  "'Pyro5.core.URI'",
  "'state'",
  "'a__b'",
  "...",
  "\0",
  "\ufeff",
  "x",
  "lambda",
];

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

/** Runs `fn` on fuzzed input; it must return, or throw a PyroError. */
function survive(fn: () => unknown, input: Uint8Array): void {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof PyroError)) {
      const shown = new TextDecoder().decode(input).slice(0, 200);
      throw new Error(`non-Pyro error for input ${JSON.stringify(shown)}: ${error}`, {
        cause: error,
      });
    }
  }
}

Deno.test("SerpentSerializer: random values round trip (dumps -> loads)", () => {
  const fuzz = new Fuzzer(SEED);
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

Deno.test("SerpentSerializer: fuzzed input ends in a value or a PyroError", () => {
  const fuzz = new Fuzzer(SEED + 1);
  const serpent = new SerpentSerializer();
  const shallow = new SerpentSerializer({ maxDepth: 3, serpentBytesRepr: true });
  const corpus = Array.from({ length: 300 }, () => serpent.dumps(fuzz.value()));
  corpus.push(shallow.dumps([new Uint8Array([0, 39, 34, 92, 200]), tuple<unknown>("a", 1.5)]));
  const start = performance.now();
  let count = 0;
  let decoded = 0;
  while (count < 60_000 && performance.now() - start < BUDGET_MS) {
    const r = fuzz.int(10);
    const input = r < 6
      ? fuzz.mutate(fuzz.pick(corpus))
      : r < 9
      ? fuzz.tokens()
      : Uint8Array.from({ length: fuzz.int(64) }, () => fuzz.int(256));
    survive(() => {
      serpent.loads(input);
      decoded++;
    }, input);
    survive(() => shallow.loads(input), input);
    survive(() => serpent.loadsCall(input), input);
    count++;
  }
  assert(count >= 15_000, `only ${count} inputs within the budget`);
  assert(decoded > count / 50, `only ${decoded} of ${count} inputs decoded: mutations too blunt`);
});
