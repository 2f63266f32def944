/**
 * Fuzz support for msgpack: random values with what decoding must give back, and mutations
 * aimed at msgpack's size heads and ext types.
 *
 * @module
 */
import { PyComplex, PyFloat, tuple } from "../../serializers/values.ts";
import type { Random } from "./_random.ts";

const CHARS = ["a", "Z", "0", " ", "_", "é", "ß", "€", "中", "😀", "\u0000", "\u007f", "\u0080"];
const LENGTHS = [0, 1, 5, 15, 16, 31, 32, 33, 63, 64, 65, 100, 255, 256, 300];

function randomString(g: Random): string {
  const length = g.pick(LENGTHS);
  const ascii = g.next() < 0.5;
  let text = "";
  for (let i = 0; i < length; i++) {
    text += ascii ? String.fromCharCode(32 + g.int(95)) : g.pick(CHARS);
  }
  return text;
}

function randomInt(g: Random): number | bigint {
  switch (g.int(6)) {
    case 0:
      return g.int(256) - 128;
    case 1:
      return g.int(70000) - 35000;
    case 2:
      return Math.floor((g.next() - 0.5) * 2 ** 33);
    case 3:
      return Math.floor((g.next() - 0.5) * 2 ** 54);
    case 4:
      return BigInt(Math.floor((g.next() - 0.5) * 2 ** 52)) * BigInt(1 + g.int(5000));
    default:
      return (g.next() < 0.5 ? -1n : 1n) * (2n ** BigInt(60 + g.int(80)) + BigInt(g.int(1000)));
  }
}

function randomFloat(g: Random): number {
  return g.pick([
    () => g.next() * 1000 - 500,
    () => (g.next() - 0.5) * 1e300,
    () => -0,
    () => NaN,
    () => Infinity,
    () => -Infinity,
    () => 2 ** 60,
    () => Number.MIN_VALUE,
  ])();
}

/** A random value and what decoding it must give. */
export function randomMsgpackValue(g: Random, depth: number): [unknown, unknown] {
  const kind = depth > 4 ? g.int(9) : g.int(14);
  switch (kind) {
    case 0:
      return g.next() < 0.5 ? [null, null] : [undefined, null];
    case 1: {
      const b = g.next() < 0.5;
      return [b, b];
    }
    case 2:
    case 3: {
      const n = randomInt(g);
      const back = typeof n === "bigint" && n >= -(2n ** 53n) + 1n && n <= 2n ** 53n - 1n
        ? Number(n)
        : n;
      return [n, back];
    }
    case 4: {
      const f = randomFloat(g);
      return g.next() < 0.3 ? [new PyFloat(f), f] : [f, f];
    }
    case 5:
    case 6: {
      const s = randomString(g);
      return [s, s];
    }
    case 7: {
      const b = g.bytes(g.pick(LENGTHS));
      return [b, b];
    }
    case 8: {
      const c = new PyComplex(randomFloat(g), randomFloat(g));
      return g.next() < 0.5 ? [c, c] : [new Date(0), new Date(0)];
    }
    case 9:
    case 10: {
      const n = g.int(depth < 2 ? 16 : 4);
      const values: unknown[] = [];
      const expected: unknown[] = [];
      for (let i = 0; i < n; i++) {
        const [v, e] = randomMsgpackValue(g, depth + 1);
        values.push(v);
        expected.push(e);
      }
      const form = g.int(3);
      if (form === 2) {
        // A Set drops repeated primitives (keeping the first) and stores -0 as 0.
        const set = new Set<unknown>();
        const kept: unknown[] = [];
        values.forEach((v, k) => {
          if (!set.has(v)) kept.push(Object.is(v, -0) ? 0 : expected[k]);
          set.add(v);
        });
        return [set, kept];
      }
      return [form === 0 ? values : tuple(...values), expected];
    }
    case 11:
    case 12: {
      const n = g.int(depth < 2 ? 16 : 4);
      const dict: Record<string, unknown> = {};
      const expected: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const key = g.next() < 0.1 ? "__proto__" : [...randomString(g)].slice(0, 20).join("");
        if (key === "__class__") continue;
        const [v, e] = randomMsgpackValue(g, depth + 1);
        for (const target of [dict, expected]) {
          Object.defineProperty(target, key, {
            value: target === dict ? v : e,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
      }
      return [dict, expected];
    }
    default: {
      const map = new Map<unknown, unknown>();
      const expected = new Map<unknown, unknown>();
      const n = 1 + g.int(10);
      for (let i = 0; i < n; i++) {
        const key = g.pick([() => g.int(1000), () => g.next() < 0.5, () => null, () => 1.5])();
        const [v, e] = randomMsgpackValue(g, depth + 1);
        map.set(key, v);
        expected.set(key, e);
      }
      return [map, expected];
    }
  }
}

/** A random date and itself (what decoding it must give). */
export function randomDate(g: Random): [Date, Date] {
  const date = new Date(Math.floor((g.next() - 0.5) * 2e13));
  return [date, date];
}

/** Header bytes that claim sizes, to make mutations reach the length checks. */
const HEADS = [0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xd4, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd];

/** A mutant of valid msgpack bytes: bytes replaced with size heads, ext codes or noise, cut. */
export function mutateMsgpack(g: Random, valid: Uint8Array): Uint8Array {
  const input = valid.slice();
  const edits = 1 + g.int(4);
  for (let e = 0; e < edits && input.length > 0; e++) {
    const at = g.int(input.length);
    const how = g.int(5);
    if (how === 0) input[at] = g.int(256);
    else if (how === 1) input[at] ^= 1 << g.int(8);
    else if (how === 2) input[at] = g.pick(HEADS);
    else if (how === 3) input[at] = 0xff;
    else input[at] = g.pick([0xc1, 0xd4, 0xd5, 0xd6, 0xc7, 0x30, 0x31, 0x32, 0x33, 0xff]);
  }
  const cut = g.next() < 0.3 ? g.int(input.length + 1) : input.length;
  return input.subarray(0, cut);
}

/** An ext 8 of one of Pyro5's ext types (or another), with random contents and sizes. */
export function randomExt(g: Random): Uint8Array {
  const type = g.pick([0x30, 0x31, 0x32, 0x33, 0xff, 0x80, 0x05]);
  const length = g.pick([0, 1, 2, 4, 8, 12, 16, 20]);
  const payload = g.int(3) === 0
    ? new TextEncoder().encode(g.pick(["12", " -3_4 ", "1e5", "0x1", "+7", "٣", "1_", ""]))
    : g.bytes(length);
  return new Uint8Array([0xc7, payload.length, type, ...payload]);
}
