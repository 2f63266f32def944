/**
 * JSON decoder with Python `json.loads` semantics: `NaN`, `Infinity` and `-Infinity` are
 * accepted, ints of any size are exact (bigint beyond the safe range), `-0` is the int 0, and
 * class dicts become objects, children first.
 *
 * Three paths, all giving the same values and errors:
 * - `JsonDecoder` (in `_json_reader.ts`) first reads the bytes directly (no text decoding, no
 *   second walk), for the common input: short, well-formed, within the depth limit. Anything else (malformed
 *   text, too deep nesting, invalid UTF-8, a BOM, an int of more than 4300 digits, more long or
 *   non-ASCII text or hard floats than it reads quicker than `JSON.parse`...) makes it give up
 *   and hand the bytes to {@linkcode decodeJson}, which then decides everything, errors included.
 * - {@linkcode decodeJson}: the native `JSON.parse` followed by one walk over the result (depth
 *   limit and class dicts). The walk notices numbers `JSON.parse` may have got wrong (integral
 *   beyond 2^53, or negative zero).
 * - Only when the text really holds such an int token, or when `JSON.parse` refuses the text, the
 *   own parser below runs: it reads Python's extensions and reports errors with Python's
 *   messages and positions.
 *
 * @module
 */
import { SerializeError } from "../errors.ts";
import type { ClassRegistry } from "./classes.ts";
import { fromPythonInt, type PyStringDict, setDictItem } from "./values.ts";
import { MAX_INT_DIGITS } from "./_json_encode.ts";

const STRICT = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const LENIENT = new TextDecoder("utf-8", { ignoreBOM: true });
const TWO_53 = 9007199254740992;
/** An int token of 16+ digits (maybe beyond 2^53) or an int token `-0`. */
const INEXACT_INT = /(?:^|[^\d.eE+-])-?\d{16}|-0(?![\d.eE])/;

/** State of one decode: the walk over a `JSON.parse` result. */
class Reviver {
  /** Set when a number may differ from what Python reads. */
  suspicious = false;
  constructor(
    readonly classes: ClassRegistry,
    readonly maxDepth: number,
    readonly withClasses: boolean,
  ) {}

  /** Checks depth and numbers; replaces class dicts, children first. */
  walk(value: object, depth: number): unknown {
    if (depth >= this.maxDepth) throw tooDeep(this.maxDepth);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item = value[i];
        if (typeof item === "object") {
          if (item === null) continue;
          const replaced = this.walk(item, depth + 1);
          if (replaced !== item) value[i] = replaced;
        } else if (
          typeof item === "number" &&
          (item >= TWO_53 || item <= -TWO_53 || (item === 0 && 1 / item < 0))
        ) this.suspicious = true;
      }
      return value;
    }
    const dict = value as PyStringDict;
    const keys = Object.keys(dict);
    for (let i = 0; i < keys.length; i++) {
      const item = dict[keys[i]];
      if (typeof item === "object") {
        if (item === null) continue;
        const replaced = this.walk(item, depth + 1);
        if (replaced !== item) dict[keys[i]] = replaced;
      } else if (
        typeof item === "number" &&
        (item >= TWO_53 || item <= -TWO_53 || (item === 0 && 1 / item < 0))
      ) this.suspicious = true;
    }
    if (this.withClasses && Object.hasOwn(dict, "__class__")) return this.classes.fromDict(dict);
    return dict;
  }
}

/**
 * Replaces the class dicts in a decoded value by their objects, children first (what
 * {@linkcode decodeJson} does after `JSON.parse`; the byte reader of `_json_reader.ts` uses it
 * too).
 *
 * @param value a decoded array or dict, changed in place
 * @param classes the class registry
 * @param maxDepth deepest nesting accepted
 * @returns the value, or the object its class dict stands for
 * @throws {SerializeError} for nesting deeper than `maxDepth`, or from the class registry
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { convertClassDicts } from "./_json_decode.ts";
 * import { ClassRegistry } from "./classes.ts";
 * const value = convertClassDicts(
 *   [{ __class__: "Pyro5.core.URI", state: ["PYRO", "obj", null, "localhost", 9] }],
 *   new ClassRegistry(),
 *   10,
 * ) as unknown[];
 * assert(String(value[0]) === "PYRO:obj@localhost:9");
 * ```
 */
export function convertClassDicts(
  value: object,
  classes: ClassRegistry,
  maxDepth: number,
): unknown {
  return new Reviver(classes, maxDepth, true).walk(value, 0);
}

function tooDeep(maxDepth: number): SerializeError {
  return new SerializeError(`json data nested deeper than ${maxDepth} levels`);
}

/**
 * Decodes Pyro5 JSON bytes into the value model.
 *
 * @param data UTF-8 JSON text
 * @param classes converts class dicts
 * @param maxDepth deepest nesting accepted
 * @returns the value
 * @throws {SerializeError} on invalid UTF-8, malformed JSON, too deep nesting, unknown classes
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { decodeJson } from "./_json_decode.ts";
 * import { ClassRegistry } from "./classes.ts";
 * const data = new TextEncoder().encode("[NaN, 12345678901234567890]");
 * const [nan, big] = decodeJson(data, new ClassRegistry(), 100) as [number, bigint];
 * assert(Number.isNaN(nan) && big === 12345678901234567890n);
 * ```
 */
export function decodeJson(data: Uint8Array, classes: ClassRegistry, maxDepth: number): unknown {
  const text = decodeUtf8(data);
  const withClasses = text.includes('"__class__"');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return new JsonParser(text, classes, maxDepth, withClasses).parse();
  }
  if (typeof parsed !== "object" || parsed === null) {
    return typeof parsed === "number" && (parsed >= TWO_53 || parsed <= -TWO_53 || parsed === 0) &&
        INEXACT_INT.test(text)
      ? new JsonParser(text, classes, maxDepth, withClasses).parse()
      : parsed;
  }
  if (!withClasses && text.length < 2 * (maxDepth + 1)) {
    // Too short to nest deeper than allowed, no class dicts: only the ints are left to check,
    // and one scan of the (short) text does that quicker than a walk.
    return INEXACT_INT.test(text) ? new JsonParser(text, classes, maxDepth, false).parse() : parsed;
  }
  const reviver = new Reviver(classes, maxDepth, withClasses);
  const value = reviver.walk(parsed, 0);
  if (reviver.suspicious && INEXACT_INT.test(text)) {
    return new JsonParser(text, classes, maxDepth, withClasses).parse();
  }
  return value;
}

/** Strict UTF-8 (a BOM is kept, for the error Python gives). The common valid case is fast. */
function decodeUtf8(data: Uint8Array): string {
  const text = LENIENT.decode(data);
  // Replacement characters mean invalid input, or a real U+FFFD: the strict decoder tells.
  if (text.includes("\ufffd")) {
    try {
      STRICT.decode(data);
    } catch (error) {
      throw new SerializeError("invalid UTF-8 in json data", { cause: error });
    }
  }
  return text;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Recursive descent parser for Python's JSON dialect, used when `JSON.parse` cannot be. */
class JsonParser {
  #text: string;
  #pos = 0;
  #classes: ClassRegistry;
  #maxDepth: number;
  #withClasses: boolean;

  constructor(text: string, classes: ClassRegistry, maxDepth: number, withClasses: boolean) {
    this.#text = text;
    this.#classes = classes;
    this.#maxDepth = maxDepth;
    this.#withClasses = withClasses;
  }

  parse(): unknown {
    if (this.#text.charCodeAt(0) === 0xfeff) {
      throw this.#error("Unexpected UTF-8 BOM (decode using utf-8-sig)", 0);
    }
    this.#skipSpace();
    const value = this.#value(0);
    this.#skipSpace();
    if (this.#pos !== this.#text.length) throw this.#error("Extra data", this.#pos);
    return value;
  }

  /** A SerializeError in the words of Python's JSONDecodeError. */
  #error(message: string, pos: number): SerializeError {
    const before = this.#text.slice(0, pos);
    const line = before.split("\n").length;
    const column = pos - before.lastIndexOf("\n");
    return new SerializeError(`${message}: line ${line} column ${column} (char ${pos})`);
  }

  #skipSpace(): void {
    const text = this.#text;
    let pos = this.#pos;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else break;
    }
    this.#pos = pos;
  }

  #startsWith(word: string): boolean {
    return this.#text.startsWith(word, this.#pos);
  }

  #value(depth: number): unknown {
    const c = this.#text.charCodeAt(this.#pos);
    switch (c) {
      case 0x22: // "
        return this.#string();
      case 0x7b: // {
        return this.#object(depth + 1);
      case 0x5b: // [
        return this.#array(depth + 1);
      case 0x6e: // n
        if (this.#startsWith("null")) return this.#skip(4, null);
        break;
      case 0x74: // t
        if (this.#startsWith("true")) return this.#skip(4, true);
        break;
      case 0x66: // f
        if (this.#startsWith("false")) return this.#skip(5, false);
        break;
      case 0x4e: // N
        if (this.#startsWith("NaN")) return this.#skip(3, NaN);
        break;
      case 0x49: // I
        if (this.#startsWith("Infinity")) return this.#skip(8, Infinity);
        break;
      case 0x2d: // -
        if (this.#startsWith("-Infinity")) return this.#skip(9, -Infinity);
        if (isDigit(this.#text.charCodeAt(this.#pos + 1))) return this.#number();
        break;
      default:
        if (isDigit(c)) return this.#number();
    }
    throw this.#error("Expecting value", this.#pos);
  }

  #skip<T>(length: number, value: T): T {
    this.#pos += length;
    return value;
  }

  /** Python's NUMBER_RE: -?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)? */
  #number(): number | bigint {
    const text = this.#text;
    const start = this.#pos;
    let pos = start;
    if (text.charCodeAt(pos) === 0x2d) pos++;
    if (text.charCodeAt(pos) === 0x30) pos++;
    else while (isDigit(text.charCodeAt(pos))) pos++;
    let isFloat = false;
    if (text.charCodeAt(pos) === 0x2e && isDigit(text.charCodeAt(pos + 1))) {
      isFloat = true;
      pos += 2;
      while (isDigit(text.charCodeAt(pos))) pos++;
    }
    const e = text.charCodeAt(pos);
    if (e === 0x65 || e === 0x45) {
      let p = pos + 1;
      const sign = text.charCodeAt(p);
      if (sign === 0x2b || sign === 0x2d) p++;
      if (isDigit(text.charCodeAt(p))) {
        isFloat = true;
        pos = p + 1;
        while (isDigit(text.charCodeAt(pos))) pos++;
      }
    }
    this.#pos = pos;
    const token = text.slice(start, pos);
    if (isFloat) return Number(token);
    const digits = token.charCodeAt(0) === 0x2d ? token.length - 1 : token.length;
    if (digits < 16) return Number(token) + 0; // + 0 turns "-0" into 0, as Python's int("-0")
    if (digits > MAX_INT_DIGITS) {
      throw new SerializeError(
        `Exceeds the limit (${MAX_INT_DIGITS} digits) for integer string conversion: value has ${digits} digits; use sys.set_int_max_str_digits() to increase the limit`,
      );
    }
    return fromPythonInt(BigInt(token));
  }

  #string(): string {
    const text = this.#text;
    const start = this.#pos + 1;
    let pos = start;
    // Fast scan: no escapes.
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        this.#pos = pos + 1;
        return text.slice(start, pos);
      }
      if (c === 0x5c || c < 0x20 || pos >= text.length) break;
      pos++;
    }
    const parts: string[] = [text.slice(start, pos)];
    for (;;) {
      if (pos >= text.length) {
        throw this.#error("Unterminated string starting at", start - 1);
      }
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        this.#pos = pos + 1;
        return parts.join("");
      }
      if (c < 0x20) throw this.#error("Invalid control character at", pos);
      if (c !== 0x5c) {
        let end = pos + 1;
        for (;;) {
          const d = text.charCodeAt(end);
          if (d === 0x22 || d === 0x5c || d < 0x20 || end >= text.length) break;
          end++;
        }
        parts.push(text.slice(pos, end));
        pos = end;
        continue;
      }
      const escape = text.charCodeAt(pos + 1);
      switch (escape) {
        case 0x22:
          parts.push('"');
          break;
        case 0x5c:
          parts.push("\\");
          break;
        case 0x2f:
          parts.push("/");
          break;
        case 0x62:
          parts.push("\b");
          break;
        case 0x66:
          parts.push("\f");
          break;
        case 0x6e:
          parts.push("\n");
          break;
        case 0x72:
          parts.push("\r");
          break;
        case 0x74:
          parts.push("\t");
          break;
        case 0x75: { // uXXXX
          const hex = text.slice(pos + 2, pos + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw this.#error("Invalid \\uXXXX escape", pos + 1);
          parts.push(String.fromCharCode(parseInt(hex, 16)));
          pos += 6;
          continue;
        }
        default:
          if (pos + 1 >= text.length) {
            throw this.#error("Unterminated string starting at", start - 1);
          }
          throw this.#error("Invalid \\escape", pos);
      }
      pos += 2;
    }
  }

  #array(depth: number): unknown[] {
    if (depth > this.#maxDepth) throw tooDeep(this.#maxDepth);
    this.#pos++;
    this.#skipSpace();
    const result: unknown[] = [];
    if (this.#text.charCodeAt(this.#pos) === 0x5d) {
      this.#pos++;
      return result;
    }
    for (;;) {
      result.push(this.#value(depth));
      this.#skipSpace();
      const c = this.#text.charCodeAt(this.#pos);
      if (c === 0x5d) {
        this.#pos++;
        return result;
      }
      if (c !== 0x2c) throw this.#error("Expecting ',' delimiter", this.#pos);
      this.#pos++;
      this.#skipSpace();
    }
  }

  #object(depth: number): unknown {
    if (depth > this.#maxDepth) throw tooDeep(this.#maxDepth);
    this.#pos++;
    this.#skipSpace();
    const result: PyStringDict = {};
    if (this.#text.charCodeAt(this.#pos) === 0x7d) {
      this.#pos++;
      return result;
    }
    for (;;) {
      if (this.#text.charCodeAt(this.#pos) !== 0x22) {
        throw this.#error("Expecting property name enclosed in double quotes", this.#pos);
      }
      const key = this.#string();
      this.#skipSpace();
      if (this.#text.charCodeAt(this.#pos) !== 0x3a) {
        throw this.#error("Expecting ':' delimiter", this.#pos);
      }
      this.#pos++;
      this.#skipSpace();
      setDictItem(result, key, this.#value(depth));
      this.#skipSpace();
      const c = this.#text.charCodeAt(this.#pos);
      if (c === 0x7d) {
        this.#pos++;
        break;
      }
      if (c !== 0x2c) throw this.#error("Expecting ',' delimiter", this.#pos);
      this.#pos++;
      this.#skipSpace();
    }
    if (this.#withClasses && Object.hasOwn(result, "__class__")) {
      return this.#classes.fromDict(result);
    }
    return result;
  }
}

/**
 * Parses JSON text with the own parser only (no `JSON.parse` fast path); for tests that compare
 * both paths.
 *
 * @param text the JSON text
 * @param classes converts class dicts
 * @param maxDepth deepest nesting accepted
 * @returns the value
 * @throws {SerializeError} as {@linkcode decodeJson}
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parsePythonJson } from "./_json_decode.ts";
 * import { ClassRegistry } from "./classes.ts";
 * assert(parsePythonJson("-0", new ClassRegistry(), 10) === 0);
 * ```
 */
export function parsePythonJson(text: string, classes: ClassRegistry, maxDepth: number): unknown {
  return new JsonParser(text, classes, maxDepth, text.includes('"__class__"')).parse();
}
