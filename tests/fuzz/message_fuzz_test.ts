/**
 * Seeded fuzzing of the message decoder and of MessageConnection: random and mutated messages
 * must each end in a Message or a PyroError subclass, quickly, never in another error or a hang.
 */
import { deepStrictEqual, ok as assert } from "node:assert";
import { PyroError } from "../../errors.ts";
import { MessageConnection } from "../../protocol/connection.ts";
import {
  decodeMessage,
  encodeMessage,
  HEADER_SIZE,
  type Message,
  MessageFlags,
  type MessageOptions,
} from "../../protocol/message.ts";
import { memoryStreamPair, seededRandom } from "../_protocol_support.ts";

const SEED = 0x502;

/** Makes random valid messages and random mutations of their bytes. */
class Fuzzer {
  #random: () => number;
  constructor(seed: number) {
    this.#random = seededRandom(seed);
  }

  int(limit: number): number {
    return Math.floor(this.#random() * limit);
  }

  chance(p: number): boolean {
    return this.#random() < p;
  }

  bytes(size: number): Uint8Array {
    const out = new Uint8Array(size);
    // mostly compressible (so compression kicks in), sometimes noise
    const noisy = this.chance(0.3);
    for (let i = 0; i < size; i++) out[i] = noisy ? this.int(256) : 97 + ((i * 7) % 11);
    return out;
  }

  message(): Message {
    const annotations = new Map<string, Uint8Array>();
    const count = this.chance(0.5) ? 0 : this.int(4);
    for (let k = 0; k < count; k++) {
      annotations.set(
        String.fromCharCode(65 + this.int(26), 66, 67, 48 + k),
        this.bytes(this.int(40)),
      );
    }
    const sizes = [0, 1, 10, 99, 100, 101, 500, 3000];
    return {
      type: 1 + this.int(6),
      flags: this.int(128) & ~(MessageFlags.COMPRESSED | MessageFlags.CORR_ID),
      seq: this.int(65536),
      serializerId: 1 + this.int(4),
      data: this.bytes(sizes[this.int(sizes.length)]),
      annotations,
      correlationId: this.chance(0.3) ? this.bytes(16) : null,
    };
  }

  /** One of several kinds of damage, some aimed at the header fields. */
  mutate(original: Uint8Array): Uint8Array {
    let bytes = original.slice();
    const rounds = 1 + this.int(3);
    for (let r = 0; r < rounds; r++) {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      switch (this.int(9)) {
        case 0: // flip random bits
          for (let k = 0, n = 1 + this.int(4); k < n && bytes.length > 0; k++) {
            bytes[this.int(bytes.length)] ^= 1 << this.int(8);
          }
          break;
        case 1: // truncate
          bytes = bytes.subarray(0, this.int(bytes.length + 1));
          break;
        case 2: // append junk
          bytes = Uint8Array.from([...bytes, ...this.bytes(1 + this.int(20))]);
          break;
        case 3: // data size field
          if (bytes.length >= HEADER_SIZE) view.setUint32(12, this.field32(view.getUint32(12)));
          break;
        case 4: // annotations size field
          if (bytes.length >= HEADER_SIZE) view.setUint32(16, this.field32(view.getUint32(16)));
          break;
        case 5: // flags: set COMPRESSED or CORR_ID or anything
          if (bytes.length >= 10) {
            view.setUint16(8, this.chance(0.5) ? view.getUint16(8) ^ 2 : this.int(65536));
          }
          break;
        case 6: // an annotation chunk length
          if (bytes.length >= HEADER_SIZE + 8) view.setUint32(HEADER_SIZE + 4, this.field32(0));
          break;
        case 7: // overwrite a random byte of the first 48 with a random value
          if (bytes.length > 0) bytes[this.int(Math.min(48, bytes.length))] = this.int(256);
          break;
        default: // random bytes after a valid header prefix
          bytes = Uint8Array.from([...bytes.subarray(0, 6), ...this.bytes(this.int(80))]);
      }
    }
    return bytes;
  }

  field32(current: number): number {
    switch (this.int(4)) {
      case 0:
        return current + 1 - this.int(3);
      case 1:
        return this.int(256);
      case 2:
        return 0xffffffff - this.int(16);
      default:
        return Math.floor(this.#random() * 0x100000000);
    }
  }
}

function expectedAfterRoundTrip(message: Message): Message {
  return {
    ...message,
    flags: message.flags | (message.correlationId ? MessageFlags.CORR_ID : 0),
  };
}

Deno.test("decodeMessage: fuzzed input ends in a Message or a PyroError", () => {
  const fuzz = new Fuzzer(SEED);
  const start = performance.now();
  let decoded = 0, rejected = 0;
  const limits: MessageOptions[] = [{}, { maxMessageSize: 2000 }, { maxMessageSize: 100 }];
  for (let n = 0; n < 40_000; n++) {
    const message = fuzz.message();
    const compress = fuzz.chance(0.5);
    const encoded = encodeMessage(message, { compress });
    if (n % 10 === 0) {
      // unmutated: must round trip exactly
      deepStrictEqual(decodeMessage(encoded), expectedAfterRoundTrip(message));
    }
    const bytes = fuzz.chance(0.05) ? fuzz.bytes(fuzz.int(100)) : fuzz.mutate(encoded);
    try {
      const got = decodeMessage(bytes, limits[n % limits.length]);
      assert(got.data instanceof Uint8Array && got.annotations instanceof Map);
      decoded++;
    } catch (error) {
      if (!(error instanceof PyroError)) {
        throw new Error(`case ${n}: ${error} for ${bytes.length} bytes`, { cause: error });
      }
      rejected++;
    }
  }
  const seconds = (performance.now() - start) / 1000;
  console.log(`40000 cases in ${seconds.toFixed(2)} s: ${decoded} decoded, ${rejected} rejected`);
  assert(decoded > 1000 && rejected > 10_000, "the mutations should hit both outcomes");
  assert(seconds < 30, "too slow");
});

Deno.test("MessageConnection: fuzzed streams end in Messages and a PyroError", async () => {
  const fuzz = new Fuzzer(SEED + 1);
  const start = performance.now();
  let messages = 0, ended = 0;
  for (let n = 0; n < 10_000; n++) {
    // several messages, some damaged, delivered in random chunk sizes
    const parts: Uint8Array[] = [];
    const count = 1 + fuzz.int(4);
    for (let k = 0; k < count; k++) {
      const encoded = encodeMessage(fuzz.message(), { compress: fuzz.chance(0.5) });
      parts.push(fuzz.chance(0.3) ? fuzz.mutate(encoded) : encoded);
    }
    const chunk = [1, 7, 64, 1000, Infinity][fuzz.int(5)];
    const [a, b] = memoryStreamPair({ maxReadChunk: chunk });
    await using connection = new MessageConnection(b, {
      maxMessageSize: fuzz.chance(0.5) ? 5000 : undefined,
      readBufferSize: fuzz.chance(0.5) ? 64 : undefined,
    });
    for (const part of parts) await a.write(part);
    a.close(); // end of stream after the bytes
    // every receive ends; the last one with an error, since the stream ends
    for (let k = 0; k <= count; k++) {
      try {
        const got = await connection.receive(2000);
        assert(got.data instanceof Uint8Array);
        messages++;
      } catch (error) {
        if (!(error instanceof PyroError)) throw new Error(`case ${n}: ${error}`, { cause: error });
        assert(connection.closed);
        ended++;
        break;
      }
    }
    assert(connection.closed, `case ${n}: more messages than sent`);
  }
  const seconds = (performance.now() - start) / 1000;
  console.log(`10000 streams in ${seconds.toFixed(2)} s: ${messages} messages, ${ended} errors`);
  assert(ended === 10_000, `${ended} of 10000 streams ended in an error`);
  assert(seconds < 30, "too slow");
});
