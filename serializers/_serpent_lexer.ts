/**
 * The serpent lexer: the token level of the serpent decoder (whitespace, comments and line
 * continuations, number literals, string and bytes literals with their escapes), over the
 * decoded text. {@linkcode SerpentLexer} is the base of the parser in `_serpent_decode.ts`.
 * Internal to the serpent serializer.
 *
 * @module
 */
import { SerializeError } from "../errors.ts";
import { MAX_INT_DIGITS } from "./_serpent_encode.ts";
import { fromPythonInt, PyComplex } from "./values.ts";

// What the last parsed value was, for the unary and complex rules of ast.literal_eval.
export const K_OTHER = 0;
export const K_INT = 1; // an int literal
export const K_FLOAT = 2; // a float literal
export const K_IMAG = 3; // an imaginary literal such as 2j
export const K_SIGNED_REAL = 4; // -int / -float
export const K_SIGNED_IMAG = 5; // -2j
export const K_COMPLEX = 6; // a+bj

// Character codes.
export const TAB = 9;
export const LF = 10;
export const FF = 12;
export const CR = 13;
export const SPACE = 32;
export const DQUOTE = 34;
export const HASH = 35;
export const QUOTE = 39;
export const LPAREN = 40;
export const RPAREN = 41;
export const PLUS = 43;
export const COMMA = 44;
export const MINUS = 45;
export const DOT = 46;
export const ZERO = 48;
export const NINE = 57;
export const COLON = 58;
export const LBRACKET = 91;
export const BACKSLASH = 92;
export const RBRACKET = 93;
export const UNDERSCORE = 95;
export const LBRACE = 123;
export const RBRACE = 125;

/** Exact powers of ten, 10^0 to 10^22. */
const POW10: readonly number[] = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

/** NULs appended to the text: more than the parser's furthest look-ahead (`\UXXXXXXXX`). */
export const PADDING = 16;

/** Whether a character code can continue a Python identifier or number (ASCII or beyond). */
export function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= ZERO && c <= NINE) ||
    c === UNDERSCORE || c >= 0x80;
}

function hexValue(c: number): number {
  if (c >= ZERO && c <= NINE) return c - ZERO;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Offset in UTF-8 bytes of a position in the decoded (valid UTF-8) text. */
export function utf8Offset(text: string, at: number): number {
  let bytes = 0;
  for (let i = 0; i < at && i < text.length; i++) {
    const c = text.charCodeAt(i);
    bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdfff ? 2 : 3;
  }
  return bytes;
}

export function describe(text: string, at: number, len: number): string {
  if (at >= len) return "unexpected end of data";
  const cp = text.codePointAt(at)!;
  const shown = cp >= 0x20 && cp < 0x7f ? String.fromCharCode(cp) : `U+${cp.toString(16)}`;
  return `unexpected character '${shown}'`;
}

/**
 * Reads serpent tokens from text that ends with {@linkcode PADDING} NUL characters. The NUL
 * padding lets the lexer look a few characters ahead without reading past the string's end
 * (which makes V8 drop optimized code); the input has no NUL of its own (refused before), and
 * every rule stops at a NUL as at the end.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { PADDING, SerpentLexer } from "./_serpent_lexer.ts";
 * class Numbers extends SerpentLexer {
 *   read(): unknown {
 *     return this.number();
 *   }
 * }
 * assert(new Numbers("0x1_f" + "\0".repeat(PADDING)).read() === 31);
 * ```
 */
export class SerpentLexer {
  /** The text, PADDING NULs included. */
  protected readonly src: string;
  /** Length of the text without the padding. */
  protected readonly len: number;
  /** Where reading goes on. */
  protected pos = 0;
  /** Open brackets: newlines are whitespace only inside them. */
  protected depth = 0;
  /** Kind of the value read last (K_*). */
  protected kind = K_OTHER;

  /** @param text the decoded input followed by PADDING NUL characters */
  constructor(text: string) {
    this.src = text;
    this.len = text.length - PADDING;
  }

  /** Throws a SerializeError naming the byte offset of `at`. */
  protected fail(message: string, at: number = this.pos): never {
    throw new SerializeError(
      `Invalid serpent data at byte ${utf8Offset(this.src, at)}: ${message}`,
    );
  }

  /** Skips blank and comment-only lines before the value; its own line must not be indented. */
  protected skipBlankLines(): void {
    const src = this.src;
    let lineStart = this.pos;
    let afterNewline = false;
    for (;;) {
      let c = src.charCodeAt(this.pos);
      while (c === SPACE || c === TAB || c === FF) c = src.charCodeAt(++this.pos);
      if (c === HASH) {
        while (this.pos < this.len && (c = src.charCodeAt(this.pos)) !== LF && c !== CR) {
          this.pos++;
        }
      }
      if (c === LF || c === CR) {
        this.pos += c === CR && src.charCodeAt(this.pos + 1) === LF ? 2 : 1;
        lineStart = this.pos;
        afterNewline = true;
        continue;
      }
      if (c === BACKSLASH && this.continuation()) {
        afterNewline = false;
        continue;
      }
      break;
    }
    if (afterNewline && this.pos > lineStart && this.pos < this.len) {
      this.fail("unexpected indent");
    }
  }

  /** At a backslash: skips it and its newline when it is a line continuation. */
  protected continuation(): boolean {
    const next = this.src.charCodeAt(this.pos + 1);
    if (next === LF) this.pos += 2;
    else if (next === CR) this.pos += this.src.charCodeAt(this.pos + 2) === LF ? 3 : 2;
    else return false;
    return true;
  }

  /** Skips whitespace and comments; newlines too inside brackets. */
  protected skipWs(): void {
    const src = this.src;
    let pos = this.pos;
    const first = src.charCodeAt(pos);
    if (first > HASH && first !== BACKSLASH) return; // the usual case: nothing to skip
    for (;;) {
      const c = src.charCodeAt(pos);
      if (c === SPACE || c === TAB || c === FF) {
        pos++;
      } else if (c === LF || c === CR) {
        if (this.depth === 0) break;
        pos++;
      } else if (c === HASH) {
        pos++;
        while (pos < this.len) {
          const d = src.charCodeAt(pos);
          if (d === LF || d === CR) break;
          pos++;
        }
      } else if (c === BACKSLASH) {
        this.pos = pos;
        if (!this.continuation()) break;
        pos = this.pos;
      } else {
        break;
      }
    }
    this.pos = pos;
  }

  /** After the value: only whitespace, newlines and comments may follow. */
  protected skipTrailing(): void {
    const src = this.src;
    for (;;) {
      this.skipWs();
      const c = src.charCodeAt(this.pos);
      if (c === LF || c === CR) {
        this.pos++;
        continue;
      }
      if (this.pos >= this.len) return;
      this.fail(`${describe(src, this.pos, this.len)} after the value`);
    }
  }

  /**
   * If a string literal starts at `at`, the length of its prefix (0 to 2), else -1.
   * f-strings count as literals here and are refused when read.
   */
  protected prefixLength(at: number): number {
    const src = this.src;
    let n = 0;
    let seen = 0; // bit 1: r, 2: b, 4: u, 8: f
    for (;;) {
      const c = src.charCodeAt(at + n);
      if (c === QUOTE || c === DQUOTE) return n;
      let bit: number;
      switch (c | 0x20) {
        case 114: // r
          bit = 1;
          break;
        case 98: // b
          bit = 2;
          break;
        case 117: // u
          bit = 4;
          break;
        case 102: // f
          bit = 8;
          break;
        default:
          return -1;
      }
      if (seen & bit) return -1;
      seen |= bit;
      n++;
      // Valid: r u b f br rb fr rf.
      if (n > 2 || (seen & 4 && n > 1) || (seen & 2 && seen & 8)) return -1;
    }
  }

  /** One string or bytes literal, prefix included. */
  protected literal(): string | Uint8Array {
    const src = this.src;
    const start = this.pos;
    let raw = false;
    let bytes = false;
    for (;;) {
      const c = src.charCodeAt(this.pos) | 0x20;
      if (c === 114) raw = true;
      else if (c === 98) bytes = true;
      else if (c === 102) this.fail("f-strings are not literals", start);
      else if (c !== 117) break;
      this.pos++;
    }
    const q = src.charCodeAt(this.pos);
    const triple = src.charCodeAt(this.pos + 1) === q && src.charCodeAt(this.pos + 2) === q;
    this.pos += triple ? 3 : 1;
    return bytes ? this.#bytesBody(q, triple, raw, start) : this.#strBody(q, triple, raw, start);
  }

  /** Whether the closing quote(s) are at the position of a quote char `q`. */
  #closes(q: number, triple: boolean, at: number): boolean {
    return !triple ||
      (this.src.charCodeAt(at + 1) === q && this.src.charCodeAt(at + 2) === q);
  }

  #strBody(q: number, triple: boolean, raw: boolean, start: number): string {
    const src = this.src;
    const len = this.len;
    let pos = this.pos;
    const bodyStart = pos;
    // Fast path: no escapes, no line ends to translate.
    while (pos < len) {
      const c = src.charCodeAt(pos);
      if (c === q) {
        if (this.#closes(q, triple, pos)) {
          this.pos = pos + (triple ? 3 : 1);
          return src.slice(bodyStart, pos);
        }
      } else if (c === BACKSLASH || c === CR || (c === LF && !triple)) {
        break;
      }
      pos++;
    }
    // Slow path: text is built in pieces.
    let out = src.slice(bodyStart, pos);
    let chunk = pos;
    for (;;) {
      if (pos >= len) {
        this.fail(triple ? "unterminated triple-quoted string" : "unterminated string", start);
      }
      const c = src.charCodeAt(pos);
      if (c === q) {
        if (this.#closes(q, triple, pos)) {
          this.pos = pos + (triple ? 3 : 1);
          return out + src.slice(chunk, pos);
        }
        pos++;
      } else if (c === LF) {
        if (!triple) this.fail("unterminated string", start);
        pos++;
      } else if (c === CR) {
        if (!triple) this.fail("unterminated string", start);
        // Python reads \r\n and \r in source as \n.
        out += src.slice(chunk, pos) + "\n";
        pos += src.charCodeAt(pos + 1) === LF ? 2 : 1;
        chunk = pos;
      } else if (c === BACKSLASH) {
        out += src.slice(chunk, pos);
        const e = src.charCodeAt(pos + 1);
        if (pos + 1 >= len) {
          this.fail(triple ? "unterminated triple-quoted string" : "unterminated string", start);
        }
        if (raw) {
          // The backslash stays, and the next character is taken as it is (even a quote).
          if (e === CR) {
            out += "\\\n";
            pos += src.charCodeAt(pos + 2) === LF ? 3 : 2;
          } else {
            out += "\\" + src[pos + 1];
            pos += 2;
          }
        } else {
          pos = this.#strEscape(e, pos);
          out += this.#escaped;
        }
        chunk = pos;
      } else {
        pos++;
      }
    }
  }

  /** Text of the escape decoded last (set by #strEscape / #bytesEscape). */
  #escaped = "";

  /** Decodes the escape at `pos` (a backslash, then `e`) into #escaped; returns the next position. */
  #strEscape(e: number, pos: number): number {
    const src = this.src;
    switch (e) {
      case LF:
        this.#escaped = "";
        return pos + 2;
      case CR:
        this.#escaped = "";
        return pos + (src.charCodeAt(pos + 2) === LF ? 3 : 2);
      case BACKSLASH:
      case QUOTE:
      case DQUOTE:
        this.#escaped = src[pos + 1];
        return pos + 2;
      case 97: // a
        this.#escaped = "\x07";
        return pos + 2;
      case 98: // b
        this.#escaped = "\b";
        return pos + 2;
      case 102: // f
        this.#escaped = "\f";
        return pos + 2;
      case 110: // n
        this.#escaped = "\n";
        return pos + 2;
      case 114: // r
        this.#escaped = "\r";
        return pos + 2;
      case 116: // t
        this.#escaped = "\t";
        return pos + 2;
      case 118: // v
        this.#escaped = "\v";
        return pos + 2;
      case 120: // x
        this.#escaped = String.fromCharCode(this.#hexDigits(pos, 2, "\\xXX"));
        return pos + 4;
      case 117: // u
        this.#escaped = String.fromCharCode(this.#hexDigits(pos, 4, "\\uXXXX"));
        return pos + 6;
      case 85: { // U
        const cp = this.#hexDigits(pos, 8, "\\UXXXXXXXX");
        if (cp > 0x10ffff) this.fail("illegal Unicode character in \\U escape", pos);
        this.#escaped = String.fromCodePoint(cp);
        return pos + 10;
      }
      case 78: // N
        return this.fail("\\N{...} escapes are not supported", pos);
    }
    if (e >= ZERO && e <= 55) {
      const [value, next] = this.#octal(pos);
      this.#escaped = String.fromCharCode(value);
      return next;
    }
    // Unknown escapes keep their backslash; the next character is read normally.
    this.#escaped = "\\";
    return pos + 1;
  }

  /** The value of `count` hex digits after a backslash and letter at `pos`. */
  #hexDigits(pos: number, count: number, form: string): number {
    let value = 0;
    for (let i = 0; i < count; i++) {
      const h = hexValue(this.src.charCodeAt(pos + 2 + i));
      if (h < 0) this.fail(`truncated ${form} escape`, pos);
      value = value * 16 + h;
    }
    return value;
  }

  /** 1 to 3 octal digits after the backslash at `pos`: [value, next position]. */
  #octal(pos: number): [number, number] {
    let value = 0;
    let p = pos + 1;
    for (let i = 0; i < 3; i++) {
      const c = this.src.charCodeAt(p);
      if (c < ZERO || c > 55) break;
      value = value * 8 + (c - ZERO);
      p++;
    }
    return [value, p];
  }

  #bytesBody(q: number, triple: boolean, raw: boolean, start: number): Uint8Array {
    const src = this.src;
    const len = this.len;
    const out: number[] = [];
    let pos = this.pos;
    for (;;) {
      if (pos >= len) {
        this.fail(triple ? "unterminated triple-quoted string" : "unterminated string", start);
      }
      const c = src.charCodeAt(pos);
      if (c === q && this.#closes(q, triple, pos)) {
        this.pos = pos + (triple ? 3 : 1);
        return new Uint8Array(out);
      }
      if (c >= 0x80) this.fail("bytes can only contain ASCII literal characters", pos);
      if (c === LF || c === CR) {
        if (!triple) this.fail("unterminated string", start);
        out.push(LF);
        pos += c === CR && src.charCodeAt(pos + 1) === LF ? 2 : 1;
        continue;
      }
      if (c !== BACKSLASH) {
        out.push(c);
        pos++;
        continue;
      }
      const e = src.charCodeAt(pos + 1);
      if (pos + 1 >= len) {
        this.fail(triple ? "unterminated triple-quoted string" : "unterminated string", start);
      }
      if (e >= 0x80) this.fail("bytes can only contain ASCII literal characters", pos + 1);
      if (raw) {
        out.push(BACKSLASH);
        if (e === CR) {
          out.push(LF);
          pos += src.charCodeAt(pos + 2) === LF ? 3 : 2;
        } else {
          out.push(e);
          pos += 2;
        }
        continue;
      }
      if (e === 120) { // \x
        out.push(this.#hexDigits(pos, 2, "\\xXX"));
        pos += 4;
      } else if (e >= ZERO && e <= 55) {
        const [value, next] = this.#octal(pos);
        out.push(value & 0xff);
        pos = next;
      } else if (e === 117 || e === 85 || e === 78) { // \u \U \N mean nothing in bytes
        out.push(BACKSLASH);
        pos++;
      } else {
        pos = this.#strEscape(e, pos);
        const text = this.#escaped;
        for (let i = 0; i < text.length; i++) out.push(text.charCodeAt(i));
      }
    }
  }

  protected number(): unknown {
    const src = this.src;
    const start = this.pos;
    const first = src.charCodeAt(start);
    const second = src.charCodeAt(start + 1) | 0x20;
    if (first === ZERO && (second === 120 || second === 111 || second === 98)) {
      return this.#radixInt(second === 120 ? 16 : second === 111 ? 8 : 2);
    }
    if (
      first === DOT && !(src.charCodeAt(start + 1) >= ZERO && src.charCodeAt(start + 1) <= NINE)
    ) {
      if (src.startsWith("...", start)) this.fail("Ellipsis is not supported");
      this.fail(describe(src, start, this.len));
    }
    // The digits are accumulated as they come (exact while there are at most 15).
    let mantissa = 0;
    let digits = 0;
    let pos = this.#digits(start, start);
    const intDigits = this.#runDigits;
    mantissa = this.#runValue;
    digits = intDigits;
    let underscores = this.#runUnderscores;
    let isFloat = false;
    let fraction = 0;
    let exponent = 0;
    let c = src.charCodeAt(pos);
    if (c === DOT) {
      isFloat = true;
      pos = this.#digits(pos + 1, start);
      fraction = this.#runDigits;
      if (fraction > 0) {
        mantissa = digits + fraction <= 15 ? mantissa * POW10[fraction] + this.#runValue : NaN;
      }
      digits += fraction;
      if (this.#runUnderscores) underscores = true;
      c = src.charCodeAt(pos);
    }
    if ((c | 0x20) === 101) { // e / E
      isFloat = true;
      pos++;
      c = src.charCodeAt(pos);
      const negative = c === MINUS;
      if (c === PLUS || c === MINUS) pos++;
      pos = this.#digits(pos, start);
      if (this.#runDigits === 0) this.fail("invalid decimal literal", start);
      exponent = this.#runDigits <= 15 ? this.#runValue : Infinity;
      if (negative) exponent = -exponent;
      if (this.#runUnderscores) underscores = true;
      c = src.charCodeAt(pos);
    }
    let imaginary = false;
    if ((c | 0x20) === 106) { // j / J
      imaginary = true;
      pos++;
      c = src.charCodeAt(pos);
    }
    if (isNameChar(c)) this.fail("invalid decimal literal", start);
    this.pos = pos;
    if (!isFloat && !imaginary) {
      this.kind = K_INT;
      if (first === ZERO && (digits <= 15 ? mantissa !== 0 : /[1-9]/.test(src.slice(start, pos)))) {
        this.fail("leading zeros in decimal integer literals are not permitted", start);
      }
      if (digits <= 15) return mantissa;
      if (digits > MAX_INT_DIGITS) {
        this.fail(
          `Exceeds the limit (${MAX_INT_DIGITS} digits) for integer string conversion: value has ${digits} digits`,
          start,
        );
      }
      let text = src.slice(start, pos);
      if (underscores) text = text.replaceAll("_", "");
      return fromPythonInt(BigInt(text));
    }
    let value: number;
    const scale = exponent - fraction;
    if (digits <= 15 && scale >= -22 && scale <= 22) {
      // Exact mantissa and power of ten: one correctly rounded operation (Clinger's fast path).
      value = scale < 0 ? mantissa / POW10[-scale] : mantissa * POW10[scale];
    } else {
      let text = src.slice(start, imaginary ? pos - 1 : pos);
      if (underscores) text = text.replaceAll("_", "");
      value = Number(text);
    }
    if (imaginary) {
      this.kind = K_IMAG;
      return new PyComplex(0, value);
    }
    this.kind = K_FLOAT;
    return value;
  }

  /** Digit count, value (exact up to 15 digits) and underscores of the last #digits run. */
  #runDigits = 0;

  #runValue = 0;

  #runUnderscores = false;

  /**
   * Reads decimal digits with single underscores between them from `pos`; returns the end.
   * `start` is the literal's start, for errors.
   */
  #digits(pos: number, start: number): number {
    const src = this.src;
    let count = 0;
    let value = 0;
    let underscores = false;
    for (;;) {
      const c = src.charCodeAt(pos);
      if (c >= ZERO && c <= NINE) {
        if (count < 15) value = value * 10 + (c - ZERO);
        count++;
        pos++;
      } else if (c === UNDERSCORE && count > 0) {
        const d = src.charCodeAt(pos + 1);
        if (!(d >= ZERO && d <= NINE)) this.fail("invalid decimal literal", start);
        underscores = true;
        pos++;
      } else {
        break;
      }
    }
    this.#runDigits = count;
    this.#runValue = value;
    this.#runUnderscores = underscores;
    return pos;
  }

  #radixInt(radix: number): number | bigint {
    const src = this.src;
    const start = this.pos;
    let pos = start + 2;
    let digits = 0;
    const name = radix === 16 ? "hexadecimal" : radix === 8 ? "octal" : "binary";
    for (;;) {
      let c = src.charCodeAt(pos);
      if (c === UNDERSCORE) {
        c = src.charCodeAt(++pos);
        const v = hexValue(c);
        if (v < 0 || v >= radix) this.fail(`invalid ${name} literal`, start);
      }
      const v = hexValue(c);
      if (v < 0 || v >= radix) break;
      digits++;
      pos++;
    }
    if (digits === 0 || isNameChar(src.charCodeAt(pos))) {
      this.fail(`invalid ${name} literal`, start);
    }
    this.pos = pos;
    this.kind = K_INT;
    return fromPythonInt(BigInt(src.slice(start, pos).replaceAll("_", "")));
  }
}
