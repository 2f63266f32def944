/**
 * Tests of protocol/message.ts: byte-for-byte vectors captured from the real Python Pyro5 5.15
 * (`Pyro5.protocol.SendingMessage`), compression interop both ways, size limits, malformed input.
 */
import { deepStrictEqual, ok as assert, strictEqual, throws } from "node:assert";
import { deflateSync } from "node:zlib";
import { MessageTooLargeError, ProtocolError } from "../errors.ts";
import {
  decodeBody,
  decodeHeader,
  decodeMessage,
  DEFAULT_MAX_MESSAGE_SIZE,
  encodeMessage,
  encodeMessageParts,
  HEADER_SIZE,
  INLINE_PAYLOAD_LIMIT,
  MAGIC,
  type Message,
  MessageFlags,
  MessageType,
  type OutgoingMessage,
  prepareMessage,
  PROTOCOL_VERSION,
  validateHeaderPrefix,
} from "../protocol/message.ts";
import { fromHex, runPython, seededRandom, toHex } from "./_protocol_support.ts";
import MESSAGES from "./testdata/messages.json" with { type: "json" };

/** One vector: the SendingMessage arguments and the bytes Python Pyro5 produced. */
interface Vector {
  name: string;
  type: number;
  flags: number;
  seq: number;
  serializerId: number;
  /** payload, hex */
  data: string;
  /** annotations in order: [id, hex] */
  annotations: [string, string][];
  /** current_context.correlation_id as 32 hex digits, or null */
  correlationId: string | null;
  /** config.COMPRESSION */
  compress: boolean;
  /** SendingMessage(...).data, hex */
  wire: string;
}

/**
 * The Python script that produced {@linkcode VECTORS} (prints them as JSON); the test
 * "VECTORS: still what Python Pyro5 produces" reruns it.
 */
const GENERATOR = String.raw`
import json, uuid
from Pyro5 import protocol, config
from Pyro5.callcontext import current_context
P = protocol
cases = []
def case(name, t, flags, seq, ser, data, ann=None, corr=None, compress=False):
    config.COMPRESSION = compress
    current_context.correlation_id = uuid.UUID(corr) if corr else None
    m = P.SendingMessage(t, flags, seq, ser, data, ann)
    cases.append(dict(name=name, type=t, flags=flags, seq=seq, serializerId=ser, data=data.hex(),
        annotations=[[k, v.hex()] for k, v in (ann or {}).items()], correlationId=uuid.UUID(corr).hex if corr else None,
        compress=compress, wire=m.data.hex()))
for t in range(1, 7):
    case(f"type {t}", t, 0, t, 1, b"payload")
for ser in range(1, 5):
    case(f"serializer {ser}", 4, 0, 7, ser, b"x")
for name, f in [("EXCEPTION", 1), ("ONEWAY", 4), ("BATCH", 8), ("ITEM_STREAM_RESULT", 16), ("KEEP_SERIALIZED", 32)]:
    case(f"flag {name}", 5, f, 3, 1, b"data")
case("flags combined", 4, 1|4|8|16|32, 9, 2, b"abc")
case("empty payload", 6, 0, 0, 1, b"")
case("seq 65535", 5, 0, 65535, 4, b"\x00\xff")
case("ping", 6, 0, 0, 42, b"ping")
case("one annotation", 4, 0, 1, 1, b"body", {"CORR": b"\x01\x02\x03"})
case("annotations in order", 4, 0, 2, 1, b"body", {"ZZZZ": b"zz", "AAAA": b"", "HMAC": bytes(range(20))})
case("annotations only", 2, 0, 2, 1, b"", {"RESP": b"hello"})
case("correlation id", 4, 0, 5, 1, b"call", None, "12345678-9abc-def0-1234-56789abcdef0")
case("correlation id + flags + annotations", 5, 1, 6, 3, b"err", {"XYZW": b"q"}, "0f0e0d0c-0b0a-0908-0706-050403020100")
payload101 = bytes((i * 7) % 256 for i in range(101))
payload100 = bytes((i * 7) % 256 for i in range(100))
case("compression off, 101 bytes", 4, 0, 1, 1, payload101)
case("compression off clears COMPRESSED", 4, 2, 1, 1, b"abc")
case("compression on, 100 bytes: not compressed", 4, 0, 1, 1, payload100, None, None, True)
case("compression on, 101 bytes", 4, 0, 1, 1, payload101, None, None, True)
text = b'("obj_1234", "method", ("arg", 42, 3.5), {})' * 10
case("compression on, repetitive text", 4, 0, 11, 1, text, {"ANNO": b"annotation not compressed"}, "00000000-0000-0000-0000-000000000001", True)
case("compression on, small payload clears COMPRESSED", 4, 2, 1, 1, b"abc", None, None, True)
print(json.dumps(cases, indent=1))
`;

const VECTORS: Vector[] = [
  {
    name: "type 1",
    type: 1,
    flags: 0,
    seq: 1,
    serializerId: 1,
    data: "7061796c6f6164",
    annotations: [],
    correlationId: null,
    compress: false,
    wire:
      "5059524f01f601010000000100000007000000000000000000000000000000000000000000004dc57061796c" +
      "6f6164",
  },
  {
    name: "type 2",
    type: 2,
    flags: 0,
    seq: 2,
    serializerId: 1,
    data: "7061796c6f6164",
    annotations: [],
    correlationId: null,
    compress: false,
    wire:
      "5059524f01f602010000000200000007000000000000000000000000000000000000000000004dc57061796c" +
      "6f6164",
  },
  {
    name: "type 3",
    type: 3,
    flags: 0,
    seq: 3,
    serializerId: 1,
    data: "7061796c6f6164",
    annotations: [],
    correlationId: null,
    compress: false,
    wire:
      "5059524f01f603010000000300000007000000000000000000000000000000000000000000004dc57061796c" +
      "6f6164",
  },
  {
    name: "type 4",
    type: 4,
    flags: 0,
    seq: 4,
    serializerId: 1,
    data: "7061796c6f6164",
    annotations: [],
    correlationId: null,
    compress: false,
    wire:
      "5059524f01f604010000000400000007000000000000000000000000000000000000000000004dc57061796c" +
      "6f6164",
  },
  {
    name: "type 5",
    type: 5,
    flags: 0,
    seq: 5,
    serializerId: 1,
    data: "7061796c6f6164",
    annotations: [],
    correlationId: null,
    compress: false,
    wire:
      "5059524f01f605010000000500000007000000000000000000000000000000000000000000004dc57061796c" +
      "6f6164",
  },
  {
    name: "type 6",
    type: 6,
    flags: 0,
    seq: 6,
    serializerId: 1,
    data: "7061796c6f6164",
    annotations: [],
    correlationId: null,
    compress: false,
    wire:
      "5059524f01f606010000000600000007000000000000000000000000000000000000000000004dc57061796c" +
      "6f6164",
  },
  {
    name: "serializer 1",
    type: 4,
    flags: 0,
    seq: 7,
    serializerId: 1,
    data: "78",
    annotations: [],
    correlationId: null,
    compress: false,
    wire: "5059524f01f604010000000700000001000000000000000000000000000000000000000000004dc578",
  },
  {
    name: "serializer 2",
    type: 4,
    flags: 0,
    seq: 7,
    serializerId: 2,
    data: "78",
    annotations: [],
    correlationId: null,
    compress: false,
    wire: "5059524f01f604020000000700000001000000000000000000000000000000000000000000004dc578",
  },
  {
    name: "serializer 3",
    type: 4,
    flags: 0,
    seq: 7,
    serializerId: 3,
    data: "78",
    annotations: [],
    correlationId: null,
    compress: false,
    wire: "5059524f01f604030000000700000001000000000000000000000000000000000000000000004dc578",
  },
  {
    name: "serializer 4",
    type: 4,
    flags: 0,
    seq: 7,
    serializerId: 4,
    data: "78",
    annotations: [],
    correlationId: null,
    compress: false,
    wire: "5059524f01f604040000000700000001000000000000000000000000000000000000000000004dc578",
  },
  {
    name: "flag EXCEPTION",
    type: 5,
    flags: 1,
    seq: 3,
    serializerId: 1,
    data: "64617461",
    annotations: [],
    correlationId: null,
    compress: false,
    wire:
      "5059524f01f605010001000300000004000000000000000000000000000000000000000000004dc564617461",
  },
  {
    name: "flag ONEWAY",
    type: 5,
    flags: 4,
    seq: 3,
    serializerId: 1,
    data: "64617461",
    annotations: [],
    correlationId: null,
    compress: false,
    wire:
      "5059524f01f605010004000300000004000000000000000000000000000000000000000000004dc564617461",
  },
  {
    name: "flag BATCH",
    type: 5,
    flags: 8,
    seq: 3,
    serializerId: 1,
    data: "64617461",
    annotations: [],
    correlationId: null,
    compress: false,
    wire:
      "5059524f01f605010008000300000004000000000000000000000000000000000000000000004dc564617461",
  },
  {
    name: "flag ITEM_STREAM_RESULT",
    type: 5,
    flags: 16,
    seq: 3,
    serializerId: 1,
    data: "64617461",
    annotations: [],
    correlationId: null,
    compress: false,
    wire:
      "5059524f01f605010010000300000004000000000000000000000000000000000000000000004dc564617461",
  },
  {
    name: "flag KEEP_SERIALIZED",
    type: 5,
    flags: 32,
    seq: 3,
    serializerId: 1,
    data: "64617461",
    annotations: [],
    correlationId: null,
    compress: false,
    wire:
      "5059524f01f605010020000300000004000000000000000000000000000000000000000000004dc564617461",
  },
  {
    name: "flags combined",
    type: 4,
    flags: 61,
    seq: 9,
    serializerId: 2,
    data: "616263",
    annotations: [],
    correlationId: null,
    compress: false,
    wire: "5059524f01f60402003d000900000003000000000000000000000000000000000000000000004dc5616263",
  },
  {
    name: "empty payload",
    type: 6,
    flags: 0,
    seq: 0,
    serializerId: 1,
    data: "",
    annotations: [],
    correlationId: null,
    compress: false,
    wire: "5059524f01f606010000000000000000000000000000000000000000000000000000000000004dc5",
  },
  {
    name: "seq 65535",
    type: 5,
    flags: 0,
    seq: 65535,
    serializerId: 4,
    data: "00ff",
    annotations: [],
    correlationId: null,
    compress: false,
    wire: "5059524f01f605040000ffff00000002000000000000000000000000000000000000000000004dc500ff",
  },
  {
    name: "ping",
    type: 6,
    flags: 0,
    seq: 0,
    serializerId: 42,
    data: "70696e67",
    annotations: [],
    correlationId: null,
    compress: false,
    wire:
      "5059524f01f6062a0000000000000004000000000000000000000000000000000000000000004dc570696e67",
  },
  {
    name: "one annotation",
    type: 4,
    flags: 0,
    seq: 1,
    serializerId: 1,
    data: "626f6479",
    annotations: [["CORR", "010203"]],
    correlationId: null,
    compress: false,
    wire:
      "5059524f01f6040100000001000000040000000b0000000000000000000000000000000000004dc5434f5252" +
      "00000003010203626f6479",
  },
  {
    name: "annotations in order",
    type: 4,
    flags: 0,
    seq: 2,
    serializerId: 1,
    data: "626f6479",
    annotations: [["ZZZZ", "7a7a"], ["AAAA", ""], [
      "HMAC",
      "000102030405060708090a0b0c0d0e0f10111213",
    ]],
    correlationId: null,
    compress: false,
    wire:
      "5059524f01f6040100000002000000040000002e0000000000000000000000000000000000004dc55a5a5a5a" +
      "000000027a7a4141414100000000484d414300000014000102030405060708090a0b0c0d0e0f10111213626f" +
      "6479",
  },
  {
    name: "annotations only",
    type: 2,
    flags: 0,
    seq: 2,
    serializerId: 1,
    data: "",
    annotations: [["RESP", "68656c6c6f"]],
    correlationId: null,
    compress: false,
    wire:
      "5059524f01f6020100000002000000000000000d0000000000000000000000000000000000004dc552455350" +
      "0000000568656c6c6f",
  },
  {
    name: "correlation id",
    type: 4,
    flags: 0,
    seq: 5,
    serializerId: 1,
    data: "63616c6c",
    annotations: [],
    correlationId: "123456789abcdef0123456789abcdef0",
    compress: false,
    wire:
      "5059524f01f60401004000050000000400000000123456789abcdef0123456789abcdef000004dc563616c6c",
  },
  {
    name: "correlation id + flags + annotations",
    type: 5,
    flags: 1,
    seq: 6,
    serializerId: 3,
    data: "657272",
    annotations: [["XYZW", "71"]],
    correlationId: "0f0e0d0c0b0a09080706050403020100",
    compress: false,
    wire:
      "5059524f01f605030041000600000003000000090f0e0d0c0b0a0908070605040302010000004dc558595a57" +
      "0000000171657272",
  },
  {
    name: "compression off, 101 bytes",
    type: 4,
    flags: 0,
    seq: 1,
    serializerId: 1,
    data:
      "00070e151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9e0e7eef5fc030a11181f262d343b424950575e656c737a81888f969da4abb2b9c0c7ced5dce3eaf1f8ff060d141b222930373e454c535a61686f767d848b9299a0a7aeb5bc",
    annotations: [],
    correlationId: null,
    compress: false,
    wire:
      "5059524f01f604010000000100000065000000000000000000000000000000000000000000004dc500070e15" +
      "1c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9e0e7eef5fc030a11181f262d343b4249" +
      "50575e656c737a81888f969da4abb2b9c0c7ced5dce3eaf1f8ff060d141b222930373e454c535a61686f767d" +
      "848b9299a0a7aeb5bc",
  },
  {
    name: "compression off clears COMPRESSED",
    type: 4,
    flags: 2,
    seq: 1,
    serializerId: 1,
    data: "616263",
    annotations: [],
    correlationId: null,
    compress: false,
    wire: "5059524f01f604010000000100000003000000000000000000000000000000000000000000004dc5616263",
  },
  {
    name: "compression on, 100 bytes: not compressed",
    type: 4,
    flags: 0,
    seq: 1,
    serializerId: 1,
    data:
      "00070e151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9e0e7eef5fc030a11181f262d343b424950575e656c737a81888f969da4abb2b9c0c7ced5dce3eaf1f8ff060d141b222930373e454c535a61686f767d848b9299a0a7aeb5",
    annotations: [],
    correlationId: null,
    compress: true,
    wire:
      "5059524f01f604010000000100000064000000000000000000000000000000000000000000004dc500070e15" +
      "1c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9e0e7eef5fc030a11181f262d343b4249" +
      "50575e656c737a81888f969da4abb2b9c0c7ced5dce3eaf1f8ff060d141b222930373e454c535a61686f767d" +
      "848b9299a0a7aeb5",
  },
  {
    name: "compression on, 101 bytes",
    type: 4,
    flags: 0,
    seq: 1,
    serializerId: 1,
    data:
      "00070e151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9e0e7eef5fc030a11181f262d343b424950575e656c737a81888f969da4abb2b9c0c7ced5dce3eaf1f8ff060d141b222930373e454c535a61686f767d848b9299a0a7aeb5bc",
    annotations: [],
    correlationId: null,
    compress: true,
    wire:
      "5059524f01f604010002000100000070000000000000000000000000000000000000000000004dc5785e0165" +
      "009aff00070e151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9e0e7eef5fc030a1118" +
      "1f262d343b424950575e656c737a81888f969da4abb2b9c0c7ced5dce3eaf1f8ff060d141b222930373e454c" +
      "535a61686f767d848b9299a0a7aeb5bcbdc92f17",
  },
  {
    name: "compression on, repetitive text",
    type: 4,
    flags: 0,
    seq: 11,
    serializerId: 1,
    data:
      "28226f626a5f31323334222c20226d6574686f64222c202822617267222c2034322c20332e35292c207b7d2928226f626a5f31323334222c20226d6574686f64222c202822617267222c2034322c20332e35292c207b7d2928226f626a5f31323334222c20226d6574686f64222c202822617267222c2034322c20332e35292c207b7d2928226f626a5f31323334222c20226d6574686f64222c202822617267222c2034322c20332e35292c207b7d2928226f626a5f31323334222c20226d6574686f64222c202822617267222c2034322c20332e35292c207b7d2928226f626a5f31323334222c20226d6574686f64222c202822617267222c2034322c20332e35292c207b7d2928226f626a5f31323334222c20226d6574686f64222c202822617267222c2034322c20332e35292c207b7d2928226f626a5f31323334222c20226d6574686f64222c202822617267222c2034322c20332e35292c207b7d2928226f626a5f31323334222c20226d6574686f64222c202822617267222c2034322c20332e35292c207b7d2928226f626a5f31323334222c20226d6574686f64222c202822617267222c2034322c20332e35292c207b7d29",
    annotations: [["ANNO", "616e6e6f746174696f6e206e6f7420636f6d70726573736564"]],
    correlationId: "00000000000000000000000000000001",
    compress: true,
    wire:
      "5059524f01f604010042000b00000037000000210000000000000000000000000000000100004dc5414e4e4f" +
      "00000019616e6e6f746174696f6e206e6f7420636f6d70726573736564785ed350ca4fca8a3734323651d251" +
      "50ca4d2dc9c84f01b23494128bd281b489918e82b19ea9a68e4275ada6c6a8da41a31600ffa66de3",
  },
  {
    name: "compression on, small payload clears COMPRESSED",
    type: 4,
    flags: 2,
    seq: 1,
    serializerId: 1,
    data: "616263",
    annotations: [],
    correlationId: null,
    compress: true,
    wire: "5059524f01f604010000000100000003000000000000000000000000000000000000000000004dc5616263",
  },
];

function messageOf(vector: Vector): Message {
  return {
    type: vector.type,
    flags: vector.flags,
    seq: vector.seq,
    serializerId: vector.serializerId,
    data: fromHex(vector.data),
    annotations: new Map(vector.annotations.map(([id, hex]) => [id, fromHex(hex)])),
    correlationId: vector.correlationId === null ? null : fromHex(vector.correlationId),
  };
}

function sampleMessage(overrides: Partial<Message> = {}): Message {
  return {
    type: MessageType.INVOKE,
    flags: 0,
    seq: 1,
    serializerId: 1,
    data: new TextEncoder().encode("payload"),
    annotations: new Map(),
    correlationId: null,
    ...overrides,
  };
}

/** Bytes that compress well but not trivially: repeated text with a counter. */
function textPayload(size: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  const random = seededRandom(size);
  for (let i = 0; i < size; i++) out[i] = i % 17 === 0 ? Math.floor(random() * 256) : 97 + (i % 23);
  return out;
}

Deno.test("constants: as in Pyro5.protocol", () => {
  strictEqual(PROTOCOL_VERSION, 502);
  strictEqual(HEADER_SIZE, 40);
  strictEqual(MAGIC, 0x4dc5);
  strictEqual(DEFAULT_MAX_MESSAGE_SIZE, 1024 * 1024 * 1024);
  deepStrictEqual({ ...MessageType }, {
    CONNECT: 1,
    CONNECT_OK: 2,
    CONNECT_FAIL: 3,
    INVOKE: 4,
    RESULT: 5,
    PING: 6,
  });
  deepStrictEqual({ ...MessageFlags }, {
    EXCEPTION: 1,
    COMPRESSED: 2,
    ONEWAY: 4,
    BATCH: 8,
    ITEM_STREAM_RESULT: 16,
    KEEP_SERIALIZED: 32,
    CORR_ID: 64,
  });
  assert(Object.isFrozen(MessageType) && Object.isFrozen(MessageFlags));
});

Deno.test("encodeMessage: byte for byte as Python Pyro5's SendingMessage", async (t) => {
  for (const vector of VECTORS) {
    await t.step(vector.name, () => {
      const bytes = encodeMessage(messageOf(vector), { compress: vector.compress });
      const wire = fromHex(vector.wire);
      if (!(wire[9] & MessageFlags.COMPRESSED)) {
        strictEqual(toHex(bytes), vector.wire);
        return;
      }
      // Deno's zlib (node:zlib) is not CPython's zlib 1.2.13: at the same level 4 it may pick
      // other matches, so the deflate stream can differ while inflating to the same payload.
      // Everything else is byte for byte: header (but the data size), annotations, and the
      // zlib stream header.
      const payloadStart = wire.length - new DataView(wire.buffer).getUint32(12);
      deepStrictEqual(bytes.subarray(0, 12), wire.subarray(0, 12));
      deepStrictEqual(bytes.subarray(16, payloadStart + 2), wire.subarray(16, payloadStart + 2));
      deepStrictEqual(decodeMessage(bytes), decodeMessage(wire));
    });
  }
});

Deno.test("encodeMessage: compressed vectors match CPython's zlib for short payloads", () => {
  // Recorded fact rather than a promise: for this vector node:zlib's level 4 output is
  // identical to CPython's; the longer text vector differs (see the test above).
  for (const name of ["compression on, 101 bytes"]) {
    const vector = VECTORS.find((v) => v.name === name)!;
    strictEqual(toHex(encodeMessage(messageOf(vector), { compress: true })), vector.wire);
  }
});

Deno.test("decodeMessage: reads Python Pyro5's messages", async (t) => {
  for (const vector of VECTORS) {
    await t.step(vector.name, () => {
      const message = decodeMessage(fromHex(vector.wire));
      const wireFlags = (fromHex(vector.wire)[8] << 8) | fromHex(vector.wire)[9];
      strictEqual(message.type, vector.type);
      strictEqual(message.seq, vector.seq);
      strictEqual(message.serializerId, vector.serializerId);
      // COMPRESSED is cleared once the payload is decompressed, as ReceivingMessage does
      strictEqual(message.flags, wireFlags & ~MessageFlags.COMPRESSED);
      strictEqual(toHex(message.data), vector.data);
      deepStrictEqual(
        [...message.annotations].map(([id, value]) => [id, toHex(value)]),
        vector.annotations,
      );
      strictEqual(
        message.correlationId === null ? null : toHex(message.correlationId),
        vector.correlationId,
      );
      strictEqual(Boolean(message.flags & MessageFlags.CORR_ID), vector.correlationId !== null);
    });
  }
});

Deno.test("VECTORS: still what Python Pyro5 produces", async () => {
  const out = new TextDecoder().decode(await runPython(GENERATOR));
  deepStrictEqual(JSON.parse(out), VECTORS);
});

Deno.test("VECTORS: cover every message type and flag", () => {
  const types = new Set(VECTORS.map((v) => v.type));
  for (const type of Object.values(MessageType)) assert(types.has(type), `type ${type}`);
  let flags = 0;
  for (const v of VECTORS) flags |= (fromHex(v.wire)[8] << 8) | fromHex(v.wire)[9];
  for (const flag of Object.values(MessageFlags)) assert(flags & flag, `flag ${flag}`);
});

Deno.test("encodeMessage: flags the way SendingMessage sets them", async (t) => {
  await t.step("COMPRESSED is cleared without compression", () => {
    const bytes = encodeMessage(sampleMessage({ flags: MessageFlags.COMPRESSED | 1 }));
    strictEqual(bytes[9], 1);
  });
  await t.step("CORR_ID is set exactly when a correlation id is given", () => {
    strictEqual(encodeMessage(sampleMessage({ flags: MessageFlags.CORR_ID }))[9], 0);
    const id = new Uint8Array(16).fill(7);
    const bytes = encodeMessage(sampleMessage({ correlationId: id }));
    strictEqual(bytes[9], MessageFlags.CORR_ID);
    deepStrictEqual(bytes.subarray(20, 36), id);
  });
  await t.step("the input message is not modified", () => {
    const message = sampleMessage({ flags: 2, data: textPayload(500) });
    const before = toHex(message.data);
    encodeMessage(message, { compress: true });
    strictEqual(message.flags, 2);
    strictEqual(toHex(message.data), before);
  });
});

Deno.test("encodeMessage: rejects what Pyro5 rejects", async (t) => {
  for (const id of ["abc", "abcde", "", "abç1", "ab\u{1F600}"]) {
    await t.step(`annotation id ${JSON.stringify(id)}`, () => {
      throws(
        () => encodeMessage(sampleMessage({ annotations: new Map([[id, new Uint8Array(1)]]) })),
        (e) =>
          e instanceof ProtocolError &&
          e.message === "annotation identifier must be 4 ascii characters",
      );
    });
  }
  await t.step("annotation data that is not bytes", () => {
    const annotations = new Map([["ABCD", "text" as unknown as Uint8Array]]);
    throws(() => encodeMessage(sampleMessage({ annotations })), ProtocolError);
  });
  const ranges: [keyof Message, number][] = [
    ["type", 256],
    ["type", -1],
    ["serializerId", 256],
    ["flags", 65536],
    ["seq", 65536],
    ["seq", 1.5],
  ];
  for (const [field, value] of ranges) {
    await t.step(`${field} ${value}`, () => {
      throws(() => encodeMessage(sampleMessage({ [field]: value })), RangeError);
    });
  }
  await t.step("correlation id of 15 bytes", () => {
    throws(() => encodeMessage(sampleMessage({ correlationId: new Uint8Array(15) })), RangeError);
  });
});

Deno.test("encodeMessage: size limit as SendingMessage checks it", async (t) => {
  const annotations = new Map([["ABCD", new Uint8Array(12)]]);
  await t.step("payload plus annotations at the limit passes", () => {
    const bytes = encodeMessage(sampleMessage({ data: new Uint8Array(80), annotations }), {
      maxMessageSize: 100,
    });
    strictEqual(bytes.length, 140);
  });
  await t.step("one byte more fails", () => {
    throws(
      () =>
        encodeMessage(sampleMessage({ data: new Uint8Array(81), annotations }), {
          maxMessageSize: 100,
        }),
      (e) => e instanceof MessageTooLargeError && e.message === "message too large (101, max=100)",
    );
  });
  await t.step("the compressed size counts, like Pyro5 (compress, then check)", () => {
    const data = new Uint8Array(5000);
    throws(() => encodeMessage(sampleMessage({ data }), { maxMessageSize: 1000 }));
    const bytes = encodeMessage(sampleMessage({ data }), { maxMessageSize: 1000, compress: true });
    assert(bytes.length < 1040);
    strictEqual(decodeMessage(bytes).data.length, 5000);
    // Unlike Pyro5, the decompressed payload is bounded by the limit too (no zip bombs).
    throws(() => decodeMessage(bytes, { maxMessageSize: 1000 }), MessageTooLargeError);
  });
  await t.step("the default limit is 1 GiB", () => {
    const message = sampleMessage({ data: new Uint8Array(16) });
    message.data = { length: DEFAULT_MAX_MESSAGE_SIZE + 1 } as unknown as Uint8Array;
    Object.setPrototypeOf(message.data, Uint8Array.prototype);
    throws(
      () => encodeMessage(message),
      (e) =>
        e instanceof MessageTooLargeError &&
        e.message === `message too large (${DEFAULT_MAX_MESSAGE_SIZE + 1}, max=1073741824)`,
    );
  });
});

Deno.test("encodeMessage: compression only above 100 bytes, payload only", () => {
  const annotations = new Map([["ANNO", new Uint8Array(300)]]);
  const small = encodeMessage(sampleMessage({ data: new Uint8Array(100), annotations }), {
    compress: true,
  });
  strictEqual(small[9] & MessageFlags.COMPRESSED, 0);
  const big = encodeMessage(sampleMessage({ data: new Uint8Array(101), annotations }), {
    compress: true,
  });
  strictEqual(big[9] & MessageFlags.COMPRESSED, MessageFlags.COMPRESSED);
  // the annotation chunk is there verbatim, the 101 zero bytes are squeezed
  deepStrictEqual(big.subarray(HEADER_SIZE + 8, HEADER_SIZE + 308), new Uint8Array(300));
  assert(big.length < HEADER_SIZE + 308 + 101);
  // Pyro5 uses zlib.compress(payload, 4): a level 4 stream
  deepStrictEqual([...big.subarray(HEADER_SIZE + 308, HEADER_SIZE + 310)], [0x78, 0x5e]);
});

const PYTHON_DECODE = String.raw`
import sys, json, hashlib
from Pyro5 import protocol
data = sys.stdin.buffer.read()
msg = protocol.ReceivingMessage(data[:protocol._header_size])
msg.add_payload(data[protocol._header_size:])
print(json.dumps(dict(type=msg.type, flags=msg.flags, seq=msg.seq, ser=msg.serializer_id,
    size=len(msg.data), sha=hashlib.sha256(bytes(msg.data)).hexdigest(),
    annotations={k: bytes(v).hex() for k, v in msg.annotations.items()}, corr=bytes(msg.corr_id).hex())))
`;

const PYTHON_ENCODE = String.raw`
import sys, uuid
from Pyro5 import protocol, config
from Pyro5.callcontext import current_context
size = int(sys.argv[1])
config.COMPRESSION = True
current_context.correlation_id = uuid.UUID(int=0x1234)
payload = bytes((97 + i % 23) if i % 17 else (i * 31 + size) % 256 for i in range(size))
sys.stdout.buffer.write(protocol.SendingMessage(5, 1, 77, 4, payload, {"ABCD": b"xyz"}).data)
`;

Deno.test("encodeMessage: Python Pyro5 decompresses our compressed messages", async () => {
  for (const size of [101, 5000, 300_000]) {
    const data = textPayload(size);
    const bytes = encodeMessage(
      sampleMessage({
        type: MessageType.RESULT,
        flags: MessageFlags.BATCH,
        seq: 4242,
        serializerId: 3,
        data,
        annotations: new Map([["HMAC", new Uint8Array([1, 2, 3])]]),
        correlationId: new Uint8Array(16).fill(0xab),
      }),
      { compress: true },
    );
    assert(bytes.length < HEADER_SIZE + 11 + size);
    const got = JSON.parse(new TextDecoder().decode(await runPython(PYTHON_DECODE, bytes)));
    const sha = toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", data)));
    deepStrictEqual(got, {
      type: 5,
      flags: MessageFlags.BATCH | MessageFlags.CORR_ID,
      seq: 4242,
      ser: 3,
      size,
      sha,
      annotations: { HMAC: "010203" },
      corr: "ab".repeat(16),
    });
  }
});

Deno.test("decodeMessage: decompresses Python Pyro5's compressed messages", async () => {
  for (const size of [101, 5000, 300_000]) {
    const bytes = await runPython(PYTHON_ENCODE, undefined, [String(size)]);
    const message = decodeMessage(bytes);
    strictEqual(message.flags, MessageFlags.EXCEPTION | MessageFlags.CORR_ID);
    strictEqual(message.seq, 77);
    strictEqual(message.serializerId, 4);
    strictEqual(message.data.length, size);
    for (let i = 0; i < size; i++) {
      const want = i % 17 ? 97 + (i % 23) : (i * 31 + size) % 256;
      if (message.data[i] !== want) throw new Error(`payload differs at ${i}`);
    }
    deepStrictEqual(message.annotations, new Map([["ABCD", new TextEncoder().encode("xyz")]]));
    strictEqual(toHex(message.correlationId!), "1234".padStart(32, "0"));
  }
});

/** A valid encoded message to break in the malformed-input tests. */
function validBytes(): Uint8Array {
  return encodeMessage(sampleMessage({ annotations: new Map([["ABCD", new Uint8Array(4)]]) }));
}

function withHeader(edit: (bytes: Uint8Array, view: DataView) => void): Uint8Array {
  const bytes = validBytes();
  edit(bytes, new DataView(bytes.buffer));
  return bytes;
}

Deno.test("decodeHeader: each malformed header gives its error", async (t) => {
  const cases: [string, Uint8Array, new (...a: never[]) => Error, string][] = [
    ["wrong tag", withHeader((b) => b[3] = 0x58), ProtocolError, "invalid data"],
    [
      "not Pyro at all",
      new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n".padEnd(40)),
      ProtocolError,
      "invalid data",
    ],
    [
      "protocol version 501",
      withHeader((_, v) => v.setUint16(4, 501)),
      ProtocolError,
      "invalid protocol version: 501",
    ],
    [
      "protocol version 0",
      withHeader((_, v) => v.setUint16(4, 0)),
      ProtocolError,
      "invalid protocol version: 0",
    ],
    [
      "wrong magic",
      withHeader((_, v) => v.setUint16(38, 0x4dc4)),
      ProtocolError,
      "invalid magic number",
    ],
    ["empty", new Uint8Array(0), ProtocolError, "invalid data: header too short (0 bytes)"],
    [
      "39 bytes",
      validBytes().subarray(0, 39),
      ProtocolError,
      "invalid data: header too short (39 bytes)",
    ],
    [
      "data size above the limit",
      withHeader((_, v) => v.setUint32(12, 0xffffffff)),
      MessageTooLargeError,
      `message too large (${0xffffffff + 12}, max=1073741824)`,
    ],
    [
      "data plus annotations above the limit",
      withHeader((_, v) => {
        v.setUint32(12, 2 ** 29);
        v.setUint32(16, 2 ** 29 + 1);
      }),
      MessageTooLargeError,
      "message too large (1073741825, max=1073741824)",
    ],
  ];
  for (const [name, bytes, errorClass, message] of cases) {
    await t.step(name, () => {
      throws(
        () => decodeHeader(bytes),
        (e) => e instanceof errorClass && (e as Error).message === message,
      );
      throws(
        () => decodeMessage(bytes),
        (e) => e instanceof errorClass && (e as Error).message === message,
      );
    });
  }
  await t.step("the limit is an option", () => {
    const bytes = validBytes(); // 12 bytes annotations + 7 bytes payload
    strictEqual(decodeHeader(bytes, { maxMessageSize: 19 }).dataSize, 7);
    throws(() => decodeHeader(bytes, { maxMessageSize: 18 }), /message too large \(19, max=18\)/);
  });
});

Deno.test("decodeHeader: the same messages as Pyro5's ReceivingMessage.validate", async () => {
  const script = String.raw`
import sys
from Pyro5 import protocol, errors
for line in sys.stdin:
    try:
        protocol.ReceivingMessage.validate(bytes.fromhex(line.strip()))
        print("ok")
    except errors.ProtocolError as x:
        print(x)
`;
  const inputs = [
    validBytes(),
    withHeader((b) => b[0] = 0x70),
    withHeader((_, v) => v.setUint16(4, 503)),
    withHeader((_, v) => v.setUint16(38, 0x1234)),
  ];
  const out = new TextDecoder().decode(
    await runPython(script, new TextEncoder().encode(inputs.map(toHex).join("\n") + "\n")),
  );
  const ours = inputs.map((bytes) => {
    try {
      validateHeaderPrefix(bytes);
      return "ok";
    } catch (e) {
      return (e as Error).message;
    }
  });
  deepStrictEqual(out.trim().split("\n"), ours);
  deepStrictEqual(ours, [
    "ok",
    "invalid data",
    "invalid protocol version: 503",
    "invalid magic number",
  ]);
});

Deno.test("validateHeaderPrefix: judges partial headers as far as they go", () => {
  validateHeaderPrefix(new Uint8Array(0));
  validateHeaderPrefix(new Uint8Array([0x50, 0x59, 0x52]));
  validateHeaderPrefix(validBytes().subarray(0, 6));
  throws(() => validateHeaderPrefix(new Uint8Array([0x47])), /invalid data/);
  throws(
    () => validateHeaderPrefix(new Uint8Array([0x50, 0x59, 0x52, 0x4f, 1, 0xf5])),
    /invalid protocol version: 501/,
  );
});

Deno.test("decodeBody: each malformed body gives its error", async (t) => {
  const header = (annotationsSize: number, dataSize: number, flags = 0) => ({
    type: 4,
    flags,
    seq: 0,
    serializerId: 1,
    annotationsSize,
    dataSize,
    correlationId: null,
  });
  const cases: [string, ReturnType<typeof header>, number[] | Uint8Array, RegExp][] = [
    [
      "body shorter than declared",
      header(0, 5),
      [1, 2, 3, 4],
      /payload length doesn't match message header/,
    ],
    [
      "body longer than declared",
      header(0, 3),
      [1, 2, 3, 4],
      /payload length doesn't match message header/,
    ],
    [
      "truncated chunk header",
      header(5, 0),
      [65, 66, 67, 68, 0],
      /invalid annotation chunk at offset 0: truncated/,
    ],
    [
      "chunk overruns the annotations",
      header(9, 1),
      [65, 66, 67, 68, 0, 0, 0, 2, 1, 9],
      /offset 0: 'ABCD' length 2 overruns/,
    ],
    [
      "huge chunk length",
      header(8, 0),
      [65, 66, 67, 68, 255, 255, 255, 255],
      /length 4294967295 overruns/,
    ],
    [
      "second chunk truncated",
      header(12, 0),
      [65, 66, 67, 68, 0, 0, 0, 0, 69, 70, 71, 72],
      /offset 8: truncated/,
    ],
    ["non-ascii id", header(8, 0), [65, 0xc3, 0xa7, 68, 0, 0, 0, 0], /offset 0: id is not ascii/],
    [
      "garbage flagged compressed",
      header(0, 4, MessageFlags.COMPRESSED),
      [1, 2, 3, 4],
      /invalid compressed data/,
    ],
    [
      "empty flagged compressed",
      header(0, 0, MessageFlags.COMPRESSED),
      [],
      /invalid compressed data/,
    ],
    [
      "truncated zlib stream",
      header(0, 10, MessageFlags.COMPRESSED),
      deflateSync(new Uint8Array(1000)).subarray(0, 10),
      /invalid compressed data/,
    ],
  ];
  for (const [name, h, body, pattern] of cases) {
    await t.step(name, () => {
      throws(
        () => decodeBody(h, Uint8Array.from(body)),
        (e) => e instanceof ProtocolError && pattern.test((e as Error).message),
      );
    });
  }
  await t.step("a decompression bomb stops at the size limit", () => {
    const bomb = deflateSync(new Uint8Array(10_000_000));
    throws(
      () =>
        decodeBody(header(0, bomb.length, MessageFlags.COMPRESSED), bomb, {
          maxMessageSize: 1_000_000,
        }),
      (e) => e instanceof MessageTooLargeError && /max=1000000/.test((e as Error).message),
    );
    strictEqual(
      decodeBody(header(0, bomb.length, MessageFlags.COMPRESSED), bomb).data.length,
      10_000_000,
    );
  });
});

Deno.test("decodeBody: annotations in wire order, duplicate ids keep the last, empty ones kept", () => {
  const body = Uint8Array.from([
    ...[90, 90, 90, 90, 0, 0, 0, 1, 1],
    ...[65, 65, 65, 65, 0, 0, 0, 0],
    ...[90, 90, 90, 90, 0, 0, 0, 1, 2],
    7,
  ]);
  const message = decodeBody({
    type: 5,
    flags: 0,
    seq: 1,
    serializerId: 1,
    annotationsSize: body.length - 1,
    dataSize: 1,
    correlationId: null,
  }, body);
  deepStrictEqual([...message.annotations.keys()], ["ZZZZ", "AAAA"]);
  deepStrictEqual(message.annotations.get("ZZZZ"), Uint8Array.of(2));
  deepStrictEqual(message.annotations.get("AAAA"), new Uint8Array(0));
  deepStrictEqual(message.data, Uint8Array.of(7));
});

Deno.test("decodeMessage: views alias the input, decompressed payloads do not", () => {
  const bytes = encodeMessage(
    sampleMessage({ annotations: new Map([["ABCD", Uint8Array.of(1)]]), data: Uint8Array.of(5) }),
  );
  const message = decodeMessage(bytes);
  strictEqual(message.data.buffer, bytes.buffer);
  strictEqual(message.annotations.get("ABCD")!.buffer, bytes.buffer);
  const compressed = encodeMessage(sampleMessage({ data: textPayload(1000) }), { compress: true });
  const inflated = decodeMessage(compressed);
  assert(inflated.data.buffer !== compressed.buffer);
  strictEqual(inflated.data.constructor, Uint8Array);
  deepStrictEqual(inflated.data, textPayload(1000));
});

Deno.test("decodeMessage: a correlation id without the CORR_ID flag is ignored, like Pyro5", () => {
  const bytes = withHeader((b) => b.fill(9, 20, 36));
  strictEqual(decodeMessage(bytes).correlationId, null);
  const flagged = withHeader((b) => {
    b.fill(9, 20, 36);
    b[9] |= MessageFlags.CORR_ID;
  });
  const id = decodeMessage(flagged).correlationId!;
  deepStrictEqual(id, new Uint8Array(16).fill(9));
  flagged[20] = 0; // the id is a view of the message bytes, not a copy
  strictEqual(id[0], 0);
});

Deno.test("encodeMessage/decodeMessage: round trip of random messages", () => {
  const random = seededRandom(502);
  for (let n = 0; n < 500; n++) {
    const annotations = new Map<string, Uint8Array>();
    const count = Math.floor(random() * 4);
    for (let k = 0; k < count; k++) {
      const id = String.fromCharCode(
        ...Array.from({ length: 4 }, () => Math.floor(random() * 128)),
      );
      annotations.set(id, textPayload(Math.floor(random() * 50)));
    }
    const message = sampleMessage({
      type: Math.floor(random() * 256),
      flags: Math.floor(random() * 65536) & ~(MessageFlags.COMPRESSED | MessageFlags.CORR_ID),
      seq: Math.floor(random() * 65536),
      serializerId: Math.floor(random() * 256),
      data: textPayload(Math.floor(random() * 3000)),
      annotations,
      correlationId: random() < 0.5 ? null : textPayload(16),
    });
    const back = decodeMessage(encodeMessage(message, { compress: random() < 0.5 }));
    const expectedFlags = message.flags | (message.correlationId ? MessageFlags.CORR_ID : 0);
    deepStrictEqual(back, { ...message, flags: expectedFlags });
  }
});

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** The shape of one `sent` entry of tests/testdata/messages.json (scripts/gen_vectors.py). */
interface SentVector {
  name: string;
  maxMessageSize?: number;
  input: {
    type: number;
    flags: number;
    seq: number;
    serializerId: number;
    payload: string;
    annotations: Record<string, string>;
    compression: boolean;
    correlationId: string | null;
  };
  output?: string;
  outputFlags?: number;
  error?: { error: string; message: string };
}

/** One `received` entry: bytes and what Pyro5's recv_stub parsed from them (or its error). */
interface ReceivedVector {
  name: string;
  data: string;
  fields?: {
    type: number;
    flags: number;
    seq: number;
    serializerId: number;
    dataSize: number;
    annotationsSize: number;
    annotations: Record<string, string>;
    correlationId: string;
    data: string;
  };
  error?: { error: string; message: string };
}

Deno.test("encodeMessage: testdata/messages.json sent by Pyro5", async (t) => {
  for (const vector of MESSAGES.sent as SentVector[]) {
    await t.step(vector.name, () => {
      const input = vector.input;
      const message: Message = {
        type: input.type,
        flags: input.flags,
        seq: input.seq,
        serializerId: input.serializerId,
        data: fromBase64(input.payload),
        annotations: new Map(
          Object.entries(input.annotations).map(([id, value]) => [id, fromBase64(value)]),
        ),
        correlationId: input.correlationId === null ? null : fromHex(input.correlationId),
      };
      const options = { compress: input.compression, maxMessageSize: vector.maxMessageSize };
      if (vector.error) {
        throws(
          () => encodeMessage(message, options),
          (e) => e instanceof ProtocolError && e.message === vector.error!.message,
        );
        return;
      }
      const wire = fromBase64(vector.output!);
      const bytes = encodeMessage(message, options);
      if (input.flags & MessageFlags.CORR_ID && input.correlationId === null) {
        // Deliberate difference: Pyro5 keeps a CORR_ID flag passed in without a correlation id
        // (sending 16 zero bytes as the id); encodeMessage sets CORR_ID exactly when there is one.
        strictEqual(bytes[9], wire[9] & ~MessageFlags.CORR_ID);
        bytes[9] = wire[9];
      }
      if (wire[9] & MessageFlags.COMPRESSED) {
        // another zlib, same level: see "byte for byte as Python Pyro5's SendingMessage"
        deepStrictEqual(decodeMessage(bytes), decodeMessage(wire));
        strictEqual(bytes[9], wire[9]);
      } else {
        strictEqual(toHex(bytes), toHex(wire));
      }
    });
  }
});

Deno.test("decodeMessage: testdata/messages.json as Pyro5 received them", async (t) => {
  for (const vector of MESSAGES.received as ReceivedVector[]) {
    await t.step(vector.name, () => {
      const bytes = fromBase64(vector.data);
      if (vector.error) {
        // Pyro5's own messages, except two: "invalid magic number" is what Pyro5's
        // ReceivingMessage.validate says (recv_stub says "invalid message or protocol version"),
        // and bad zlib data is a ProtocolError here rather than a bare zlib.error.
        const expected = vector.error.message
          .replace("invalid message or protocol version", "invalid magic number")
          .replace(/^Error -3 while decompressing data: .*/, "invalid compressed data");
        throws(
          () => decodeMessage(bytes),
          (e) => e instanceof ProtocolError && e.message.startsWith(expected),
        );
        return;
      }
      const want = vector.fields!;
      const message = decodeMessage(bytes);
      strictEqual(message.type, want.type);
      strictEqual(message.flags, want.flags);
      strictEqual(message.seq, want.seq);
      strictEqual(message.serializerId, want.serializerId);
      strictEqual(message.data.length, want.dataSize);
      strictEqual(toHex(message.data), toHex(fromBase64(want.data)));
      const header = decodeHeader(bytes);
      strictEqual(header.annotationsSize, want.annotationsSize);
      deepStrictEqual(
        Object.fromEntries([...message.annotations].map(([id, v]) => [id, toHex(v)])),
        Object.fromEntries(
          Object.entries(want.annotations).map(([id, v]) => [id, toHex(fromBase64(v))]),
        ),
      );
      strictEqual(
        message.correlationId === null ? "0".repeat(32) : toHex(message.correlationId),
        want.correlationId,
      );
    });
  }
});

Deno.test("encodeMessage: a payload in parts goes out as if joined", async (t) => {
  const annotations = new Map([["ABCD", new Uint8Array([1, 2, 3])]]);
  const correlationId = new Uint8Array(16).fill(9);
  const whole = (parts: Uint8Array[]) => {
    const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
    let at = 0;
    for (const part of parts) at += (out.set(part, at), part.length);
    return out;
  };
  const big = textPayload(INLINE_PAYLOAD_LIMIT + 1000);
  const cases: [string, Uint8Array[]][] = [
    ["no parts", []],
    ["small parts", [new Uint8Array([1]), new Uint8Array(0), textPayload(300)]],
    ["one big part", [big]],
    ["big and small parts", [new Uint8Array([0xc6, 0, 1, 0, 0]), big, new Uint8Array([0x80])]],
    ["two big parts", [big, textPayload(INLINE_PAYLOAD_LIMIT)]],
  ];
  for (const [name, parts] of cases) {
    await t.step(name, () => {
      for (const compress of [false, true]) {
        const fields = { type: 5, flags: 0, seq: 7, serializerId: 4, annotations, correlationId };
        const expected = encodeMessage({ ...fields, data: whole(parts) }, { compress });
        const outgoing: OutgoingMessage = { ...fields, data: parts };
        deepStrictEqual(encodeMessage(outgoing, { compress }), expected);
        const split = encodeMessageParts(outgoing, { compress });
        deepStrictEqual(whole(split), expected);
        const size = parts.reduce((n, part) => n + part.length, 0);
        if (!compress && size >= INLINE_PAYLOAD_LIMIT) {
          // The header with annotations, then the parts themselves, not copied.
          deepStrictEqual(split.slice(1), parts);
          assert(split.slice(1).every((part, i) => part === parts[i]));
          const prepared = prepareMessage(outgoing);
          strictEqual(prepared.dataSize, size);
          strictEqual(prepared.data.length, 0);
        } else {
          strictEqual(prepareMessage(outgoing, { compress }).parts, undefined);
        }
      }
    });
  }
  await t.step("the parts' total counts for the size limit", () => {
    const parts = [new Uint8Array(60_000), new Uint8Array(60_000)];
    const message = sampleMessage({ annotations });
    throws(
      () => encodeMessageParts({ ...message, data: parts }, { maxMessageSize: 120_010 }),
      (e) =>
        e instanceof MessageTooLargeError && e.message === "message too large (120011, max=120010)",
    );
    strictEqual(
      encodeMessage({ ...message, data: parts }, { maxMessageSize: 120_011 }).length,
      120_051,
    );
  });
  await t.step("parts that are not bytes are refused", () => {
    for (const data of [[new Uint8Array(1), "x"], [[1, 2]], "abc", new Uint16Array(4)]) {
      const message = { ...sampleMessage(), data } as unknown as OutgoingMessage;
      throws(() => encodeMessage(message), ProtocolError);
      throws(() => prepareMessage(message), ProtocolError);
    }
  });
});

Deno.test("decodeMessage: a message without annotations has an empty map that refuses changes", () => {
  const bytes = encodeMessage({
    type: 5,
    flags: 0,
    seq: 1,
    serializerId: 4,
    data: new Uint8Array([1]),
    annotations: new Map(),
    correlationId: null,
  });
  const message = decodeMessage(bytes);
  deepStrictEqual(message.annotations, new Map());
  throws(() => message.annotations.set("XTRA", new Uint8Array(1)), TypeError);
  throws(() => message.annotations.delete("XTRA"), TypeError);
  strictEqual(decodeMessage(bytes).annotations.size, 0);
  // With annotations, the map is the message's own.
  const annotated = decodeMessage(encodeMessage({
    type: 5,
    flags: 0,
    seq: 2,
    serializerId: 4,
    data: new Uint8Array([1]),
    annotations: new Map([["CORR", new Uint8Array(2)]]),
    correlationId: null,
  }));
  annotated.annotations.set("XTRA", new Uint8Array(1));
  strictEqual(annotated.annotations.size, 2);
});
