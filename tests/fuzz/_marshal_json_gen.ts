/**
 * Fuzz support for the marshal and json tests: a seeded random generator of value-model values,
 * byte mutators, and the "decoded form" of a value (what a decoder gives back for it).
 *
 * @module
 */
import {
  fromPythonInt,
  makeDict,
  PyComplex,
  PyFloat,
  PyFrozenSet,
  type PyStringDict,
  PyTuple,
  tuple,
} from "../../serializers/values.ts";
import type { Random } from "./_random.ts";

/** What the generator may produce. */
export interface GenOptions {
  /** Produce tuples, bytes, frozensets, complex numbers and non-string dict keys (marshal). */
  marshal: boolean;
  /** Produce strings with lone surrogates. */
  loneSurrogates: boolean;
  /** Produce one-character strings. */
  oneCharStrings: boolean;
  /** Reuse objects (shared references). */
  sharing: boolean;
}

const WORDS = ["name", "value", "x", "_id", "a-b", "with space", "\u00e9t\u00e9", "", "k9"];
const CHARS = 'abcXYZ019 _-."\\/\n\t\u0000\u001f\u007f\u00e9\u00ff\u0100\u2028\u65e5\u{1f600}';

function randomString(rng: Random, options: GenOptions): string {
  const kind = rng.int(10);
  if (kind === 0) return rng.pick(WORDS);
  if (kind === 1) return "w".repeat(rng.pick([63, 64, 65, 255, 256, 300]));
  let length = rng.pick([0, 2, 3, 5, 8, 13, 40, 100]);
  if (options.oneCharStrings && rng.int(6) === 0) length = 1;
  const chars = [...CHARS];
  let text = "";
  for (let i = 0; i < length; i++) text += rng.pick(chars);
  if (options.loneSurrogates && rng.int(8) === 0) text += rng.pick(["\ud800", "\udfff", "\udc00x"]);
  if (!options.oneCharStrings && text.length === 1) text += "_";
  return text;
}

function randomNumber(rng: Random, options: GenOptions): unknown {
  switch (rng.int(12)) {
    case 0:
      return rng.int(262) - 5;
    case 1:
      return rng.int(2 ** 31) * (rng.int(2) ? 1 : -1);
    case 2:
      return Math.floor(rng.next() * Number.MAX_SAFE_INTEGER) * (rng.int(2) ? 1 : -1);
    case 3:
      return BigInt(Math.floor(rng.next() * 2 ** 50)) ** BigInt(1 + rng.int(8)) *
        (rng.int(2) ? 1n : -1n);
    case 4:
      return rng.pick([NaN, Infinity, -Infinity, -0, 5e-324, Number.MAX_VALUE, 1e16, 1e-5]);
    case 5:
      return new PyFloat(rng.int(1000) - 500);
    case 6:
      return options.marshal ? new PyComplex(rng.next(), -rng.next() * 1e10) : rng.next();
    default:
      return (rng.next() - 0.5) * 10 ** (rng.int(40) - 20);
  }
}

/** A hashable value (dict key or set element). */
function randomKey(rng: Random, options: GenOptions, depth: number): unknown {
  // No integral PyFloats: Python (and decoding) would merge 2.0 with 2.
  const number = () => {
    const n = randomNumber(rng, options);
    return n instanceof PyFloat ? n.value + 0.5 : n;
  };
  if (!options.marshal) return rng.int(4) === 0 ? number() : randomString(rng, options);
  switch (rng.int(6)) {
    case 0:
      return number();
    case 1:
      return null;
    case 2:
      return tuple<unknown>(randomKey(rng, options, depth + 1), rng.int(5));
    case 3:
      return new Uint8Array([rng.int(256), rng.int(256)]);
    default:
      return randomString(rng, options);
  }
}

/**
 * A random value of the value model.
 *
 * @param rng the random source
 * @param options what kinds of values to produce
 * @param depth current nesting (containers stop at 4)
 * @param pool earlier containers, reused for shared references
 * @returns the value
 */
export function randomValue(
  rng: Random,
  options: GenOptions,
  depth = 0,
  pool: unknown[] = [],
): unknown {
  const leaf = depth >= 4 || rng.int(3) > 0;
  if (leaf) {
    switch (rng.int(9)) {
      case 0:
        return rng.pick([null, true, false, undefined]);
      case 1:
      case 2:
      case 3:
        return randomNumber(rng, options);
      case 4:
        if (options.marshal) {
          return Uint8Array.from({ length: rng.pick([0, 1, 2, 7, 300]) }, () => rng.int(256));
        }
        return randomString(rng, options);
      default:
        return randomString(rng, options);
    }
  }
  if (options.sharing && pool.length > 0 && rng.int(8) === 0) return rng.pick(pool);
  const size = rng.pick([0, 1, 2, 3, 5, 8]);
  const items = () =>
    Array.from({ length: size }, () => randomValue(rng, options, depth + 1, pool));
  let value: unknown;
  switch (rng.int(options.marshal ? 7 : 4)) {
    case 0:
      value = items();
      break;
    case 1: {
      const dict: PyStringDict = {};
      for (let i = 0; i < size; i++) {
        dict[randomString(rng, options)] = randomValue(rng, options, depth + 1, pool);
      }
      value = dict;
      break;
    }
    case 2: {
      const map = new Map<unknown, unknown>();
      for (let i = 0; i < size; i++) {
        map.set(randomKey(rng, options, depth), randomValue(rng, options, depth + 1, pool));
      }
      value = map;
      break;
    }
    case 3:
      value = new Set(Array.from({ length: size }, () => randomKey(rng, options, depth)));
      break;
    case 4:
      value = tuple(...items());
      break;
    case 5:
      value = new PyFrozenSet(Array.from({ length: size }, () => randomKey(rng, options, depth)));
      break;
    default:
      value = rng.int(2) ? new Float64Array([rng.next(), 2]) : new Int32Array([1, -rng.int(9)]);
  }
  pool.push(value);
  return value;
}

/**
 * What decoding gives back for a value: bigints in the safe range become numbers, PyFloats
 * numbers, typed arrays lists, Maps with only string keys plain objects; for json also tuples and
 * sets become lists and non-string keys become Python's key text.
 *
 * @param value the value that was encoded
 * @param json whether it went through json
 * @param keyText json's text for a non-string key
 * @returns the expected decoded value
 */
export function decodedForm(
  value: unknown,
  json: boolean,
  keyText: (key: unknown) => string = String,
): unknown {
  const again = (v: unknown) => decodedForm(v, json, keyText);
  if (value === undefined) return null;
  if (typeof value === "bigint") return fromPythonInt(value);
  if (typeof value !== "object" || value === null) return value;
  if (value instanceof PyFloat) return value.value;
  if (value instanceof PyTuple) return json ? value.map(again) : tuple(...value.map(again));
  if (Array.isArray(value)) return value.map(again);
  if (value instanceof Float64Array || value instanceof Int32Array) return [...value];
  if (value instanceof PyFrozenSet) return new PyFrozenSet([...value].map(again));
  if (value instanceof Set) return json ? [...value].map(again) : new Set([...value].map(again));
  if (value instanceof Map) {
    const keys = [...value.keys()].map((k) =>
      json && typeof k !== "string" ? keyText(k) : again(k)
    );
    return makeDict(keys, [...value.values()].map(again));
  }
  if (value instanceof Uint8Array || value instanceof PyComplex) return value;
  return makeDict(Object.keys(value), Object.values(value).map(again));
}

/**
 * A mutated copy of some bytes: flipped, replaced, inserted or removed bytes, truncation, or a
 * huge little-endian int32 written somewhere (a declared size).
 *
 * @param rng the random source
 * @param data the original
 * @param alphabet bytes to insert (defaults to any byte)
 * @returns the mutant
 */
export function mutate(rng: Random, data: Uint8Array, alphabet?: Uint8Array): Uint8Array {
  const out = [...data];
  const rounds = 1 + rng.int(4);
  const someByte = () => alphabet ? alphabet[rng.int(alphabet.length)] : rng.int(256);
  for (let r = 0; r < rounds; r++) {
    const at = rng.int(out.length + 1);
    switch (rng.int(6)) {
      case 0:
        if (at < out.length) out[at] ^= 1 << rng.int(8);
        break;
      case 1:
        if (at < out.length) out[at] = someByte();
        break;
      case 2:
        out.splice(at, 0, someByte());
        break;
      case 3:
        out.splice(at, 1 + rng.int(3));
        break;
      case 4:
        out.length = Math.min(out.length, at);
        break;
      default: {
        const huge = rng.pick([0x7fffffff, 0xffffffff, 0x80000000, 0x10000, 300]);
        out.splice(at, 4, huge & 0xff, (huge >>> 8) & 0xff, (huge >>> 16) & 0xff, huge >>> 24);
      }
    }
  }
  return Uint8Array.from(out);
}
