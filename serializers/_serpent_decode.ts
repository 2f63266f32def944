/**
 * The serpent decoder: a parser of the Python literal expressions `ast.literal_eval` accepts,
 * building the pyro-deno value model directly. It never evaluates anything: names other than
 * `True`, `False` and `None`, calls, attribute access and operators other than a unary sign on a
 * number and the complex form `a+bj` / `a-bj` are refused. Internal to `serpent.ts`.
 *
 * Accepted, as Python accepts it: comments, blank lines, backslash line continuations; ints
 * (decimal without leading zeros, `0x`/`0o`/`0b`, underscores between digits, at most 4300
 * decimal digits like Python 3.11), floats (`1.`, `.5`, `1e5`, `1e30000` for infinity),
 * imaginary literals (`2j`); strings with `'`, `"`, triple quotes, prefixes `r`, `u`, `b`, `br`,
 * `rb` in any case, adjacent literals concatenated, every escape except `\N{...}` (no Unicode
 * name table here: it is a SerializeError); tuples (also a bare top-level `1, 2`), lists, sets,
 * dicts, trailing commas. Newlines end the expression outside brackets, as in Python.
 *
 * The token level (whitespace, numbers, string literals) is in `_serpent_lexer.ts`.
 *
 * Deliberately more lenient than Python in one place: `a+-bj` (a sign on the imaginary part),
 * because serpent itself writes `(1.0+-0.0j)` for a negative-zero imaginary part.
 *
 * @module
 */
import { PyroError, SerializeError } from "../errors.ts";
import type { ClassRegistry } from "./classes.ts";
import {
  BACKSLASH,
  COLON,
  COMMA,
  CR,
  describe,
  DOT,
  DQUOTE,
  HASH,
  isNameChar,
  K_COMPLEX,
  K_FLOAT,
  K_IMAG,
  K_INT,
  K_OTHER,
  K_SIGNED_IMAG,
  K_SIGNED_REAL,
  LBRACE,
  LBRACKET,
  LF,
  LPAREN,
  MINUS,
  NINE,
  PADDING,
  PLUS,
  QUOTE,
  RBRACE,
  RBRACKET,
  RPAREN,
  SerpentLexer,
  SPACE,
  TAB,
  UNDERSCORE,
  utf8Offset,
  ZERO,
} from "./_serpent_lexer.ts";
import { fromPythonInt, PyComplex, type PyStringDict, PyTuple, setDictItem } from "./values.ts";

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Settings of one decode. */
export interface SerpentDecoderSettings {
  /** Class conversions for dicts with a `__class__` key. */
  classes: ClassRegistry;
  /** Deepest container nesting accepted. */
  maxDepth: number;
}

/** Inputs up to this size are padded in the decoder's reused scratch buffer. */
const SCRATCH_LIMIT = 1 << 16;

/**
 * Decodes serpent bytes into values. Holds a scratch buffer reused across calls (only while
 * turning bytes into text, so nested use from a class hook is safe).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SerpentDecoder } from "./_serpent_decode.ts";
 * import { ClassRegistry } from "./classes.ts";
 * const decoder = new SerpentDecoder({ classes: new ClassRegistry(), maxDepth: 10 });
 * const data = new TextEncoder().encode("# serpent utf-8 python3.2\n[1,'a',(2,)]");
 * assert((decoder.decode(data) as unknown[])[1] === "a");
 * ```
 */
export class SerpentDecoder {
  #settings: SerpentDecoderSettings;
  #scratch = new Uint8Array(1024);
  #keys = new KeyCache();

  /** @param settings class registry and depth limit */
  constructor(settings: SerpentDecoderSettings) {
    this.#settings = settings;
  }

  /**
   * Decodes one serpent document.
   *
   * @param data UTF-8 serpent text (the header line is a comment and optional)
   * @returns the value
   * @throws {SerializeError} for malformed input, naming the byte position
   * @throws {SecurityError} for class dicts with double underscores in the class name
   */
  decode(data: Uint8Array): unknown {
    let text: string;
    try {
      text = UTF8.decode(this.#padded(data));
    } catch (error) {
      throw new SerializeError("Invalid serpent data: it is not valid UTF-8", { cause: error });
    }
    // Python refuses NUL anywhere (even in a comment); the padding's NULs start at the end.
    const zero = text.indexOf("\0");
    if (zero < text.length - PADDING) {
      throw new SerializeError(
        `Invalid serpent data at byte ${utf8Offset(text, zero)}: it contains a 0-byte`,
      );
    }
    try {
      return new Parser(text, this.#settings, this.#keys).parse();
    } catch (error) {
      if (error instanceof RangeError) {
        // Only a stack overflow gets here: a maxDepth beyond what the stack holds.
        throw new SerializeError("Invalid serpent data: nesting too deep", { cause: error });
      }
      throw error;
    }
  }

  /** The data followed by PADDING zero bytes, so that the text comes out as one flat string. */
  #padded(data: Uint8Array): Uint8Array {
    const size = data.length + PADDING;
    if (size > SCRATCH_LIMIT) {
      const padded = new Uint8Array(size);
      padded.set(data);
      return padded;
    }
    if (size > this.#scratch.length) {
      let grown = this.#scratch.length * 2;
      while (grown < size) grown *= 2;
      this.#scratch = new Uint8Array(grown);
    }
    const scratch = this.#scratch;
    scratch.set(data);
    scratch.fill(0, data.length, size);
    return scratch.subarray(0, size);
  }
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const part of parts) size += part.length;
  const joined = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return joined;
}

/** Slots of the dict key cache; keys longer than KEY_CACHE_MAX_LENGTH are not cached. */
const KEY_CACHE_SLOTS = 512;
const KEY_CACHE_MAX_LENGTH = 64;

/**
 * Hands out one string object per distinct dict key text, so that the same keys in message
 * after message are the same (by then internalized) strings: storing a fresh substring as a
 * property name makes V8 look it up in its string table every time.
 */
class KeyCache {
  #slots: (string | undefined)[] = new Array(KEY_CACHE_SLOTS);

  /**
   * @param key a decoded key
   * @returns an equal string, the cached one when there is one
   */
  get(key: string): string {
    const n = key.length;
    if (n === 0 || n > KEY_CACHE_MAX_LENGTH) return key;
    const slot = (n * 31 + key.charCodeAt(0) * 7 + key.charCodeAt(n >> 1) * 3 +
      key.charCodeAt(n - 1)) & (KEY_CACHE_SLOTS - 1);
    const cached = this.#slots[slot];
    if (cached === key) return cached;
    this.#slots[slot] = key;
    return key;
  }
}

/**
 * Turns a filled array into a PyTuple. Cheaper than `new PyTuple()` + push, and it keeps the
 * parser optimizable (V8 keeps abandoning optimized code that constructs the Array subclass).
 */
function asTuple(items: unknown[]): PyTuple {
  return Object.setPrototypeOf(items, PyTuple.prototype);
}

/**
 * Python's `float(text)` for the strings serpent's float dict may carry: `nan`, `inf`,
 * `infinity` with an optional sign in any case, or a decimal number.
 */
function pythonFloatFromString(text: string): number | undefined {
  const t = text.trim();
  const lower = t.toLowerCase();
  const unsigned = lower[0] === "+" || lower[0] === "-" ? lower.slice(1) : lower;
  if (unsigned === "nan") return NaN;
  if (unsigned === "inf" || unsigned === "infinity") return lower[0] === "-" ? -Infinity : Infinity;
  if (
    /^[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?$/.test(t)
  ) {
    return Number(t.replaceAll("_", ""));
  }
  return undefined;
}

/** The expression level: values, containers, class dicts; tokens come from the lexer. */
class Parser extends SerpentLexer {
  readonly #classes: ClassRegistry;
  readonly #maxDepth: number;
  readonly #keys: KeyCache;
  /** Whether the value parsed last is a list, dict or set (or a tuple holding one). */
  #unhashable = false;

  /**
   * @param text the decoded input followed by PADDING NUL characters
   * @param settings class registry and depth limit
   * @param keys the decoder's dict key cache
   */
  constructor(text: string, settings: SerpentDecoderSettings, keys: KeyCache) {
    super(text);
    this.#classes = settings.classes;
    this.#maxDepth = settings.maxDepth;
    this.#keys = keys;
  }

  /** The whole document: one value (or a bare tuple), then only blanks and comments. */
  parse(): unknown {
    const src = this.src;
    // ast.literal_eval strips leading spaces and tabs.
    let pos = 0;
    while (pos < this.len) {
      const c = src.charCodeAt(pos);
      if (c !== SPACE && c !== TAB) break;
      pos++;
    }
    this.pos = pos;
    this.skipBlankLines();
    if (this.pos >= this.len) this.fail("no value");
    let value = this.#expr();
    this.skipWs();
    if (src.charCodeAt(this.pos) === COMMA) value = this.#bareTuple(value);
    this.skipTrailing();
    return value;
  }

  #enter(): void {
    if (++this.depth > this.#maxDepth) {
      this.fail(`nesting deeper than ${this.#maxDepth} levels`);
    }
  }

  /** A value, with an optional unary sign and the complex `a+bj` form. */
  #expr(): unknown {
    // The common atoms first, without the unary and complex checks.
    const c = this.src.charCodeAt(this.pos);
    if (c === QUOTE || c === DQUOTE) return this.#strings();
    if (c === LBRACE) return this.#brace();
    if (c === LBRACKET) return this.#list();
    const value = c === PLUS || c === MINUS ? this.#unary() : this.#atom();
    const kind = this.kind;
    if (kind === K_INT || kind === K_FLOAT || kind === K_SIGNED_REAL) {
      this.skipWs();
      const c = this.src.charCodeAt(this.pos);
      if (c === PLUS || c === MINUS) return this.#complexTail(value as number | bigint, c);
    }
    return value;
  }

  #complexTail(left: number | bigint, op: number): PyComplex {
    const opAt = this.pos;
    this.pos++;
    this.skipWs();
    let sign = 0;
    const c = this.src.charCodeAt(this.pos);
    if (c === PLUS || c === MINUS) {
      sign = c;
      this.pos++;
      this.skipWs();
    }
    const right = this.#atom();
    if (this.kind !== K_IMAG) this.fail("only a complex number a+bj may use + or -", opAt);
    const b = (right as PyComplex).imag;
    const real = typeof left === "bigint" ? Number(left) : left;
    if (!Number.isFinite(real) && typeof left === "bigint") {
      this.fail("int too large to convert to float", opAt);
    }
    let imag: number;
    if (sign === 0) imag = op === PLUS ? 0 + b : 0 - b; // Python's own arithmetic
    else imag = (op === PLUS) === (sign === PLUS) ? b : -b;
    this.kind = K_COMPLEX;
    this.#unhashable = false;
    return new PyComplex(op === PLUS ? real + 0 : real - 0, imag);
  }

  /** At a + or -: the signed number after it. */
  #unary(): unknown {
    const c = this.src.charCodeAt(this.pos);
    const at = this.pos;
    this.pos++;
    this.skipWs();
    const value = this.#atom();
    const negate = c === MINUS;
    switch (this.kind) {
      case K_INT:
        this.kind = K_SIGNED_REAL;
        if (!negate) return value;
        if (typeof value === "bigint") return fromPythonInt(-value);
        return value === 0 ? 0 : -(value as number);
      case K_FLOAT:
        this.kind = K_SIGNED_REAL;
        return negate ? -(value as number) : value;
      case K_IMAG: {
        this.kind = K_SIGNED_IMAG;
        const z = value as PyComplex;
        return negate ? new PyComplex(-z.real, -z.imag) : z;
      }
      default:
        return this.fail("a unary + or - applies to a number only", at);
    }
  }

  #atom(): unknown {
    const c = this.src.charCodeAt(this.pos);
    if (c === QUOTE || c === DQUOTE) return this.#strings();
    if ((c >= ZERO && c <= NINE) || c === DOT) {
      this.#unhashable = false;
      return this.number();
    }
    if (c === LBRACKET) return this.#list();
    if (c === LBRACE) return this.#brace();
    if (c === LPAREN) return this.#paren();
    if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === UNDERSCORE) return this.#word();
    return this.fail(describe(this.src, this.pos, this.len));
  }

  #word(): unknown {
    const src = this.src;
    const start = this.pos;
    let pos = start;
    while (pos < this.len && isNameChar(src.charCodeAt(pos))) pos++;
    const n = pos - start;
    const next = src.charCodeAt(pos);
    if ((next === QUOTE || next === DQUOTE) && n <= 2 && this.prefixLength(start) === n) {
      return this.#strings();
    }
    this.kind = K_OTHER;
    this.#unhashable = false;
    this.pos = pos;
    const c0 = src.charCodeAt(start);
    if (n === 4) {
      const c1 = src.charCodeAt(start + 1);
      const c2 = src.charCodeAt(start + 2);
      const c3 = src.charCodeAt(start + 3);
      if (c0 === 78 && c1 === 111 && c2 === 110 && c3 === 101) return null; // None
      if (c0 === 84 && c1 === 114 && c2 === 117 && c3 === 101) return true; // True
    } else if (n === 5 && c0 === 70 && src.startsWith("alse", start + 1)) {
      return false;
    }
    return this.fail(`name '${src.slice(start, pos)}' is not allowed`, start);
  }

  /** One or more adjacent string literals, concatenated. */
  #strings(): unknown {
    let value = this.literal();
    let byteParts: Uint8Array[] | null = null; // joined once at the end: no quadratic copying
    for (;;) {
      const next = this.src.charCodeAt(this.pos);
      // Only whitespace, a comment, a continuation or another literal can come next to join.
      if (
        next > HASH && next !== BACKSLASH && next !== QUOTE &&
        !((next | 0x20) >= 97 && (next | 0x20) <= 122)
      ) break;
      const before = this.pos;
      this.skipWs();
      const c = this.src.charCodeAt(this.pos);
      const isStart = c === QUOTE || c === DQUOTE ||
        (((c | 0x20) >= 97 && (c | 0x20) <= 122) && this.prefixLength(this.pos) > 0);
      if (!isStart) {
        this.pos = before;
        break;
      }
      const at = this.pos;
      const more = this.literal();
      if (typeof value === "string") {
        if (typeof more !== "string") this.fail("cannot mix bytes and nonbytes literals", at);
        value += more;
      } else {
        if (typeof more === "string") this.fail("cannot mix bytes and nonbytes literals", at);
        (byteParts ??= [value]).push(more);
      }
    }
    if (byteParts !== null) value = concatBytes(byteParts);
    this.kind = K_OTHER;
    this.#unhashable = false;
    return value;
  }

  /** `(`: the empty tuple, a parenthesized value, or a tuple. */
  #paren(): unknown {
    const src = this.src;
    this.pos++;
    this.#enter();
    this.skipWs();
    if (src.charCodeAt(this.pos) === RPAREN) {
      this.pos++;
      this.depth--;
      this.kind = K_OTHER;
      this.#unhashable = false;
      return asTuple([]);
    }
    const first = this.#expr();
    this.skipWs();
    let c = src.charCodeAt(this.pos);
    if (c === RPAREN) {
      // Parentheses around a value add nothing: its kind stays.
      this.pos++;
      this.depth--;
      return first;
    }
    if (c !== COMMA) this.fail(`${describe(src, this.pos, this.len)}: expected ',' or ')'`);
    const items: unknown[] = [first];
    let unhashable = this.#unhashable;
    for (;;) {
      this.pos++; // the comma
      this.skipWs();
      if (src.charCodeAt(this.pos) === RPAREN) break;
      items.push(this.#expr());
      if (this.#unhashable) unhashable = true;
      this.skipWs();
      c = src.charCodeAt(this.pos);
      if (c === RPAREN) break;
      if (c !== COMMA) this.fail(`${describe(src, this.pos, this.len)}: expected ',' or ')'`);
    }
    this.pos++;
    this.depth--;
    this.kind = K_OTHER;
    this.#unhashable = unhashable;
    return asTuple(items);
  }

  /** A top-level tuple without parentheses: `1, 2`. */
  #bareTuple(first: unknown): PyTuple {
    const src = this.src;
    const items: unknown[] = [first];
    while (src.charCodeAt(this.pos) === COMMA) {
      this.pos++;
      this.skipWs();
      const c = src.charCodeAt(this.pos);
      if (this.pos >= this.len || c === LF || c === CR) break;
      items.push(this.#expr());
      this.skipWs();
    }
    return asTuple(items);
  }

  #list(): unknown[] {
    const src = this.src;
    this.pos++;
    this.#enter();
    const items: unknown[] = [];
    this.skipWs();
    if (src.charCodeAt(this.pos) !== RBRACKET) {
      for (;;) {
        items.push(this.#expr());
        this.skipWs();
        const c = src.charCodeAt(this.pos);
        if (c === RBRACKET) break;
        if (c !== COMMA) this.fail(`${describe(src, this.pos, this.len)}: expected ',' or ']'`);
        this.pos++;
        this.skipWs();
        if (src.charCodeAt(this.pos) === RBRACKET) break;
      }
    }
    this.pos++;
    this.depth--;
    this.kind = K_OTHER;
    this.#unhashable = true;
    return items;
  }

  /** `{`: a dict or a set. */
  #brace(): unknown {
    const src = this.src;
    const start = this.pos;
    this.pos++;
    this.#enter();
    this.skipWs();
    if (src.charCodeAt(this.pos) === RBRACE) {
      this.pos++;
      this.depth--;
      this.kind = K_OTHER;
      this.#unhashable = true;
      return {};
    }
    const keyAt = this.pos;
    const first = this.#expr();
    if (this.#unhashable) this.fail("unhashable dict key or set element", keyAt);
    this.skipWs();
    const result = src.charCodeAt(this.pos) === COLON
      ? this.#dictRest(first, start)
      : this.#setRest(first);
    this.depth--;
    this.kind = K_OTHER;
    this.#unhashable = true;
    return result;
  }

  #setRest(first: unknown): Set<unknown> {
    const src = this.src;
    const set = new Set<unknown>();
    set.add(first);
    for (;;) {
      const c = src.charCodeAt(this.pos);
      if (c === RBRACE) break;
      if (c !== COMMA) this.fail(`${describe(src, this.pos, this.len)}: expected ',' or '}'`);
      this.pos++;
      this.skipWs();
      if (src.charCodeAt(this.pos) === RBRACE) break;
      const at = this.pos;
      const item = this.#expr();
      if (this.#unhashable) this.fail("unhashable set element", at);
      set.add(item);
      this.skipWs();
    }
    this.pos++;
    return set;
  }

  #dictRest(firstKey: unknown, start: number): unknown {
    const src = this.src;
    let obj: PyStringDict = {};
    let map: Map<unknown, unknown> | null = null;
    // Insertion order of the string keys, kept once a key may be an array index (JavaScript
    // lists those first), for a later switch to a Map.
    let order: string[] | null = null;
    let key = firstKey;
    for (;;) {
      this.pos++; // the colon
      this.skipWs();
      const value = this.#expr();
      if (map === null && typeof key === "string") {
        if (order === null) {
          const k0 = key.charCodeAt(0);
          if (k0 >= ZERO && k0 <= NINE) order = Object.keys(obj);
        }
        if (order !== null && !Object.hasOwn(obj, key)) order.push(key);
        if (key === "__proto__") setDictItem(obj, key, value);
        else obj[this.#keys.get(key)] = value;
      } else {
        if (map === null) {
          map = new Map();
          for (const k of order ?? Object.keys(obj)) map.set(k, obj[k]);
        }
        map.set(key, value);
      }
      this.skipWs();
      let c = src.charCodeAt(this.pos);
      if (c === RBRACE) break;
      if (c !== COMMA) this.fail(`${describe(src, this.pos, this.len)}: expected ',' or '}'`);
      this.pos++;
      this.skipWs();
      if (src.charCodeAt(this.pos) === RBRACE) break;
      const keyAt = this.pos;
      key = this.#expr();
      if (this.#unhashable) this.fail("unhashable dict key", keyAt);
      this.skipWs();
      c = src.charCodeAt(this.pos);
      if (c !== COLON) {
        this.fail(`${describe(src, this.pos, this.len)}: ':' expected after dictionary key`);
      }
    }
    this.pos++;
    if (map !== null) {
      if (!map.has("__class__")) return map;
      obj = {};
      for (const [k, v] of map) if (typeof k === "string") setDictItem(obj, k, v);
      return this.#fromClassDict(obj, start);
    }
    if (Object.hasOwn(obj, "__class__")) return this.#fromClassDict(obj, start);
    if (obj.encoding === "base64" && typeof obj.data === "string") {
      let keys = 0;
      for (const k in obj) if (Object.hasOwn(obj, k)) keys++;
      if (keys === 2) {
        try {
          return Uint8Array.fromBase64(obj.data);
        } catch (error) {
          throw new SerializeError(
            `Invalid serpent data at byte ${utf8Offset(src, start)}: invalid base64 bytes`,
            { cause: error },
          );
        }
      }
    }
    return obj;
  }

  /** A dict with `__class__`: serpent's NaN dict, or the class registry's business. */
  #fromClassDict(dict: PyStringDict, start: number): unknown {
    const name = dict.__class__;
    if (name === "float") {
      // Pyro5: float(data["value"]); serpent writes {'__class__':'float','value':'nan'}.
      const v = dict.value;
      const f = typeof v === "string"
        ? pythonFloatFromString(v)
        : typeof v === "number"
        ? v
        : typeof v === "bigint"
        ? Number(v)
        : undefined;
      if (f === undefined) this.fail("invalid float class dict", start);
      return f;
    }
    try {
      return this.#classes.fromDict(dict);
    } catch (error) {
      if (error instanceof PyroError) throw error;
      throw new SerializeError(
        `Cannot rebuild serialized class ${String(name)}: ${(error as Error)?.message ?? error}`,
        { cause: error },
      );
    }
  }
}
