/**
 * The fast path of the JSON decoder: {@linkcode JsonDecoder} reads the usual Pyro5 JSON input
 * (short, well-formed, within the depth limit) straight from its bytes, with no text decoding and
 * no second walk, and hands anything else to {@linkcode decodeJson} (see `_json_decode.ts`),
 * which then decides the value and every error.
 *
 * @module
 */
import type { ClassRegistry } from "./classes.ts";
import { fromPythonInt, type PyStringDict, setDictItem } from "./values.ts";
import { MAX_INT_DIGITS } from "./_json_encode.ts";
import { convertClassDicts, decodeJson } from "./_json_decode.ts";

const STRICT = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const LENIENT = new TextDecoder("utf-8", { ignoreBOM: true });
const TWO_53 = 9007199254740992;

/** What the byte reader returns to give up; never leaves {@linkcode JsonDecoder}. */
const GIVE_UP: unique symbol = Symbol("give up");
type GiveUp = typeof GIVE_UP;
/** Strings of up to this many ASCII bytes go through the string cache. */
const STRING_CACHE_MAX_LENGTH = 16;
/** The string cache has 2^this slots, in sets of two. */
const STRING_CACHE_BITS = 10;
const STRING_CACHE_SLOTS = 1 << STRING_CACHE_BITS;
/** The string cache's pseudo slot for "no cached string before". */
const NO_SLOT = STRING_CACHE_SLOTS;
/** Runs of UTF-8 up to this many bytes are decoded by hand rather than by `TextDecoder`. */
const SHORT_UTF8 = 64;
/**
 * How much work that is slower here than in `JSON.parse` the reader takes on for one input before
 * it leaves the input to {@linkcode decodeJson}: long strings, strings with escapes or non-ASCII
 * text (their bytes count), floats read from their text (`SLOW_FLOAT` each).
 */
const SLOW_BUDGET = 1024;
const SLOW_FLOAT = 256;
const SLOW_STRING = 64;
/** 1 for the bytes a JSON string holds as they are: ASCII but quote, backslash and controls. */
const PLAIN = new Uint8Array(256).map((_, c) =>
  c >= 0x20 && c < 0x80 && c !== 0x22 && c !== 0x5c ? 1 : 0
);
/** Exact powers of ten as doubles: 10^0 .. 10^22. */
const POW10 = Object.freeze(Array.from({ length: 23 }, (_, i) => Number(`1e${i}`)));
const EMPTY = new Uint8Array(0);
/** Longer inputs go straight to {@linkcode decodeJson} (no gain there, and a smaller copy). */
const FAST_MAX_LENGTH = 8192;

/** Slots of short ASCII strings with their bytes (a cache: it changes no result). */
class StringCache {
  /** Each slot's string; `""` when empty. */
  readonly strings: string[];
  /** Each slot's string length; -1 when empty. */
  readonly lengths: Int8Array;
  /** Each slot's bytes, `STRING_CACHE_MAX_LENGTH` per slot. */
  readonly bytes: Uint8Array;
  /**
   * For each slot, and for {@linkcode NO_SLOT} (the start of an input, or a string not cached),
   * the slot of the string read after it last time; -1 when none.
   */
  readonly next: Int16Array;

  constructor(slots: number) {
    this.strings = new Array<string>(slots).fill("");
    this.lengths = new Int8Array(slots).fill(-1);
    this.bytes = new Uint8Array(STRING_CACHE_MAX_LENGTH * slots);
    this.next = new Int16Array(slots === 0 ? 0 : slots + 1).fill(-1);
  }
}

/** Stands for "not made yet"; empty and frozen. */
const NO_CACHE = Object.freeze(new StringCache(0));

/**
 * Reads Pyro5 JSON bytes into the value model, with results, errors and limits exactly as
 * {@linkcode decodeJson}. The usual input (short, well-formed, within the depth limit) is read
 * straight from the bytes; anything else goes to {@linkcode decodeJson}.
 *
 * One decoder serves many inputs in turn (it keeps a cache of recent short strings, which changes
 * no result); a class converter may decode with it again from inside a decode.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { JsonDecoder } from "./_json_reader.ts";
 * import { ClassRegistry } from "./classes.ts";
 * const decoder = new JsonDecoder(new ClassRegistry(), 100);
 * const data = new TextEncoder().encode('{"a": [1, 2.5, "x"], "b": NaN}');
 * const value = decoder.decode(data) as { a: unknown[]; b: number };
 * assert(value.a[1] === 2.5 && Number.isNaN(value.b));
 * ```
 */
export class JsonDecoder {
  #classes: ClassRegistry;
  #maxDepth: number;
  /** A copy of the input being read, then a zero byte; kept for the next input. */
  #data: Uint8Array = EMPTY;
  /** Length of the input in `#data`. */
  #length = 0;
  #pos = 0;
  /** Set when the input has a `"__class__"` dict key. */
  #sawClass = false;
  /** What is left of `SLOW_BUDGET` for this input. */
  #budget = 0;
  /** Recent short ASCII strings by a hash of their bytes; made by the first decode. */
  #strings: StringCache = NO_CACHE;
  /** The cache slot of the string read last in this input, or `NO_SLOT`. */
  #previous = NO_SLOT;

  /**
   * @param classes converts class dicts
   * @param maxDepth deepest nesting accepted
   */
  constructor(classes: ClassRegistry, maxDepth: number) {
    this.#classes = classes;
    this.#maxDepth = maxDepth;
  }

  /**
   * Decodes one JSON document.
   *
   * @param data UTF-8 JSON text (never modified)
   * @returns the value
   * @throws {SerializeError} as {@linkcode decodeJson}
   */
  decode(data: Uint8Array): unknown {
    const length = data.length;
    if (length > FAST_MAX_LENGTH) return decodeJson(data, this.#classes, this.#maxDepth);
    // A copy with a zero byte after the end: every scan stops at a zero byte (no valid JSON has
    // one, strings give up on it, and look-ahead compares stop at the first mismatch), so no
    // read goes past the buffer (such reads are slow in V8, and stay slow once seen).
    let scratch = this.#data;
    // Room for a first guess at a string to look ahead (its bytes decide, not the stale ones).
    if (scratch.length <= length + STRING_CACHE_MAX_LENGTH) {
      let size = 512;
      while (size <= length + STRING_CACHE_MAX_LENGTH) size *= 2;
      scratch = this.#data = new Uint8Array(size);
      if (this.#strings === NO_CACHE) this.#strings = new StringCache(STRING_CACHE_SLOTS);
    }
    scratch.set(data);
    scratch[length] = 0;
    this.#length = length;
    this.#pos = 0;
    this.#previous = NO_SLOT;
    this.#sawClass = false;
    this.#budget = SLOW_BUDGET;
    let value: unknown;
    try {
      value = this.#document();
    } catch {
      // A stack overflow (with a large maxDepth): the full path reports it.
      value = GIVE_UP;
    }
    if (value === GIVE_UP) return decodeJson(data, this.#classes, this.#maxDepth);
    // Class dicts are converted only now that the whole input is known to be valid, so a
    // converter never runs twice nor before an error the full path would report first.
    if (this.#sawClass && typeof value === "object" && value !== null) {
      return convertClassDicts(value, this.#classes, this.#maxDepth);
    }
    return value;
  }

  #document(): unknown {
    const data = this.#data;
    this.#pos = skipSpace(data, 0);
    const value = this.#value(0);
    if (skipSpace(data, this.#pos) !== this.#length) return GIVE_UP;
    return value;
  }

  /** The value at `#pos` (no space before it); `depth` is the nesting of its container. */
  #value(depth: number): unknown {
    const data = this.#data;
    const pos = this.#pos;
    const c = data[pos];
    if (c === 0x22) return this.#string();
    if ((c >= 0x30 && c <= 0x39) || c === 0x2d) {
      if (c === 0x2d && data[pos + 1] === 0x49) return this.#word("-Infinity", -Infinity);
      return this.#number();
    }
    switch (c) {
      case 0x7b: // {
        return this.#object(depth + 1);
      case 0x5b: // [
        return this.#array(depth + 1);
      case 0x6e: // n
        if (data[pos + 1] === 0x75 && data[pos + 2] === 0x6c && data[pos + 3] === 0x6c) {
          this.#pos = pos + 4;
          return null;
        }
        break;
      case 0x74: // t
        if (data[pos + 1] === 0x72 && data[pos + 2] === 0x75 && data[pos + 3] === 0x65) {
          this.#pos = pos + 4;
          return true;
        }
        break;
      case 0x66: // f
        if (
          data[pos + 1] === 0x61 && data[pos + 2] === 0x6c && data[pos + 3] === 0x73 &&
          data[pos + 4] === 0x65
        ) {
          this.#pos = pos + 5;
          return false;
        }
        break;
      case 0x4e: // N
        return this.#word("NaN", NaN);
      case 0x49: // I
        return this.#word("Infinity", Infinity);
    }
    return GIVE_UP;
  }

  /** A rare literal word at `#pos`. */
  #word(word: string, value: number): number | GiveUp {
    const data = this.#data;
    const pos = this.#pos;
    const n = word.length;
    for (let i = 1; i < n; i++) if (data[pos + i] !== word.charCodeAt(i)) return GIVE_UP;
    this.#pos = pos + n;
    return value;
  }

  #array(depth: number): unknown[] | GiveUp {
    if (depth > this.#maxDepth) return GIVE_UP;
    const data = this.#data;
    let pos = skipSpace(data, this.#pos + 1);
    const items: unknown[] = [];
    if (data[pos] === 0x5d) {
      this.#pos = pos + 1;
      return items;
    }
    for (;;) {
      this.#pos = pos;
      const item = this.#value(depth);
      if (item === GIVE_UP) return GIVE_UP;
      items.push(item);
      pos = this.#pos;
      let c = data[pos];
      if (c <= 0x20) c = data[pos = skipSpace(data, pos)];
      if (c === 0x5d) break;
      if (c !== 0x2c) return GIVE_UP;
      // Python writes ", ": one space is the usual case.
      if (data[++pos] <= 0x20) pos = skipSpace(data, pos);
    }
    this.#pos = pos + 1;
    return items;
  }

  #object(depth: number): PyStringDict | GiveUp {
    if (depth > this.#maxDepth) return GIVE_UP;
    const data = this.#data;
    let pos = skipSpace(data, this.#pos + 1);
    const dict: PyStringDict = {};
    if (data[pos] === 0x7d) {
      this.#pos = pos + 1;
      return dict;
    }
    for (;;) {
      if (data[pos] !== 0x22) return GIVE_UP;
      this.#pos = pos;
      const key = this.#string();
      if (key === GIVE_UP) return GIVE_UP;
      pos = this.#pos;
      if (data[pos] !== 0x3a) {
        pos = skipSpace(data, pos);
        if (data[pos] !== 0x3a) return GIVE_UP;
      }
      // Python writes ": ".
      if (data[++pos] <= 0x20) pos = skipSpace(data, pos);
      this.#pos = pos;
      const value = this.#value(depth);
      if (value === GIVE_UP) return GIVE_UP;
      if (key === "__proto__") setDictItem(dict, key, value);
      else {
        if (key === "__class__") this.#sawClass = true;
        dict[key] = value;
      }
      pos = this.#pos;
      let c = data[pos];
      if (c <= 0x20) c = data[pos = skipSpace(data, pos)];
      if (c === 0x7d) break;
      if (c !== 0x2c) return GIVE_UP;
      if (data[++pos] <= 0x20) pos = skipSpace(data, pos);
    }
    this.#pos = pos + 1;
    return dict;
  }

  /** The string whose opening quote is at `#pos`. */
  #string(): string | GiveUp {
    const data = this.#data;
    const start = this.#pos + 1;
    const cache = this.#strings;
    // First guess: the string that came after the previous one last time (messages of one kind
    // repeat their keys and many values in the same order).
    const guess = cache.next[this.#previous];
    if (guess >= 0) {
      const length = cache.lengths[guess]; // -1 for an emptied slot
      const end = start + length;
      if (length >= 0 && data[end] === 0x22) {
        const bytes = cache.bytes;
        const at = guess * STRING_CACHE_MAX_LENGTH - start;
        let i = start;
        while (i < end && bytes[at + i] === data[i]) i++;
        if (i === end) {
          this.#pos = end + 1;
          this.#previous = guess;
          return cache.strings[guess];
        }
      }
    }
    let end = start;
    let c: number = data[end];
    const limit = start + SHORT_UTF8 + this.#budget;
    while (PLAIN[c] === 1 && end < limit) c = data[++end];
    if (c !== 0x22) {
      this.#previous = NO_SLOT;
      return end === limit ? GIVE_UP : this.#otherString(start, end);
    }
    this.#pos = end + 1;
    const length = end - start;
    if (length <= STRING_CACHE_MAX_LENGTH) {
      // FNV-1a over the bytes, for the string cache.
      let hash = 0x811c9dc5;
      for (let i = start; i < end; i++) hash = Math.imul(hash ^ data[i], 0x01000193);
      const slot = this.#cacheSlot(cache, start, end, hash);
      cache.next[this.#previous] = slot;
      this.#previous = slot;
      return cache.strings[slot];
    }
    this.#previous = NO_SLOT;
    if (length <= SHORT_UTF8) return asciiText(data, start, end);
    this.#budget -= length - SHORT_UTF8;
    return LENIENT.decode(data.subarray(start, end));
  }

  /**
   * The cache slot of a short ASCII string, found or filled. The same string object each time
   * makes it cheaper to use as a property key than a fresh string.
   */
  #cacheSlot(cache: StringCache, start: number, end: number, hash: number): number {
    const data = this.#data;
    const length = end - start;
    // The top bits of a multiplicative hash depend on every byte. Two ways per set: a string
    // is in slot `set` or `set + 1`, so two strings with the same hash both stay.
    const set = (Math.imul(hash ^ length, 0x9e3779b1) >>> (32 - STRING_CACHE_BITS)) & ~1;
    const bytes = cache.bytes;
    const lengths = cache.lengths;
    if (lengths[set] === length) {
      const at = set * STRING_CACHE_MAX_LENGTH - start;
      let i = start;
      while (i < end && bytes[at + i] === data[i]) i++;
      if (i === end) return set;
    }
    if (lengths[set + 1] === length) {
      const at = (set + 1) * STRING_CACHE_MAX_LENGTH - start;
      let i = start;
      while (i < end && bytes[at + i] === data[i]) i++;
      if (i === end) return set + 1;
    }
    // The newest string goes first, the one it displaces second.
    const strings = cache.strings;
    strings[set + 1] = strings[set];
    lengths[set + 1] = lengths[set];
    const at = set * STRING_CACHE_MAX_LENGTH;
    bytes.copyWithin(at + STRING_CACHE_MAX_LENGTH, at, at + STRING_CACHE_MAX_LENGTH);
    strings[set] = internalized(asciiText(data, start, end));
    lengths[set] = length;
    bytes.set(data.subarray(start, end), at);
    return set;
  }

  /**
   * A string with escapes or non-ASCII text from `start` (after the quote), plain ASCII up to
   * `pos`.
   */
  #otherString(start: number, pos: number): string | GiveUp {
    const data = this.#data;
    const limit = Math.min(this.#length, start + this.#budget);
    let text = "";
    let run = start;
    for (;;) {
      if (pos >= limit) return GIVE_UP;
      const c = data[pos];
      if (c === 0x22) break;
      if (c < 0x20) return GIVE_UP;
      if (c !== 0x5c) {
        pos++;
        continue;
      }
      if (pos > run) {
        const part = utf8Text(data, run, pos);
        if (part === GIVE_UP) return GIVE_UP;
        text += part;
      }
      const escape = data[pos + 1];
      pos += 2;
      switch (escape) {
        case 0x22:
          text += '"';
          break;
        case 0x5c:
          text += "\\";
          break;
        case 0x2f:
          text += "/";
          break;
        case 0x62:
          text += "\b";
          break;
        case 0x66:
          text += "\f";
          break;
        case 0x6e:
          text += "\n";
          break;
        case 0x72:
          text += "\r";
          break;
        case 0x74:
          text += "\t";
          break;
        case 0x75: { // uXXXX: any code unit, lone surrogates too, as Python
          const unit = (hexDigit(data[pos]) << 12) | (hexDigit(data[pos + 1]) << 8) |
            (hexDigit(data[pos + 2]) << 4) | hexDigit(data[pos + 3]);
          if (unit < 0) return GIVE_UP;
          text += String.fromCharCode(unit);
          pos += 4;
          break;
        }
        default:
          return GIVE_UP;
      }
      run = pos;
    }
    if (pos > run) {
      const part = utf8Text(data, run, pos);
      if (part === GIVE_UP) return GIVE_UP;
      text += part;
    }
    // decodeJson converts class dicts only when the text spells "__class__" without escapes;
    // it decides what an escaped one means.
    if (text === "__class__") return GIVE_UP;
    // Such strings cost about as much as SLOW_STRING bytes more than JSON.parse takes.
    this.#budget -= SLOW_STRING + pos - start;
    this.#pos = pos + 1;
    return text;
  }

  /** Python's NUMBER_RE `-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?` at `#pos`. */
  #number(): number | bigint | GiveUp {
    const data = this.#data;
    const start = this.#pos;
    let pos = start;
    const negative = data[pos] === 0x2d;
    if (negative) pos++;
    let c = data[pos];
    /** All digits read as one integer (exact while below 2^53). */
    let mantissa = 0;
    if (c === 0x30) {
      c = data[++pos];
    } else if (c >= 0x31 && c <= 0x39) {
      do {
        mantissa = mantissa * 10 + (c - 0x30);
        c = data[++pos];
      } while (c >= 0x30 && c <= 0x39);
    } else {
      return GIVE_UP;
    }
    let isFloat = false;
    let scale = 0;
    if (c === 0x2e) {
      c = data[++pos];
      if (!(c >= 0x30 && c <= 0x39)) return GIVE_UP;
      isFloat = true;
      do {
        mantissa = mantissa * 10 + (c - 0x30);
        scale--;
        c = data[++pos];
      } while (c >= 0x30 && c <= 0x39);
    }
    if (c === 0x65 || c === 0x45) {
      c = data[++pos];
      const negativeExponent = c === 0x2d;
      if (c === 0x2b || c === 0x2d) c = data[++pos];
      if (!(c >= 0x30 && c <= 0x39)) return GIVE_UP;
      isFloat = true;
      let exponent = 0;
      do {
        if (exponent < 100000) exponent = exponent * 10 + (c - 0x30);
        c = data[++pos];
      } while (c >= 0x30 && c <= 0x39);
      scale += negativeExponent ? -exponent : exponent;
    }
    this.#pos = pos;
    // Below 2^53 every step of the sum above was exact (rounding is monotonic: once a step is
    // inexact, the result is 2^53 or more).
    if (!isFloat) {
      // A safe int; `0 - 0` makes "-0" the int 0, as Python's int("-0").
      if (mantissa < TWO_53) return negative ? 0 - mantissa : mantissa;
      // Python refuses longer int texts: the full path words that error.
      if (pos - start - (negative ? 1 : 0) > MAX_INT_DIGITS) return GIVE_UP;
      return fromPythonInt(BigInt(asciiText(data, start, pos)));
    }
    if (mantissa < TWO_53 && scale >= -22 && scale <= 22) {
      // Both operands exact: one IEEE operation rounds correctly, as Python's float() does.
      const magnitude = scale >= 0 ? mantissa * POW10[scale] : mantissa / POW10[-scale];
      return negative ? -magnitude : magnitude;
    }
    if ((this.#budget -= SLOW_FLOAT) < 0) return GIVE_UP;
    return Number(asciiText(data, start, pos));
  }
}

/** The position of the first non-space (JSON's space, tab, CR, LF) byte from `pos`. */
function skipSpace(data: Uint8Array, pos: number): number {
  let c = data[pos];
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = data[++pos];
  return pos;
}

/**
 * The engine's unique copy of a string (as property keys are kept): flat, so it compares fast, and
 * used as a dict key without a lookup in the engine's string table.
 */
function internalized(text: string): string {
  const holder: PyStringDict = {};
  setDictItem(holder, text, 0);
  return Object.keys(holder)[0];
}

/** Text of ASCII bytes. */
function asciiText(data: Uint8Array, start: number, end: number): string {
  let text = "";
  for (let i = start; i < end; i++) text += String.fromCharCode(data[i]);
  return text;
}

/**
 * Text of strict UTF-8 bytes holding no quote, backslash or control character. The byte at
 * `end` is ASCII: a sequence cut there fails its check.
 */
function utf8Text(data: Uint8Array, start: number, end: number): string | GiveUp {
  if (end - start > SHORT_UTF8) {
    // The strict decoder is much slower: only a replacement character needs its verdict.
    const text = LENIENT.decode(data.subarray(start, end));
    if (text.includes("\ufffd")) {
      try {
        STRICT.decode(data.subarray(start, end));
      } catch {
        return GIVE_UP;
      }
    }
    return text;
  }
  // By hand, as TextDecoder with `fatal` (no overlong forms, no surrogates, nothing above
  // U+10FFFF): quicker for short text.
  const units: number[] = [];
  let i = start;
  while (i < end) {
    const b0 = data[i];
    if (b0 < 0x80) {
      units.push(b0);
      i++;
    } else if (b0 >= 0xc2 && b0 <= 0xdf) {
      const b1 = data[i + 1];
      if ((b1 & 0xc0) !== 0x80) return GIVE_UP;
      units.push(((b0 & 0x1f) << 6) | (b1 & 0x3f));
      i += 2;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      const b1 = data[i + 1];
      if (b1 < (b0 === 0xe0 ? 0xa0 : 0x80) || b1 > (b0 === 0xed ? 0x9f : 0xbf)) return GIVE_UP;
      const b2 = data[i + 2];
      if ((b2 & 0xc0) !== 0x80) return GIVE_UP;
      units.push(((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f));
      i += 3;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      const b1 = data[i + 1];
      if (b1 < (b0 === 0xf0 ? 0x90 : 0x80) || b1 > (b0 === 0xf4 ? 0x8f : 0xbf)) return GIVE_UP;
      const b2 = data[i + 2];
      if ((b2 & 0xc0) !== 0x80) return GIVE_UP;
      const b3 = data[i + 3];
      if ((b3 & 0xc0) !== 0x80) return GIVE_UP;
      const point = (((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) |
        (b3 & 0x3f)) - 0x10000;
      units.push(0xd800 | (point >> 10), 0xdc00 | (point & 0x3ff));
      i += 4;
    } else {
      return GIVE_UP;
    }
  }
  return String.fromCharCode.apply(null, units);
}

/** The value of a hex digit byte, or a large negative number. */
function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x57;
  return -0x10000;
}
