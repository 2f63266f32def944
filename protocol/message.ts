/**
 * Pyro5 wire messages (protocol version 502): encode one message to bytes, decode bytes to one
 * message. No sockets, no timers, no state: {@linkcode MessageConnection} in `connection.ts` does
 * the framing over a stream.
 *
 * A message is a 40-byte header, then zero or more annotation chunks (4 ASCII id bytes, a u32
 * big-endian length, the bytes), then the payload. The payload (never the annotations) is
 * zlib-compressed when compression is on and the payload is longer than 100 bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { decodeMessage, encodeMessage, MessageType } from "./message.ts";
 * const bytes = encodeMessage({
 *   type: MessageType.PING, flags: 0, seq: 0, serializerId: 42,
 *   data: new TextEncoder().encode("ping"), annotations: new Map(), correlationId: null,
 * });
 * assert(bytes.length === 44 && decodeMessage(bytes).serializerId === 42);
 * ```
 *
 * @module
 */
import { deflateSync, inflateSync } from "node:zlib";
import { MessageTooLargeError, ProtocolError } from "../errors.ts";

/** The Pyro wire protocol version this module speaks (Pyro5's `PROTOCOL_VERSION`). */
export const PROTOCOL_VERSION = 502;
/** Size in bytes of the fixed message header. */
export const HEADER_SIZE = 40;
/** The magic number that ends every header. */
export const MAGIC = 0x4dc5;
/** Largest message (payload plus annotations, in bytes) sent or accepted by default: 1 GiB. */
export const DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024 * 1024;
/** Payloads longer than this many bytes are compressed when compression is on (as in Pyro5). */
export const COMPRESSION_THRESHOLD = 100;
/** The zlib level Pyro5 compresses with. */
const COMPRESSION_LEVEL = 4;

/**
 * Message types (the header's type byte), as Pyro5's `MSG_*` constants.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { MessageType } from "./message.ts";
 * assert(MessageType.INVOKE === 4);
 * ```
 */
export const MessageType: Readonly<{
  CONNECT: 1;
  CONNECT_OK: 2;
  CONNECT_FAIL: 3;
  INVOKE: 4;
  RESULT: 5;
  PING: 6;
}> = Object.freeze({ CONNECT: 1, CONNECT_OK: 2, CONNECT_FAIL: 3, INVOKE: 4, RESULT: 5, PING: 6 });

/**
 * Message flag bits (the header's flags field), as Pyro5's `FLAGS_*` constants.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { MessageFlags } from "./message.ts";
 * assert((MessageFlags.ONEWAY | MessageFlags.BATCH) === 12);
 * ```
 */
export const MessageFlags: Readonly<{
  EXCEPTION: 1;
  COMPRESSED: 2;
  ONEWAY: 4;
  BATCH: 8;
  ITEM_STREAM_RESULT: 16;
  KEEP_SERIALIZED: 32;
  CORR_ID: 64;
}> = Object.freeze({
  EXCEPTION: 1,
  COMPRESSED: 2,
  ONEWAY: 4,
  BATCH: 8,
  ITEM_STREAM_RESULT: 16,
  KEEP_SERIALIZED: 32,
  CORR_ID: 64,
});

// Header field offsets (see the table in protocol/mod.ts).
const OFFSET_VERSION = 4;
const OFFSET_TYPE = 6;
const OFFSET_SERIALIZER = 7;
const OFFSET_FLAGS = 8;
const OFFSET_SEQ = 10;
const OFFSET_DATA_SIZE = 12;
const OFFSET_ANNOTATIONS_SIZE = 16;
const OFFSET_CORRELATION_ID = 20;
const OFFSET_RESERVED = 36;
const OFFSET_MAGIC = 38;
const CORRELATION_ID_SIZE = 16;
const ANNOTATION_HEADER_SIZE = 8;
const TAG = [0x50, 0x59, 0x52, 0x4f]; // "PYRO"
const MAX_U32 = 0xffffffff;
/** The payload of a prepared message whose payload goes in parts. */
const NO_DATA = new Uint8Array(0);
/** Inflated payloads at most this big are copied out of zlib's larger output buffer. */
const SMALL_INFLATE_COPY = 64 * 1024;
/** The largest maxOutputLength node:zlib accepts. */
const MAX_INFLATE = Number.MAX_SAFE_INTEGER;

/** One Pyro wire message. */
export interface Message {
  /** Message type, one of {@linkcode MessageType} (0 to 255 on the wire). */
  type: number;
  /** Flag bits, see {@linkcode MessageFlags} (0 to 65535). */
  flags: number;
  /** Sequence number pairing a reply with its request (0 to 65535). */
  seq: number;
  /** Serializer id of the payload (serpent 1, marshal 2, json 3, msgpack 4; 0 to 255). */
  serializerId: number;
  /** The payload; on receive it is already decompressed. */
  data: Uint8Array;
  /**
   * Annotation chunks by their 4-character ASCII id, in wire order. A received message without
   * annotations shares one empty map that refuses changes.
   */
  annotations: Map<string, Uint8Array>;
  /** 16-byte correlation id, or null for none (all zero on the wire and no CORR_ID flag). */
  correlationId: Uint8Array | null;
}

/**
 * An empty map that refuses changes (a plain `Map` otherwise, so it compares equal to any empty
 * one): the annotations of every received message without any.
 */
const NO_ANNOTATIONS: Map<string, Uint8Array> = new Map();
for (const change of ["set", "delete", "clear"]) {
  Object.defineProperty(NO_ANNOTATIONS, change, {
    value: () => {
      throw new TypeError("the annotations of a received message are read-only");
    },
  });
}

/**
 * A message to send: a {@linkcode Message} whose payload may also be given in parts, e.g. from
 * `MsgpackSerializer.dumpsParts`. The parts go on the wire one after another, as if joined; a
 * large payload's parts are written as they are, without being copied or joined.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { encodeMessage, encodeMessageParts, type OutgoingMessage } from "./message.ts";
 * const big = new Uint8Array(100_000).fill(7);
 * const message: OutgoingMessage = {
 *   type: 5, flags: 0, seq: 1, serializerId: 4, data: [new Uint8Array([0xc6, 0, 1, 0x86, 0xa0]), big],
 *   annotations: new Map(), correlationId: null,
 * };
 * const parts = encodeMessageParts(message);
 * assert(parts.length === 3 && parts[2] === big); // header, then the parts as they are
 * assert(encodeMessage(message).length === 40 + 5 + 100_000);
 * ```
 */
export interface OutgoingMessage extends Omit<Message, "data"> {
  /** The payload, whole or in parts (concatenated on the wire). */
  data: Uint8Array | readonly Uint8Array[];
}

/** Options of message encoding and decoding. */
export interface MessageOptions {
  /**
   * zlib-compress payloads longer than 100 bytes when sending (Pyro5's `COMPRESSION`).
   * Receiving always decompresses what is flagged compressed.
   * @default false
   */
  compress?: boolean;
  /**
   * Largest payload plus annotations size in bytes, checked on send and on receive, and the bound
   * on a decompressed payload (Pyro5's `MAX_MESSAGE_SIZE`).
   * @default {DEFAULT_MAX_MESSAGE_SIZE} (1 GiB)
   */
  maxMessageSize?: number;
}

/** The fields of a decoded header; the sizes tell how many body bytes follow it. */
export interface MessageHeader {
  /** Message type. */
  type: number;
  /** Flag bits as on the wire. */
  flags: number;
  /** Sequence number. */
  seq: number;
  /** Serializer id. */
  serializerId: number;
  /** Payload size in bytes, as on the wire (compressed size when COMPRESSED is set). */
  dataSize: number;
  /** Total size in bytes of all annotation chunks. */
  annotationsSize: number;
  /**
   * The 16-byte correlation id when the CORR_ID flag is set, else null: a view of the header
   * bytes, not a copy.
   */
  correlationId: Uint8Array | null;
}

/**
 * Encodes a message into one buffer: header, annotation chunks, payload. Like Pyro5's
 * `SendingMessage`, it clears the COMPRESSED flag and sets it again only when it compresses, and
 * it sets the CORR_ID flag exactly when `correlationId` is given (clearing it otherwise).
 *
 * @param message the message; its `data` is copied, never modified
 * @param options compression and size limit
 * @returns the encoded message
 * @throws {MessageTooLargeError} when payload (after compression) plus annotations exceed the limit
 * @throws {ProtocolError} for an annotation id that is not 4 ASCII characters, or non-bytes data
 * @throws {RangeError} for a type, serializer id, flags or seq out of range, or a correlation id
 * that is not 16 bytes
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { encodeMessage, MessageFlags, MessageType } from "./message.ts";
 * const bytes = encodeMessage({
 *   type: MessageType.INVOKE, flags: MessageFlags.ONEWAY, seq: 1, serializerId: 1,
 *   data: new Uint8Array(3), annotations: new Map([["CORR", new Uint8Array(2)]]),
 *   correlationId: null,
 * });
 * assert(bytes.length === 40 + 8 + 2 + 3);
 * ```
 */
export function encodeMessage(message: OutgoingMessage, options: MessageOptions = {}): Uint8Array {
  const prepared = prepareMessage(message, options);
  const out = new Uint8Array(HEADER_SIZE + prepared.annotationsSize + prepared.dataSize);
  let at = writeMessageHead(message, prepared, out, 0);
  const parts = prepared.parts;
  if (parts === undefined) {
    out.set(prepared.data, at);
  } else {
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
  }
  return out;
}

/**
 * Payloads at least this long are not copied by {@linkcode encodeMessageParts}: they go out as
 * a second part after the header and annotations.
 */
export const INLINE_PAYLOAD_LIMIT = 64 * 1024;

/**
 * Encodes a message like {@linkcode encodeMessage}, without copying a large payload: for a
 * payload of {@linkcode INLINE_PAYLOAD_LIMIT} bytes or more the result is two parts, the header
 * with the annotations, then the payload itself (or its compressed form); otherwise one part.
 * A large payload given in parts (and not compressed) follows the header as those parts.
 * Writing the parts in order puts exactly the bytes of `encodeMessage` on the wire.
 *
 * @param message the message; a large `data` is referenced, not copied, and must not change
 * until the parts are written
 * @param options compression and size limit
 * @returns one or two byte arrays
 * @throws {MessageTooLargeError} when payload (after compression) plus annotations exceed the limit
 * @throws {ProtocolError} for an annotation id that is not 4 ASCII characters, or non-bytes data
 * @throws {RangeError} for a type, serializer id, flags or seq out of range, or a correlation id
 * that is not 16 bytes
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { encodeMessage, encodeMessageParts } from "./message.ts";
 * const message = {
 *   type: 5, flags: 0, seq: 1, serializerId: 4, data: new Uint8Array(100_000),
 *   annotations: new Map(), correlationId: null,
 * };
 * const parts = encodeMessageParts(message);
 * assert(parts.length === 2 && parts[1] === message.data);
 * assert(parts[0].length + parts[1].length === encodeMessage(message).length);
 * ```
 */
export function encodeMessageParts(
  message: OutgoingMessage,
  options: MessageOptions = {},
): Uint8Array[] {
  const prepared = prepareMessage(message, options);
  const data = prepared.data;
  const parts = prepared.parts;
  if (parts === undefined && data.length < INLINE_PAYLOAD_LIMIT) {
    const out = new Uint8Array(HEADER_SIZE + prepared.annotationsSize + data.length);
    out.set(data, writeMessageHead(message, prepared, out, 0));
    return [out];
  }
  const head = new Uint8Array(HEADER_SIZE + prepared.annotationsSize);
  writeMessageHead(message, prepared, head, 0);
  return parts === undefined ? [head, data] : [head, ...parts];
}

/**
 * A message checked and ready to write: the flags as they go out, the payload (compressed when
 * so configured) and the total size of the annotation chunks. Made by {@linkcode prepareMessage}.
 */
export interface PreparedMessage {
  /** The header's flags (COMPRESSED and CORR_ID set as they apply). */
  flags: number;
  /**
   * The payload as it goes on the wire, in one piece; empty when it goes in `parts`.
   */
  data: Uint8Array;
  /**
   * The payload in parts, written one after another (concatenated on the wire), when it was
   * given in parts and is at least {@linkcode INLINE_PAYLOAD_LIMIT} bytes long and not
   * compressed; undefined otherwise (smaller or compressed payloads are joined into `data`).
   */
  parts?: readonly Uint8Array[];
  /** Size in bytes of the payload on the wire: `data.length`, or the parts' total length. */
  dataSize: number;
  /** Total bytes of the annotation chunks. */
  annotationsSize: number;
}

/**
 * Checks a message and works out what {@linkcode writeMessageHead} writes: the first half of
 * {@linkcode encodeMessage}, for callers that place the bytes in buffers of their own.
 *
 * @param message the message
 * @param options compression and size limit
 * @returns the prepared message; its size is `HEADER_SIZE + annotationsSize + dataSize`
 * @throws {MessageTooLargeError} when payload (after compression) plus annotations exceed the limit
 * @throws {ProtocolError} for an annotation id that is not 4 ASCII characters, or non-bytes data
 * @throws {RangeError} for a type, serializer id, flags or seq out of range, or a correlation id
 * that is not 16 bytes
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { encodeMessage, HEADER_SIZE, prepareMessage, writeMessageHead } from "./message.ts";
 * const message = {
 *   type: 4, flags: 0, seq: 2, serializerId: 1, data: new Uint8Array([7]),
 *   annotations: new Map(), correlationId: null,
 * };
 * const prepared = prepareMessage(message);
 * const out = new Uint8Array(HEADER_SIZE + prepared.annotationsSize + prepared.dataSize);
 * out.set(prepared.data, writeMessageHead(message, prepared, out, 0));
 * assert.deepStrictEqual(out, encodeMessage(message));
 * ```
 */
export function prepareMessage(
  message: OutgoingMessage,
  options: MessageOptions = {},
): PreparedMessage {
  checkUint(message.type, 0xff, "type");
  checkUint(message.serializerId, 0xff, "serializerId");
  checkUint(message.flags, 0xffff, "flags");
  checkUint(message.seq, 0xffff, "seq");
  let flags = message.flags & ~MessageFlags.COMPRESSED;
  let data: Uint8Array;
  let parts: readonly Uint8Array[] | undefined;
  if (message.data instanceof Uint8Array) {
    data = message.data;
  } else {
    parts = message.data;
    const size = partsSize(parts);
    if (size < INLINE_PAYLOAD_LIMIT || (options.compress && size > COMPRESSION_THRESHOLD)) {
      data = joinParts(parts, size);
      parts = undefined;
    } else {
      data = NO_DATA;
    }
  }
  let annotationsSize = 0;
  if (message.annotations.size > 0) {
    for (const [id, value] of message.annotations) {
      if (!isAnnotationId(id)) {
        throw new ProtocolError("annotation identifier must be 4 ascii characters");
      }
      if (!(value instanceof Uint8Array)) {
        throw new ProtocolError("annotation data must be bytes (Uint8Array)");
      }
      annotationsSize += ANNOTATION_HEADER_SIZE + value.length;
    }
  }
  if (options.compress && data.length > COMPRESSION_THRESHOLD) {
    data = compress(data);
    flags |= MessageFlags.COMPRESSED;
  }
  const dataSize = parts === undefined ? data.length : partsSize(parts);
  const maxSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  const totalSize = dataSize + annotationsSize;
  if (totalSize > maxSize || dataSize > MAX_U32 || annotationsSize > MAX_U32) {
    throw new MessageTooLargeError(`message too large (${totalSize}, max=${maxSize})`);
  }
  const correlationId = message.correlationId;
  if (correlationId !== null) {
    if (!(correlationId instanceof Uint8Array) || correlationId.length !== CORRELATION_ID_SIZE) {
      throw new RangeError("Invalid correlation id: must be 16 bytes");
    }
    flags |= MessageFlags.CORR_ID;
  } else {
    flags &= ~MessageFlags.CORR_ID;
  }
  return parts === undefined
    ? { flags, data, dataSize, annotationsSize }
    : { flags, data, parts, dataSize, annotationsSize };
}

/** Total length of payload parts; each must be a Uint8Array. */
function partsSize(parts: readonly Uint8Array[]): number {
  if (!Array.isArray(parts)) throw new ProtocolError("message data must be bytes (Uint8Array)");
  let size = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (!(part instanceof Uint8Array)) {
      throw new ProtocolError("message data must be bytes (Uint8Array)");
    }
    size += part.length;
  }
  return size;
}

function joinParts(parts: readonly Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * Writes the header and the annotation chunks of a prepared message at `offset` in `out` (the
 * payload, `prepared.data` or `prepared.parts`, goes right after them).
 *
 * @param message the message given to {@linkcode prepareMessage}
 * @param prepared what prepareMessage returned for it
 * @param out the buffer, with room for `HEADER_SIZE + prepared.annotationsSize` bytes at `offset`
 * @param offset where the message starts in `out`
 * @returns the offset where the payload goes
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { HEADER_SIZE, prepareMessage, writeMessageHead } from "./message.ts";
 * const message = {
 *   type: 6, flags: 0, seq: 0, serializerId: 42, data: new Uint8Array(0),
 *   annotations: new Map([["ABCD", new Uint8Array(2)]]), correlationId: null,
 * };
 * const out = new Uint8Array(100);
 * const end = writeMessageHead(message, prepareMessage(message), out, 10);
 * assert(end === 10 + HEADER_SIZE + 8 + 2);
 * assert(new TextDecoder().decode(out.subarray(10, 14)) === "PYRO");
 * ```
 */
export function writeMessageHead(
  message: OutgoingMessage,
  prepared: PreparedMessage,
  out: Uint8Array,
  offset: number,
): number {
  // Byte by byte: a DataView would make V8 materialize the ArrayBuffer of a fresh small array.
  const o = offset;
  out[o] = TAG[0];
  out[o + 1] = TAG[1];
  out[o + 2] = TAG[2];
  out[o + 3] = TAG[3];
  writeU16(out, o + OFFSET_VERSION, PROTOCOL_VERSION);
  out[o + OFFSET_TYPE] = message.type;
  out[o + OFFSET_SERIALIZER] = message.serializerId;
  writeU16(out, o + OFFSET_FLAGS, prepared.flags);
  writeU16(out, o + OFFSET_SEQ, message.seq);
  writeU32(out, o + OFFSET_DATA_SIZE, prepared.dataSize);
  writeU32(out, o + OFFSET_ANNOTATIONS_SIZE, prepared.annotationsSize);
  const correlationId = message.correlationId;
  if (correlationId !== null) out.set(correlationId, o + OFFSET_CORRELATION_ID);
  else out.fill(0, o + OFFSET_CORRELATION_ID, o + OFFSET_CORRELATION_ID + CORRELATION_ID_SIZE);
  writeU16(out, o + OFFSET_RESERVED, 0);
  writeU16(out, o + OFFSET_MAGIC, MAGIC);
  let at = o + HEADER_SIZE;
  if (prepared.annotationsSize > 0) {
    for (const [id, value] of message.annotations) {
      for (let k = 0; k < 4; k++) out[at + k] = id.charCodeAt(k);
      writeU32(out, at + 4, value.length);
      out.set(value, at + ANNOTATION_HEADER_SIZE);
      at += ANNOTATION_HEADER_SIZE + value.length;
    }
  }
  return at;
}

/**
 * Checks the start of a header as far as `bytes` reaches: the "PYRO" tag (any of its first 4
 * bytes) and, from 6 bytes on, the protocol version; from 40 bytes on, the magic number. Lets a
 * reader reject a foreign peer before a whole header has arrived, as Pyro5 does after 6 bytes.
 *
 * @param bytes the first bytes of a message (any length)
 * @throws {ProtocolError} "invalid data", "invalid protocol version: N" or "invalid magic number"
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { validateHeaderPrefix } from "./message.ts";
 * validateHeaderPrefix(new Uint8Array([0x50, 0x59])); // "PY": fine so far
 * let failed = false;
 * try { validateHeaderPrefix(new TextEncoder().encode("GET / HTTP/1.1")); } catch { failed = true; }
 * assert(failed);
 * ```
 */
export function validateHeaderPrefix(bytes: Uint8Array): void {
  const n = Math.min(bytes.length, 4);
  for (let i = 0; i < n; i++) {
    if (bytes[i] !== TAG[i]) throw new ProtocolError("invalid data");
  }
  if (bytes.length >= OFFSET_VERSION + 2) {
    const version = (bytes[OFFSET_VERSION] << 8) | bytes[OFFSET_VERSION + 1];
    if (version !== PROTOCOL_VERSION) {
      throw new ProtocolError(`invalid protocol version: ${version}`);
    }
  }
  if (
    bytes.length >= HEADER_SIZE &&
    ((bytes[OFFSET_MAGIC] << 8) | bytes[OFFSET_MAGIC + 1]) !== MAGIC
  ) {
    throw new ProtocolError("invalid magic number");
  }
}

/**
 * Decodes and validates a 40-byte header (bytes after the first 40 are ignored).
 *
 * @param bytes at least the 40 header bytes
 * @param options the size limit
 * @returns the header fields
 * @throws {ProtocolError} for a short header, a wrong tag, protocol version or magic number
 * @throws {MessageTooLargeError} when payload plus annotations exceed the limit
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { decodeHeader, encodeMessage } from "./message.ts";
 * const bytes = encodeMessage({
 *   type: 5, flags: 0, seq: 7, serializerId: 1, data: new Uint8Array(10),
 *   annotations: new Map(), correlationId: null,
 * });
 * const header = decodeHeader(bytes);
 * assert(header.seq === 7 && header.dataSize === 10);
 * ```
 */
export function decodeHeader(bytes: Uint8Array, options: MessageOptions = {}): MessageHeader {
  validateHeaderPrefix(bytes);
  if (bytes.length < HEADER_SIZE) {
    throw new ProtocolError(`invalid data: header too short (${bytes.length} bytes)`);
  }
  const flags = readU16(bytes, OFFSET_FLAGS);
  const dataSize = readU32(bytes, OFFSET_DATA_SIZE);
  const annotationsSize = readU32(bytes, OFFSET_ANNOTATIONS_SIZE);
  const maxSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  if (dataSize + annotationsSize > maxSize) {
    throw new MessageTooLargeError(
      `message too large (${dataSize + annotationsSize}, max=${maxSize})`,
    );
  }
  return {
    type: bytes[OFFSET_TYPE],
    flags,
    seq: readU16(bytes, OFFSET_SEQ),
    serializerId: bytes[OFFSET_SERIALIZER],
    dataSize,
    annotationsSize,
    correlationId: flags & MessageFlags.CORR_ID
      ? bytes.subarray(OFFSET_CORRELATION_ID, OFFSET_CORRELATION_ID + CORRELATION_ID_SIZE)
      : null,
  };
}

/**
 * Decodes the body that follows a header: the annotation chunks, then the payload, which is
 * decompressed when the COMPRESSED flag is set (the flag is then cleared, as Pyro5 does).
 *
 * Aliasing: annotation values, and the payload when it was not compressed, are `subarray` views
 * of `body`; they stay valid as long as `body` is not overwritten.
 *
 * @param header the decoded header
 * @param body exactly `header.annotationsSize + header.dataSize` bytes
 * @param options the size limit (bounds the decompressed payload)
 * @returns the message
 * @throws {ProtocolError} for a body of the wrong length, malformed annotation chunks or
 * undecompressable data
 * @throws {MessageTooLargeError} when the payload decompresses beyond the size limit
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { decodeBody, decodeHeader, encodeMessage, HEADER_SIZE } from "./message.ts";
 * const bytes = encodeMessage({
 *   type: 4, flags: 0, seq: 1, serializerId: 1, data: new Uint8Array([9]),
 *   annotations: new Map([["ABCD", new Uint8Array([1, 2])]]), correlationId: null,
 * });
 * const message = decodeBody(decodeHeader(bytes), bytes.subarray(HEADER_SIZE));
 * assert(message.annotations.get("ABCD")?.length === 2 && message.data[0] === 9);
 * ```
 */
export function decodeBody(
  header: MessageHeader,
  body: Uint8Array,
  options: MessageOptions = {},
): Message {
  const annotationsSize = header.annotationsSize;
  if (body.length !== annotationsSize + header.dataSize) {
    throw new ProtocolError("payload length doesn't match message header");
  }
  // A map per message costs more than a small call's header: one is made only when needed.
  const annotations = annotationsSize === 0 ? NO_ANNOTATIONS : new Map<string, Uint8Array>();
  let i = 0;
  while (i < annotationsSize) {
    if (annotationsSize - i < ANNOTATION_HEADER_SIZE) {
      throw new ProtocolError(`invalid annotation chunk at offset ${i}: truncated chunk header`);
    }
    const b0 = body[i], b1 = body[i + 1], b2 = body[i + 2], b3 = body[i + 3];
    if ((b0 | b1 | b2 | b3) & 0x80) {
      throw new ProtocolError(`invalid annotation chunk at offset ${i}: id is not ascii`);
    }
    const id = String.fromCharCode(b0, b1, b2, b3);
    const length = readU32(body, i + 4);
    const start = i + ANNOTATION_HEADER_SIZE;
    if (length > annotationsSize - start) {
      throw new ProtocolError(
        `invalid annotation chunk at offset ${i}: '${id}' length ${length} overruns the annotations`,
      );
    }
    annotations.set(id, body.subarray(start, start + length));
    i = start + length;
  }
  let flags = header.flags;
  let data = body.subarray(annotationsSize);
  if (flags & MessageFlags.COMPRESSED) {
    data = decompress(data, options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE);
    flags &= ~MessageFlags.COMPRESSED;
  }
  return {
    type: header.type,
    flags,
    seq: header.seq,
    serializerId: header.serializerId,
    data,
    annotations,
    correlationId: header.correlationId,
  };
}

/**
 * Decodes one whole message (header, annotations, payload) from exactly its bytes.
 *
 * Aliasing: annotation values and an uncompressed payload are views of `bytes`.
 *
 * @param bytes exactly one encoded message
 * @param options the size limit
 * @returns the message
 * @throws {ProtocolError} for any malformation, including a length that disagrees with the header
 * @throws {MessageTooLargeError} when the message exceeds the size limit
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { decodeMessage, encodeMessage, MessageFlags } from "./message.ts";
 * const sent = {
 *   type: 5, flags: 0, seq: 3, serializerId: 1, data: new Uint8Array(500).fill(65),
 *   annotations: new Map(), correlationId: new Uint8Array(16).fill(1),
 * };
 * const got = decodeMessage(encodeMessage(sent, { compress: true }));
 * assert(got.data.length === 500 && got.flags === MessageFlags.CORR_ID);
 * ```
 */
export function decodeMessage(bytes: Uint8Array, options: MessageOptions = {}): Message {
  const header = decodeHeader(bytes, options);
  if (bytes.length !== HEADER_SIZE + header.annotationsSize + header.dataSize) {
    throw new ProtocolError("payload length doesn't match message header");
  }
  return decodeBody(header, bytes.subarray(HEADER_SIZE), options);
}

function checkUint(value: number, max: number, field: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`Invalid message ${field}: ${value} is not an integer from 0 to ${max}`);
  }
}

function isAnnotationId(id: string): boolean {
  if (typeof id !== "string" || id.length !== 4) return false;
  for (let k = 0; k < 4; k++) {
    if (id.charCodeAt(k) > 0x7f) return false;
  }
  return true;
}

function writeU16(out: Uint8Array, offset: number, value: number): void {
  out[offset] = value >>> 8;
  out[offset + 1] = value;
}

function writeU32(out: Uint8Array, offset: number, value: number): void {
  out[offset] = value >>> 24;
  out[offset + 1] = value >>> 16;
  out[offset + 2] = value >>> 8;
  out[offset + 3] = value;
}

function readU16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] << 8) | bytes[offset + 1];
}

function readU32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) |
    bytes[offset + 3]) >>> 0;
}

function compress(data: Uint8Array): Uint8Array {
  const out = deflateSync(data, { level: COMPRESSION_LEVEL });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

function decompress(data: Uint8Array, maxSize: number): Uint8Array {
  let out: Uint8Array;
  try {
    out = inflateSync(data, { maxOutputLength: Math.max(1, Math.min(maxSize, MAX_INFLATE)) });
  } catch (error) {
    if ((error as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE") {
      throw new MessageTooLargeError(
        `message too large (decompressed payload exceeds max=${maxSize})`,
        { cause: error },
      );
    }
    throw new ProtocolError(`invalid compressed data: ${(error as Error).message}`, {
      cause: error,
    });
  }
  // zlib hands out a Buffer that may sit in a larger pooled ArrayBuffer: copy small results so a
  // kept message does not pin the whole pool, and expose a plain Uint8Array either way.
  if (out.byteLength <= SMALL_INFLATE_COPY && out.buffer.byteLength !== out.byteLength) {
    return new Uint8Array(out);
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
