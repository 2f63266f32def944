/**
 * Seeded fuzzing of the message layer: random messages round trip, and MessageConnection turns
 * streams of random and damaged messages into Messages and one PyroError. (decodeMessage alone
 * is a target of the fuzz engine: tests/fuzz/fuzz_test.ts, `deno task fuzz`.)
 */
import { deepStrictEqual, ok as assert } from "node:assert";
import { PyroError } from "../../errors.ts";
import { MessageConnection } from "../../protocol/connection.ts";
import {
  decodeMessage,
  encodeMessage,
  type Message,
  MessageFlags,
} from "../../protocol/message.ts";
import { memoryStreamPair } from "../_protocol_support.ts";
import { MessageFuzzer } from "./_message_gen.ts";

const SEED = 0x502;

function expectedAfterRoundTrip(message: Message): Message {
  return {
    ...message,
    flags: message.flags | (message.correlationId ? MessageFlags.CORR_ID : 0),
  };
}

Deno.test("decodeMessage: random messages round trip, compressed or not", () => {
  const fuzz = new MessageFuzzer(SEED);
  for (let n = 0; n < 5_000; n++) {
    const message = fuzz.message();
    const encoded = encodeMessage(message, { compress: fuzz.chance(0.5) });
    deepStrictEqual(decodeMessage(encoded), expectedAfterRoundTrip(message), `case ${n}`);
  }
});

Deno.test("MessageConnection: fuzzed streams end in Messages and a PyroError", async () => {
  const fuzz = new MessageFuzzer(SEED + 1);
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
