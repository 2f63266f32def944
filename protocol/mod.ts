/**
 * The Pyro5 wire protocol, version 502: {@linkcode encodeMessage} / {@linkcode decodeMessage}
 * turn one message into bytes and back (no sockets), and {@linkcode MessageConnection} frames
 * messages over a byte stream such as a `Deno.Conn`, and {@linkcode listenLinks} /
 * {@linkcode connectLink} open those streams: TCP, Unix sockets, TLS.
 *
 * Header layout (40 bytes, all integers big-endian):
 *
 * | Offset | Size | Field                                                  |
 * | -----: | ---: | ------------------------------------------------------ |
 * |   0x00 |    4 | tag `"PYRO"`                                           |
 * |   0x04 |    2 | protocol version, 502                                  |
 * |   0x06 |    1 | message type ({@linkcode MessageType})                 |
 * |   0x07 |    1 | serializer id (serpent 1, marshal 2, json 3, msgpack 4) |
 * |   0x08 |    2 | flags ({@linkcode MessageFlags})                       |
 * |   0x0a |    2 | sequence number                                        |
 * |   0x0c |    4 | payload (data) length                                  |
 * |   0x10 |    4 | annotations length (all chunks together)               |
 * |   0x14 |   16 | correlation id (zero unless the CORR_ID flag is set)   |
 * |   0x24 |    2 | reserved, zero                                         |
 * |   0x26 |    2 | magic number 0x4dc5                                    |
 *
 * Then the annotation chunks, each a 4-byte ASCII id, a 4-byte length and that many bytes;
 * then the payload, zlib-compressed (flag COMPRESSED) when compression is on and the payload is
 * longer than 100 bytes. Payload plus annotations may not exceed the maximum message size
 * (default 1 GiB), checked on send and on receive before any allocation.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { decodeMessage, encodeMessage, MessageFlags, MessageType } from "./mod.ts";
 * const bytes = encodeMessage({
 *   type: MessageType.INVOKE, flags: MessageFlags.ONEWAY, seq: 1, serializerId: 1,
 *   data: new TextEncoder().encode("payload"), annotations: new Map(), correlationId: null,
 * });
 * const message = decodeMessage(bytes);
 * assert(message.type === MessageType.INVOKE && message.flags === MessageFlags.ONEWAY);
 * assert(new TextDecoder().decode(bytes.subarray(0, 4)) === "PYRO");
 * ```
 *
 * @module
 */
export * from "./message.ts";
export * from "./connection.ts";
export * from "./transport.ts";
