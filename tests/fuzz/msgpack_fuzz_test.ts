/**
 * Seeded fuzzing of MsgpackSerializer: random values survive dumps -> loads; random and mutated
 * bytes always end in a value or a PyroError, quickly; the hand-written UTF-8 decoder agrees with
 * TextDecoder.
 */
import { deepStrictEqual, fail, ok } from "node:assert";
import { PyroError } from "../../errors.ts";
import { MsgpackSerializer } from "../../serializers/msgpack.ts";
import { PyComplex, PyFloat, tuple } from "../../serializers/values.ts";

/** mulberry32: a small seeded PRNG, so every failure can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  constructor(readonly next: () => number) {}
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

const CHARS = ["a", "Z", "0", " ", "_", "é", "ß", "€", "中", "😀", "\u0000", "\u007f", "\u0080"];
const LENGTHS = [0, 1, 5, 15, 16, 31, 32, 33, 63, 64, 65, 100, 255, 256, 300];

function randomString(g: Gen): string {
  const length = g.pick(LENGTHS);
  const ascii = g.next() < 0.5;
  let text = "";
  for (let i = 0; i < length; i++) {
    text += ascii ? String.fromCharCode(32 + g.int(95)) : g.pick(CHARS);
  }
  return text;
}

function randomInt(g: Gen): number | bigint {
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

function randomFloat(g: Gen): number {
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
function randomValue(g: Gen, depth: number): [unknown, unknown] {
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
        const [v, e] = randomValue(g, depth + 1);
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
        const [v, e] = randomValue(g, depth + 1);
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
        const [v, e] = randomValue(g, depth + 1);
        map.set(key, v);
        expected.set(key, e);
      }
      return [map, expected];
    }
  }
}

function dates(g: Gen): [Date, Date] {
  const date = new Date(Math.floor((g.next() - 0.5) * 2e13));
  return [date, date];
}

Deno.test("MsgpackSerializer fuzz: random values survive dumps and loads", () => {
  const g = new Gen(random(0x5eed));
  const msgpack = new MsgpackSerializer();
  for (let i = 0; i < 10000; i++) {
    const [value, expected] = i % 10 === 0 ? dates(g) : randomValue(g, 0);
    const bytes = msgpack.dumps(value);
    try {
      deepStrictEqual(msgpack.loads(bytes), expected);
    } catch (error) {
      fail(`case ${i}: ${error}`);
    }
  }
});

Deno.test("MsgpackSerializer fuzz: results of dumps stay independent", () => {
  const g = new Gen(random(7));
  const msgpack = new MsgpackSerializer();
  const kept: [Uint8Array, string][] = [];
  for (let i = 0; i < 2000; i++) {
    const [value] = randomValue(g, 2);
    const bytes = msgpack.dumps(value);
    kept.push([bytes, bytes.join()]);
  }
  for (const [bytes, text] of kept) ok(bytes.join() === text);
});

function expectValueOrPyroError(msgpack: MsgpackSerializer, input: Uint8Array, label: string) {
  try {
    msgpack.loads(input);
  } catch (error) {
    if (!(error instanceof PyroError)) fail(`${label}: ${error} for ${input.join(",")}`);
  }
  try {
    msgpack.loadsCall(input);
  } catch (error) {
    if (!(error instanceof PyroError)) fail(`${label} (call): ${error} for ${input.join(",")}`);
  }
}

/** Header bytes that claim sizes, to make mutations reach the length checks. */
const HEADS = [0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xd4, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd];

Deno.test("MsgpackSerializer fuzz: mutated and random bytes end in a value or a PyroError", () => {
  const g = new Gen(random(0xbad));
  const msgpack = new MsgpackSerializer();
  const start = performance.now();
  let count = 0;
  for (let i = 0; i < 10000; i++) {
    const [value] = i % 10 === 0 ? dates(g) : randomValue(g, 1);
    const valid = msgpack.dumps(value).slice();
    for (let m = 0; m < 5; m++) {
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
      expectValueOrPyroError(msgpack, input.subarray(0, cut), `mutation ${i}/${m}`);
      count++;
    }
    expectValueOrPyroError(msgpack, g.bytes(g.int(40)), `random ${i}`);
    count++;
  }
  // Ext payloads of Pyro5's own types, with random contents and sizes.
  for (let i = 0; i < 5000; i++) {
    const type = g.pick([0x30, 0x31, 0x32, 0x33, 0xff, 0x80, 0x05]);
    const length = g.pick([0, 1, 2, 4, 8, 12, 16, 20]);
    const payload = g.int(3) === 0
      ? new TextEncoder().encode(g.pick(["12", " -3_4 ", "1e5", "0x1", "+7", "٣", "1_", ""]))
      : g.bytes(length);
    const input = new Uint8Array([0xc7, payload.length, type, ...payload]);
    expectValueOrPyroError(msgpack, input, `ext ${i}`);
    count++;
  }
  ok(count > 60000);
  ok(performance.now() - start < 15000, "fuzzing took too long");
});

Deno.test("MsgpackSerializer fuzz: deep and huge claims fail fast", () => {
  const msgpack = new MsgpackSerializer();
  const g = new Gen(random(99));
  for (let i = 0; i < 200; i++) {
    const depth = 900 + g.int(300);
    const head = g.pick([[0x91], [0x81, 0xa1, 0x61], [0xdc, 0, 1], [0xde, 0, 1, 0x01]]);
    const input = new Uint8Array(depth * head.length + 1);
    for (let d = 0; d < depth; d++) input.set(head, d * head.length);
    input[input.length - 1] = 0xc0;
    expectValueOrPyroError(msgpack, input, `deep ${i}`);
  }
});

Deno.test("MsgpackSerializer fuzz: str decoding agrees with TextDecoder", () => {
  const g = new Gen(random(0x7e57));
  const msgpack = new MsgpackSerializer();
  const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const interesting = [0x00, 0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef];
  const more = [0xf0, 0xf4, 0xf5, 0xff, 0x9f, 0xa0, 0x8f, 0x90];
  for (let i = 0; i < 30000; i++) {
    const length = 1 + g.int(i % 2 === 0 ? 8 : 70);
    const bytes = new Uint8Array(length);
    for (let k = 0; k < length; k++) {
      bytes[k] = g.next() < 0.6 ? g.pick(interesting.concat(more)) : g.int(256);
    }
    let expected: string | undefined;
    try {
      expected = strict.decode(bytes);
    } catch {
      expected = undefined;
    }
    const input = new Uint8Array([0xd9, length, ...bytes]);
    let actual: unknown;
    try {
      actual = msgpack.loads(input);
    } catch (error) {
      if (!(error instanceof PyroError)) throw error;
      actual = undefined;
    }
    if (actual !== expected) fail(`bytes ${bytes.join(",")}: ${actual} !== ${expected}`);
    // And the way back, for strings TextDecoder accepted.
    if (expected !== undefined) {
      const encoded = msgpack.dumps(expected);
      deepStrictEqual(encoded.subarray(encoded.length - length), bytes);
      ok(encoded.length === length + (length < 32 ? 1 : 2));
    }
  }
});
