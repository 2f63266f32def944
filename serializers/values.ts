/**
 * How Python values live in TypeScript. Every serializer decodes into, and encodes from, this
 * model; the README has the full table.
 *
 * | Python                  | TypeScript                                                    |
 * | ----------------------- | ------------------------------------------------------------- |
 * | `None`                  | `null` (`undefined` also encodes as `None`)                   |
 * | `bool`                  | `boolean`                                                     |
 * | `int`                   | `number` when it is a safe integer, else `bigint`             |
 * | `float`                 | `number` (send an integral float as {@linkcode PyFloat})      |
 * | `complex`               | {@linkcode PyComplex}                                         |
 * | `str`                   | `string`                                                      |
 * | `bytes`, `bytearray`    | `Uint8Array`                                                  |
 * | `list`                  | `Array`                                                       |
 * | `tuple`                 | {@linkcode PyTuple} (an `Array` subclass)                     |
 * | `set`                   | `Set`                                                         |
 * | `frozenset`             | {@linkcode PyFrozenSet} (a `Set` subclass)                    |
 * | `dict` with `str` keys  | plain object                                                  |
 * | `dict`, other keys      | `Map`                                                         |
 *
 * @module
 */
import { SerializeError } from "../errors.ts";

/**
 * A Python tuple: an `Array` that travels as a tuple. `map`, `filter` and friends return plain
 * arrays.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { PyTuple, tuple } from "./values.ts";
 * const t = tuple<unknown>(1, "a");
 * assert(t instanceof PyTuple && Array.isArray(t) && t.length === 2);
 * ```
 */
export class PyTuple<T = unknown> extends Array<T> {
  /** Derived arrays (`map`, `slice`, ...) are plain arrays, not tuples. */
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }
}

/**
 * Makes a {@linkcode PyTuple} of the given items.
 *
 * @param items the tuple's elements
 * @returns a new tuple
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tuple } from "./values.ts";
 * const [x, y] = tuple(1, 2);
 * assert(x + y === 3);
 * ```
 */
export function tuple<T>(...items: T[]): PyTuple<T> {
  // Re-prototyping the fresh rest array is much cheaper in V8 than constructing the subclass.
  return Object.setPrototypeOf(items, PyTuple.prototype);
}

/**
 * A Python frozenset: a `Set` that travels as a frozenset where the serializer has one.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { PyFrozenSet } from "./values.ts";
 * const s = new PyFrozenSet([1, 2]);
 * assert(s instanceof Set && s.has(2));
 * ```
 */
export class PyFrozenSet<T = unknown> extends Set<T> {}

/**
 * A Python complex number.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { PyComplex } from "./values.ts";
 * const z = new PyComplex(1, -2);
 * assert(z.real === 1 && z.imag === -2);
 * ```
 */
export class PyComplex {
  /**
   * Makes the complex number `real + imag*j`.
   *
   * @param real the real part
   * @param imag the imaginary part
   */
  constructor(readonly real: number, readonly imag: number) {}
}

/**
 * A number that must travel as a Python float even when it is integral: JavaScript cannot tell
 * `2.0` from `2`, so plain integral numbers travel as `int`. Decoding never produces this type.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { PyFloat } from "./values.ts";
 * const two = new PyFloat(2); // arrives in Python as 2.0
 * assert(two.value === 2);
 * ```
 */
export class PyFloat {
  /**
   * Wraps a number that must travel as a float.
   *
   * @param value the number
   */
  constructor(readonly value: number) {}

  /** The plain number, so that arithmetic on a PyFloat works. */
  valueOf(): number {
    return this.value;
  }
}

/**
 * Symbol of the method by which an object says how it travels: it returns a dict (a plain object
 * with a `__class__` key, like Pyro5's class-to-dict output). Pyro's own types (URI, proxy) use
 * it; user classes may too.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { toPyroDict } from "./values.ts";
 * class Point {
 *   constructor(public x: number, public y: number) {}
 *   [toPyroDict]() {
 *     return { __class__: "shapes.Point", x: this.x, y: this.y };
 *   }
 * }
 * assert(new Point(1, 2)[toPyroDict]().__class__ === "shapes.Point");
 * ```
 */
export const toPyroDict: unique symbol = Symbol.for("pyro-deno.toPyroDict");

/** A Python dict decoded with only string keys. */
export type PyStringDict = { [key: string]: unknown };

/**
 * Whether a value is a plain object (a Python dict with string keys), not a class instance.
 *
 * @param value anything
 * @returns true for `{}` literals and null-prototype objects
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { isPlainObject } from "./values.ts";
 * assert(isPlainObject({ a: 1 }) && !isPlainObject(new Map()));
 * ```
 */
export function isPlainObject(value: unknown): value is PyStringDict {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Builds the TypeScript value of a decoded Python dict: a plain object when every key is a
 * string, else a `Map`. A `"__proto__"` key becomes an own property, never the prototype.
 *
 * @param keys the dict's keys, in order
 * @param values the dict's values, same order
 * @returns a plain object or a Map
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { makeDict } from "./values.ts";
 * const d = makeDict(["a"], [1]) as { a: number };
 * assert(d.a === 1);
 * assert(makeDict([1], ["x"]) instanceof Map);
 * ```
 */
export function makeDict(keys: unknown[], values: unknown[]): PyStringDict | Map<unknown, unknown> {
  let allStrings = true;
  for (const key of keys) {
    if (typeof key !== "string") {
      allStrings = false;
      break;
    }
  }
  if (allStrings) {
    const result: PyStringDict = {};
    for (let i = 0; i < keys.length; i++) setDictItem(result, keys[i] as string, values[i]);
    return result;
  }
  const map = new Map<unknown, unknown>();
  for (let i = 0; i < keys.length; i++) map.set(keys[i], values[i]);
  return map;
}

/**
 * Sets a key on a plain-object dict safely: `"__proto__"` becomes an own property.
 *
 * @param dict the dict being built
 * @param key its string key
 * @param value the value
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { setDictItem } from "./values.ts";
 * const d: Record<string, unknown> = {};
 * setDictItem(d, "__proto__", 1);
 * assert(Object.getPrototypeOf(d) === Object.prototype && Object.hasOwn(d, "__proto__"));
 * ```
 */
export function setDictItem(dict: PyStringDict, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(dict, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    dict[key] = value;
  }
}

/**
 * Whether a JavaScript number travels as a Python int: a safe integer, not negative zero.
 *
 * @param value the number
 * @returns true when it is sent as `int`
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { isPythonInt } from "./values.ts";
 * assert(isPythonInt(3) && !isPythonInt(3.5) && !isPythonInt(2 ** 60) && !isPythonInt(-0));
 * ```
 */
export function isPythonInt(value: number): boolean {
  return Number.isSafeInteger(value) && !Object.is(value, -0);
}

/**
 * Turns a decoded Python int into its TypeScript value: a number when safe, else a bigint.
 *
 * @param value the integer as a bigint
 * @returns number or bigint
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { fromPythonInt } from "./values.ts";
 * assert(fromPythonInt(5n) === 5 && fromPythonInt(2n ** 70n) === 2n ** 70n);
 * ```
 */
export function fromPythonInt(value: bigint): number | bigint {
  return value >= -9007199254740991n && value <= 9007199254740991n ? Number(value) : value;
}

/**
 * Formats a number as Python's `repr(float)`: shortest round-trip digits, `.0` on integral
 * values, exponent form below 1e-4 and from 1e16 on (`1e-05`, `1e+16`), `nan`, `inf`, `-inf`.
 *
 * @param value the number
 * @returns Python's text for it
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { pythonFloatRepr } from "./values.ts";
 * assert(pythonFloatRepr(2) === "2.0" && pythonFloatRepr(1e16) === "1e+16");
 * assert(pythonFloatRepr(0.00001) === "1e-05" && pythonFloatRepr(0.5) === "0.5");
 * ```
 */
export function pythonFloatRepr(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (value === Infinity) return "inf";
  if (value === -Infinity) return "-inf";
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const [mantissa, exponentText] = value.toExponential().split("e");
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    const sign = exponent < 0 ? "-" : "+";
    const digits = String(Math.abs(exponent)).padStart(2, "0");
    return `${mantissa}e${sign}${digits}`;
  }
  const text = String(value);
  return text.includes(".") ? text : `${text}.0`;
}

/**
 * A calendar date without a time (Python `datetime.date`): a `Date` at UTC midnight that travels
 * as a date where the serializer has one (msgpack's date extension; ISO `YYYY-MM-DD` text in
 * serpent and json), so a date Python sends comes back as a date.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { PyDate } from "./values.ts";
 * const d = PyDate.of(2024, 2, 29);
 * assert(d instanceof Date && d.toISOString() === "2024-02-29T00:00:00.000Z");
 * ```
 */
export class PyDate extends Date {
  /**
   * Makes the date of a year, month (1 to 12) and day.
   *
   * @param year the year
   * @param month the month, 1 for January
   * @param day the day of the month
   * @returns the date, at UTC midnight
   */
  static of(year: number, month: number, day: number): PyDate {
    return new PyDate(Date.UTC(year, month - 1, day));
  }
}

/**
 * Python's `isoformat()` text for a date value: `YYYY-MM-DD` for a {@linkcode PyDate}; for any
 * other `Date`, the UTC date and time with microseconds when there are any and a `+00:00` offset,
 * as an aware Python datetime writes it.
 *
 * @param date the date
 * @returns the ISO text
 * @throws {SerializeError} for an invalid Date
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { pythonIsoFormat, PyDate } from "./values.ts";
 * assert(pythonIsoFormat(new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 123))) === "2020-01-02T03:04:05.123000+00:00");
 * assert(pythonIsoFormat(PyDate.of(2020, 1, 2)) === "2020-01-02");
 * ```
 */
export function pythonIsoFormat(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new SerializeError("cannot serialize an invalid Date");
  const iso = date.toISOString();
  if (date instanceof PyDate) return iso.slice(0, 10);
  const ms = date.getUTCMilliseconds();
  const fraction = ms === 0 ? "" : `.${String(ms).padStart(3, "0")}000`;
  return `${iso.slice(0, 19)}${fraction}+00:00`;
}
