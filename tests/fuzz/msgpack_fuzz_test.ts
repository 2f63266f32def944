/**
 * Seeded fuzzing of MsgpackSerializer: random values survive dumps -> loads; deep nesting fails
 * fast; the hand-written UTF-8 decoder agrees with TextDecoder. (Random and mutated bytes are
 * the fuzz engine's: tests/fuzz/fuzz_test.ts, `deno task fuzz`.)
 */
import { deepStrictEqual, fail, ok } from "node:assert";
import { PyroError } from "../../errors.ts";
import { MsgpackSerializer } from "../../serializers/msgpack.ts";
import { randomDate, randomMsgpackValue } from "./_msgpack_gen.ts";
import { Random } from "./_random.ts";
import { targetNamed, tryInput } from "./_targets.ts";

Deno.test("MsgpackSerializer fuzz: random values survive dumps and loads", () => {
  const g = new Random(0x5eed);
  const msgpack = new MsgpackSerializer();
  for (let i = 0; i < 10000; i++) {
    const [value, expected] = i % 10 === 0 ? randomDate(g) : randomMsgpackValue(g, 0);
    const bytes = msgpack.dumps(value);
    try {
      deepStrictEqual(msgpack.loads(bytes), expected);
    } catch (error) {
      fail(`case ${i}: ${error}`);
    }
  }
});

Deno.test("MsgpackSerializer fuzz: results of dumps stay independent", () => {
  const g = new Random(7);
  const msgpack = new MsgpackSerializer();
  const kept: [Uint8Array, string][] = [];
  for (let i = 0; i < 2000; i++) {
    const [value] = randomMsgpackValue(g, 2);
    const bytes = msgpack.dumps(value);
    kept.push([bytes, bytes.join()]);
  }
  for (const [bytes, text] of kept) ok(bytes.join() === text);
});

Deno.test("MsgpackSerializer fuzz: deep and huge claims fail fast", () => {
  const g = new Random(99);
  for (let i = 0; i < 200; i++) {
    const depth = 900 + g.int(300);
    const head = g.pick([[0x91], [0x81, 0xa1, 0x61], [0xdc, 0, 1], [0xde, 0, 1, 0x01]]);
    const input = new Uint8Array(depth * head.length + 1);
    for (let d = 0; d < depth; d++) input.set(head, d * head.length);
    input[input.length - 1] = 0xc0;
    for (const target of ["msgpack.loads", "msgpack.loadsCall"].map(targetNamed)) {
      const outcome = tryInput(target, input);
      ok(outcome.kind !== "crash" && outcome.ms < 1000, `deep ${i}: ${JSON.stringify(outcome)}`);
    }
  }
});

Deno.test("MsgpackSerializer fuzz: str decoding agrees with TextDecoder", () => {
  const g = new Random(0x7e57);
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
