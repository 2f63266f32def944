/**
 * Fuzz support for serpent: random values of the value model, random serpent tokens and
 * mutations of valid serpent text.
 *
 * @module
 */
import {
  PyComplex,
  PyFloat,
  PyFrozenSet,
  type PyStringDict,
  tuple,
} from "../../serializers/values.ts";
import { Random } from "./_random.ts";

/** Random values of the value model, and random serpent-ish text. */
export class SerpentFuzzer extends Random {
  /** A short string with quotes, escapes, control characters and lone surrogates. */
  string(): string {
    let out = "";
    const n = this.int(12);
    for (let i = 0; i < n; i++) {
      const r = this.next();
      if (r < 0.5) out += String.fromCharCode(32 + this.int(95));
      else if (r < 0.6) out += this.pick(["'", '"', "\\", "\n", "\r", "\t", "\0", "\x7f", "\x1b"]);
      else if (r < 0.75) out += String.fromCharCode(0x80 + this.int(0x780));
      else if (r < 0.9) out += String.fromCharCode(0x800 + this.int(0xf800)); // lone surrogates too
      else out += String.fromCodePoint(0x10000 + this.int(0x100000));
    }
    return out;
  }

  /** A float, often a special one. */
  float(): number {
    if (this.chance(0.1)) return this.pick([Infinity, -Infinity, NaN, -0, 5e-324, 1e16, 1e-5]);
    if (this.chance(0.5)) {
      const view = new DataView(new ArrayBuffer(8));
      view.setUint32(0, this.int(2 ** 32));
      view.setUint32(4, this.int(2 ** 32));
      return view.getFloat64(0);
    }
    return (this.next() - 0.5) * 10 ** (this.int(40) - 20);
  }

  /** An int: a safe number or a bigint beyond. */
  integer(): number | bigint {
    if (this.chance(0.7)) return this.int(2001) - 1000;
    if (this.chance(0.5)) return Math.floor((this.next() - 0.5) * 2 ** 53);
    const big = BigInt(this.int(2 ** 30)) * 10n ** BigInt(16 + this.int(40));
    return this.chance(0.5) ? -big : big;
  }

  /** A dict key or set item that survives a round trip unchanged. */
  hashable(depth: number): unknown {
    const r = this.next();
    if (r < 0.4) return this.integer();
    if (r < 0.7) return this.string();
    if (r < 0.8) return this.chance(0.5);
    if (r < 0.9 && depth < 3) {
      return tuple(...Array.from({ length: this.int(3) }, () => this.hashable(depth + 1)));
    }
    const f = this.float();
    return Number.isNaN(f) ? 0.5 : f; // NaN is written as a dict: not a valid key
  }

  /** A random value of the value model. */
  value(depth = 0): unknown {
    const r = depth > 4 ? this.next() * 0.55 : this.next();
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
