/**
 * Python regular expressions (as Pyro5's name server gets them from Python clients) translated to
 * JavaScript `RegExp`s with the same meaning, matched like Python's `re.match`: anchored at the
 * start of the name, not at its end.
 *
 * Translated: literals and escapes (`\x`, `\u`, `\U`, octal, `\a`...), `.` (no newline unless
 * DOTALL), `^` `$` `\A` `\Z` (with Python's `$`-before-final-newline rule and MULTILINE),
 * Unicode `\d` `\w` `\s` `\b` and their negations (ASCII with the `a` flag), classes (a leading
 * `]` is literal), greedy and lazy quantifiers including `{,n}` and a literal `{`, groups,
 * `(?P<name>…)`, `(?P=name)`, numbered backreferences, lookahead and lookbehind, comments,
 * global and scoped inline flags `a i m s u x` (verbose mode included).
 * Refused with a NamingError, because JavaScript has no equivalent: possessive quantifiers,
 * atomic groups, conditional groups, `\N{…}` names and the `L` flag. Errors Python would raise
 * (bad escape, unbalanced parenthesis, nothing to repeat...) are NamingErrors too.
 *
 * @module
 */
import { NamingError } from "../errors.ts";

const WORD = String.raw`\p{L}\p{N}_`;
const ASCII_WORD = "a-zA-Z0-9_";
const SPACE = String.raw`\t-\r\u{1c}-\u{20}\u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}` +
  String.raw`\u{202f}\u{205f}\u{3000}`;
const ASCII_SPACE = String.raw`\t-\r\u{20}`;
const PY_WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d, 0x0b, 0x0c]);
const MAX_REPEAT = 65535;

interface Flags {
  ascii: boolean;
  dotAll: boolean;
  multiline: boolean;
  verbose: boolean;
}

interface Frame {
  /** The flags in force outside the group, restored when it closes. */
  outer: Flags;
  close: string;
  group: number | null;
  start: number;
}

type Last = "none" | "atom" | "anchor" | "repeat";

function isDigit(cp: number | undefined): boolean {
  return cp !== undefined && cp >= 0x30 && cp <= 0x39;
}
function isOctal(cp: number | undefined): boolean {
  return cp !== undefined && cp >= 0x30 && cp <= 0x37;
}
function isHex(cp: number | undefined): boolean {
  return cp !== undefined &&
    (isDigit(cp) || (cp >= 0x41 && cp <= 0x46) || (cp >= 0x61 && cp <= 0x66));
}
function isAsciiLetter(cp: number): boolean {
  return (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
}

/** One code point as a JavaScript regex atom, valid inside and outside `v`-mode classes. */
function literal(cp: number): string {
  if (isAsciiLetter(cp) || isDigit(cp) || cp === 0x5f) return String.fromCodePoint(cp);
  return `\\u{${cp.toString(16)}}`;
}

const FLAG_LETTERS = new Set(["a", "i", "L", "m", "s", "u", "x"]);

/** A single-pass translator over the pattern's code points. */
class Translator {
  readonly #cps: number[];
  readonly #pattern: string;
  #pos = 0;
  #out: string[] = [];
  #ignoreCase = false;
  #flags: Flags = { ascii: false, dotAll: false, multiline: false, verbose: false };
  #stack: Frame[] = [];
  #groups = 0;
  #closed = new Set<number>();
  #names = new Map<string, number>();
  #last: Last = "none";

  constructor(pattern: string) {
    this.#pattern = pattern;
    this.#cps = Array.from(pattern, (c) => c.codePointAt(0)!);
  }

  #error(message: string, position = this.#pos): NamingError {
    return new NamingError(`invalid regex: ${message} at position ${position}`);
  }

  #refuse(what: string, position: number): NamingError {
    return new NamingError(
      `invalid regex: ${what} at position ${position} cannot be translated to a JavaScript regex`,
    );
  }

  #peek(offset = 0): number | undefined {
    return this.#cps[this.#pos + offset];
  }

  #match(char: string): boolean {
    if (this.#cps[this.#pos] === char.codePointAt(0)) {
      this.#pos++;
      return true;
    }
    return false;
  }

  #char(cp: number | undefined): string {
    return cp === undefined ? "" : String.fromCodePoint(cp);
  }

  #emit(text: string, last: Last): void {
    this.#out.push(text);
    this.#last = last;
  }

  translate(): RegExp {
    const cps = this.#cps;
    while (this.#pos < cps.length) {
      const start = this.#pos;
      const cp = cps[this.#pos++];
      if (this.#flags.verbose) {
        if (PY_WHITESPACE.has(cp)) continue;
        if (cp === 0x23) { // '#': comment to the end of the line
          while (this.#pos < cps.length && cps[this.#pos] !== 0x0a) this.#pos++;
          continue;
        }
      }
      switch (cp) {
        case 0x7c: // |
          this.#emit("|", "none");
          break;
        case 0x28: // (
          this.#openGroup(start);
          break;
        case 0x29: { // )
          const frame = this.#stack.pop();
          if (!frame) throw this.#error("unbalanced parenthesis", start);
          if (frame.group !== null) this.#closed.add(frame.group);
          this.#flags = frame.outer;
          this.#emit(frame.close, "atom");
          break;
        }
        case 0x5b: // [
          this.#emit(this.#characterClass(start), "atom");
          break;
        case 0x2e: // .
          this.#emit(this.#flags.dotAll ? String.raw`[\s\S]` : String.raw`[^\n]`, "atom");
          break;
        case 0x5e: // ^
          this.#emit(this.#flags.multiline ? String.raw`(?<![^\n])` : "^", "anchor");
          break;
        case 0x24: // $
          this.#emit(
            this.#flags.multiline ? String.raw`(?![^\n])` : String.raw`(?=\n?$)`,
            "anchor",
          );
          break;
        case 0x2a: // *
        case 0x2b: // +
        case 0x3f: // ?
          this.#quantifier(String.fromCodePoint(cp), start);
          break;
        case 0x7b: { // {
          const braces = this.#braces();
          if (braces === undefined) this.#emit(literal(cp), "atom");
          else this.#quantifier(braces, start);
          break;
        }
        case 0x5c: // backslash
          this.#escape(start);
          break;
        default:
          this.#emit(literal(cp), "atom");
      }
    }
    if (this.#stack.length > 0) {
      throw this.#error("missing ), unterminated subpattern", this.#stack.at(-1)!.start);
    }
    const source = `^(?:${this.#out.join("")})`;
    try {
      return new RegExp(source, this.#ignoreCase ? "iv" : "v");
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const reason = message.slice(message.lastIndexOf(":") + 1).trim() || message;
      throw new NamingError(`invalid regex: ${reason}`, { cause: error });
    }
  }

  #openGroup(start: number): void {
    if (!this.#match("?")) {
      const group = ++this.#groups;
      this.#push("(", ")", group, start);
      return;
    }
    const kind = this.#peek();
    if (kind === undefined) throw this.#error("unexpected end of pattern");
    this.#pos++;
    const c = String.fromCodePoint(kind);
    if (c === "P") {
      if (this.#match("<")) {
        const name = this.#until(">", "group name");
        this.#checkName(name, start);
        if (this.#names.has(name)) {
          throw this.#error(`redefinition of group name '${name}' as group ${this.#groups + 1}`);
        }
        const group = ++this.#groups;
        this.#names.set(name, group);
        this.#push(`(?<${name}>`, ")", group, start);
      } else if (this.#match("=")) {
        const name = this.#until(")", "group name");
        this.#checkName(name, start);
        const group = this.#names.get(name);
        if (group === undefined) throw this.#error(`unknown group name '${name}'`);
        if (!this.#closed.has(group)) throw this.#error("cannot refer to an open group");
        this.#emit(`(?:\\k<${name}>)`, "atom");
      } else {
        throw this.#error(`unknown extension ?P${this.#char(this.#peek())}`, start + 1);
      }
    } else if (c === ":") {
      this.#push("(?:", ")", null, start);
    } else if (c === "#") {
      while (true) {
        const next = this.#peek();
        if (next === undefined) throw this.#error("missing ), unterminated comment", start);
        this.#pos++;
        if (next === 0x29) break;
      }
    } else if (c === "=" || c === "!") {
      this.#push(`(?:(?${c}`, "))", null, start);
    } else if (c === "<") {
      const dir = this.#peek();
      if (dir !== 0x3d && dir !== 0x21) {
        throw this.#error(`unknown extension ?<${this.#char(dir)}`, start + 1);
      }
      this.#pos++;
      this.#push(`(?:(?<${this.#char(dir)}`, "))", null, start);
    } else if (c === "(") {
      throw this.#refuse("a conditional group (?(...)", start);
    } else if (c === ">") {
      throw this.#refuse("an atomic group (?>...)", start);
    } else if (FLAG_LETTERS.has(c) || c === "-") {
      this.#inlineFlags(c, start);
    } else {
      throw this.#error(`unknown extension ?${c}`, start + 1);
    }
  }

  #push(open: string, close: string, group: number | null, start: number): void {
    this.#stack.push({ outer: this.#flags, close, group, start });
    this.#emit(open, "none");
  }

  #until(terminator: string, what: string): string {
    const begin = this.#pos;
    const end = this.#cps.indexOf(terminator.codePointAt(0)!, begin);
    if (end < 0) throw this.#error(`missing ${terminator}, unterminated name`, begin);
    if (end === begin) throw this.#error(`missing ${what}`, begin);
    this.#pos = end + 1;
    return String.fromCodePoint(...this.#cps.slice(begin, end));
  }

  #checkName(name: string, position: number): void {
    if (!/^[\p{XID_Start}_][\p{XID_Continue}]*$/u.test(name)) {
      throw this.#error(`bad character in group name '${name}'`, position);
    }
  }

  #inlineFlags(first: string, start: number): void {
    const add = new Set<string>();
    const del = new Set<string>();
    let c = first;
    if (c !== "-") {
      while (true) {
        if (c === "L") {
          throw this.#error("bad inline flags: cannot use 'L' flag with a str pattern");
        }
        add.add(c);
        if (add.has("a") && add.has("u")) {
          throw this.#error("bad inline flags: flags 'a', 'u' and 'L' are incompatible");
        }
        const next = this.#peek();
        if (next === undefined) throw this.#error("missing -, : or )");
        this.#pos++;
        c = String.fromCodePoint(next);
        if (c === ")" || c === "-" || c === ":") break;
        if (!FLAG_LETTERS.has(c)) {
          throw this.#error(/\p{L}/u.test(c) ? "unknown flag" : "missing -, : or )");
        }
      }
    }
    if (c === ")") {
      // A global flag group: only at the very start (Python 3.11 refuses it elsewhere).
      if (this.#stack.length > 0 || this.#out.length > 0) {
        throw this.#error("global flags not at the start of the expression", start);
      }
      if (add.has("i")) this.#ignoreCase = true;
      this.#flags = this.#apply(this.#flags, add, del);
      return;
    }
    if (c === "-") {
      while (true) {
        const next = this.#peek();
        if (next === undefined) throw this.#error(del.size ? "missing :" : "missing flag");
        this.#pos++;
        c = String.fromCodePoint(next);
        if (c === ":" && del.size > 0) break;
        if (!FLAG_LETTERS.has(c)) {
          throw this.#error(
            /\p{L}/u.test(c) ? "unknown flag" : del.size ? "missing :" : "missing flag",
          );
        }
        if (c === "a" || c === "u" || c === "L") {
          throw this.#error("bad inline flags: cannot turn off flags 'a', 'u' and 'L'");
        }
        del.add(c);
      }
    }
    for (const f of add) {
      if (del.has(f)) throw this.#error("bad inline flags: flag turned on and off");
    }
    const modifiers = (add.has("i") ? "i" : "") + (del.has("i") ? "-i" : "");
    this.#push(`(?${modifiers}:`, ")", null, start);
    this.#flags = this.#apply(this.#flags, add, del);
  }

  #apply(flags: Flags, add: Set<string>, del: Set<string>): Flags {
    return {
      ascii: flags.ascii || add.has("a"),
      dotAll: (flags.dotAll || add.has("s")) && !del.has("s"),
      multiline: (flags.multiline || add.has("m")) && !del.has("m"),
      verbose: (flags.verbose || add.has("x")) && !del.has("x"),
    };
  }

  /** Parses `{m,n}` after a `{`; undefined when Python would take the `{` literally. */
  #braces(): string | undefined {
    const begin = this.#pos;
    if (this.#peek() === 0x7d) return undefined;
    let lo = "";
    let hi = "";
    while (isDigit(this.#peek())) lo += this.#char(this.#cps[this.#pos++]);
    let comma = false;
    if (this.#match(",")) {
      comma = true;
      while (isDigit(this.#peek())) hi += this.#char(this.#cps[this.#pos++]);
    } else {
      hi = lo;
    }
    if (!this.#match("}")) {
      this.#pos = begin;
      return undefined;
    }
    const min = lo ? Number(lo) : 0;
    const max = hi ? Number(hi) : undefined;
    if (min > MAX_REPEAT || (max !== undefined && max > MAX_REPEAT)) {
      throw this.#error("the repetition number is too large", begin - 1);
    }
    if (max !== undefined && max < min) {
      throw this.#error("min repeat greater than max repeat", begin - 1);
    }
    if (!comma) return `{${min}}`;
    return max === undefined ? `{${min},}` : `{${min},${max}}`;
  }

  #quantifier(text: string, start: number): void {
    if (this.#last === "none" || this.#last === "anchor") {
      throw this.#error("nothing to repeat", start);
    }
    if (this.#last === "repeat") throw this.#error("multiple repeat", start);
    let out = text;
    if (this.#match("?")) out += "?";
    else if (this.#peek() === 0x2b) throw this.#refuse("a possessive quantifier", start);
    this.#emit(out, "repeat");
  }

  #category(letter: string, inClass: boolean): string | undefined {
    const ascii = this.#flags.ascii;
    switch (letter) {
      case "d":
        return ascii ? (inClass ? "0-9" : "[0-9]") : String.raw`\p{Nd}`;
      case "D":
        return ascii ? "[^0-9]" : String.raw`\P{Nd}`;
      case "w": {
        const set = ascii ? ASCII_WORD : WORD;
        return inClass ? set : `[${set}]`;
      }
      case "W":
        return `[^${ascii ? ASCII_WORD : WORD}]`;
      case "s": {
        const set = ascii ? ASCII_SPACE : SPACE;
        return inClass ? set : `[${set}]`;
      }
      case "S":
        return `[^${ascii ? ASCII_SPACE : SPACE}]`;
    }
    return undefined;
  }

  /** A `\x..`, `\u....`, `\U........` escape's code point; the letter is already read. */
  #hexEscape(letter: string, start: number): number {
    const digits = letter === "x" ? 2 : letter === "u" ? 4 : 8;
    let text = "";
    while (text.length < digits && isHex(this.#peek())) text += this.#char(this.#cps[this.#pos++]);
    if (text.length !== digits) throw this.#error(`incomplete escape \\${letter}${text}`, start);
    const value = Number.parseInt(text, 16);
    if (value > 0x10ffff) throw this.#error(`bad escape \\${letter}${text}`, start);
    return value;
  }

  #simpleEscape(letter: string): number | undefined {
    switch (letter) {
      case "a":
        return 0x07;
      case "f":
        return 0x0c;
      case "n":
        return 0x0a;
      case "r":
        return 0x0d;
      case "t":
        return 0x09;
      case "v":
        return 0x0b;
      case "\\":
        return 0x5c;
    }
    return undefined;
  }

  #escape(start: number): void {
    const cp = this.#peek();
    if (cp === undefined) throw this.#error("bad escape (end of pattern)", start);
    this.#pos++;
    const letter = String.fromCodePoint(cp);
    const category = this.#category(letter, false);
    if (category !== undefined) return this.#emit(category, "atom");
    switch (letter) {
      case "A":
        return this.#emit("^", "anchor");
      case "Z":
        return this.#emit("$", "anchor");
      case "b":
      case "B":
        return this.#emit(this.#boundary(letter === "b"), "anchor");
      case "x":
      case "u":
      case "U":
        return this.#emit(literal(this.#hexEscape(letter, start)), "atom");
      case "N":
        throw this.#refuse("a named character \\N{...}", start);
    }
    const simple = this.#simpleEscape(letter);
    if (simple !== undefined) return this.#emit(literal(simple), "atom");
    if (letter === "0") {
      let text = "0";
      while (text.length < 3 && isOctal(this.#peek())) text += this.#char(this.#cps[this.#pos++]);
      return this.#emit(literal(Number.parseInt(text, 8)), "atom");
    }
    if (isDigit(cp)) {
      let text = letter;
      if (isDigit(this.#peek())) {
        text += this.#char(this.#cps[this.#pos++]);
        if (isOctal(text.codePointAt(0)) && isOctal(text.codePointAt(1)) && isOctal(this.#peek())) {
          text += this.#char(this.#cps[this.#pos++]);
          const value = Number.parseInt(text, 8);
          if (value > 0o377) {
            throw this.#error(`octal escape value \\${text} outside of range 0-0o377`, start);
          }
          return this.#emit(literal(value), "atom");
        }
      }
      const group = Number(text);
      if (group > this.#groups) throw this.#error(`invalid group reference ${group}`, start + 1);
      if (!this.#closed.has(group)) throw this.#error("cannot refer to an open group", start);
      return this.#emit(`(?:\\${group})`, "atom");
    }
    if (isAsciiLetter(cp)) throw this.#error(`bad escape \\${letter}`, start);
    this.#emit(literal(cp), "atom");
  }

  #boundary(positive: boolean): string {
    if (this.#flags.ascii && !this.#ignoreCase) return positive ? String.raw`\b` : String.raw`\B`;
    const w = `[${this.#flags.ascii ? ASCII_WORD : WORD}]`;
    return positive
      ? `(?:(?<=${w})(?!${w})|(?<!${w})(?=${w}))`
      : `(?:(?<=${w})(?=${w})|(?<!${w})(?!${w}))`;
  }

  /** One class item after its first code point was read: a code point or a set (string). */
  #classItem(cp: number, start: number): number | string {
    if (cp !== 0x5c) return cp;
    const next = this.#peek();
    if (next === undefined) throw this.#error("unterminated character set", start);
    this.#pos++;
    const letter = String.fromCodePoint(next);
    const category = this.#category(letter, true);
    if (category !== undefined) return category;
    if (letter === "b") return 0x08;
    if (letter === "x" || letter === "u" || letter === "U") {
      return this.#hexEscape(letter, this.#pos - 2);
    }
    if (letter === "N") throw this.#refuse("a named character \\N{...}", this.#pos - 2);
    const simple = this.#simpleEscape(letter);
    if (simple !== undefined) return simple;
    if (isOctal(next)) {
      let text = letter;
      while (text.length < 3 && isOctal(this.#peek())) text += this.#char(this.#cps[this.#pos++]);
      const value = Number.parseInt(text, 8);
      if (value > 0o377) {
        throw this.#error(`octal escape value \\${text} outside of range 0-0o377`, start);
      }
      return value;
    }
    if (isDigit(next) || isAsciiLetter(next)) {
      throw this.#error(`bad escape \\${letter}`, this.#pos - 2);
    }
    return next;
  }

  #characterClass(start: number): string {
    const items: string[] = [];
    const negate = this.#match("^");
    while (true) {
      const cp = this.#peek();
      if (cp === undefined) throw this.#error("unterminated character set", start);
      this.#pos++;
      if (cp === 0x5d && items.length > 0) break;
      const itemStart = this.#pos - 1;
      const first = this.#classItem(cp, start);
      if (this.#match("-")) {
        const next = this.#peek();
        if (next === undefined) throw this.#error("unterminated character set", start);
        this.#pos++;
        if (next === 0x5d) {
          items.push(typeof first === "number" ? literal(first) : first, literal(0x2d));
          break;
        }
        const second = this.#classItem(next, start);
        const text = String.fromCodePoint(...this.#cps.slice(itemStart, this.#pos));
        if (typeof first !== "number" || typeof second !== "number" || second < first) {
          throw this.#error(`bad character range ${text}`, itemStart);
        }
        items.push(`${literal(first)}-${literal(second)}`);
      } else {
        items.push(typeof first === "number" ? literal(first) : first);
      }
    }
    return `[${negate ? "^" : ""}${items.join("")}]`;
  }
}

/**
 * Translates a Python regular expression into a JavaScript `RegExp` (flag `v`) that matches like
 * Python's `re.match`: anchored at the start of the string.
 *
 * @param pattern the Python pattern text
 * @returns the equivalent RegExp
 * @throws {NamingError} "invalid regex: ..." when Python would refuse the pattern or it uses a
 *   feature JavaScript lacks
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { pythonRegex } from "./python_regex.ts";
 * const re = pythonRegex(String.raw`(?P<kind>printer|scanner)\.\d+`);
 * assert(re.test("printer.42") && !re.test("office.printer.42"));
 * assert(pythonRegex("a$").test("a\n")); // Python's $ matches before a final newline
 * ```
 */
export function pythonRegex(pattern: string): RegExp {
  if (typeof pattern !== "string") throw new NamingError("invalid regex: pattern must be a str");
  if (!pattern.isWellFormed()) throw new NamingError("invalid regex: lone surrogate in pattern");
  return new Translator(pattern).translate();
}
