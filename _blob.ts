/**
 * Pass-through payloads (Pyro5's `SerializedBlob`): a call whose single argument stays
 * serialized, so a dispatcher can forward it without decoding it (and without knowing its
 * classes). On the wire, exactly as Pyro5: the message has the KEEP_SERIALIZED flag, a `BLBI`
 * annotation holding `marshal.dumps((info, objectId, method))`, and the payload is an ordinary
 * call whose arguments slot holds the blob's data. Internal: `client.ts` exports
 * {@linkcode SerializedBlob}.
 *
 * @module
 */
import { ProtocolError, SerializeError } from "./errors.ts";
import type { Message } from "./protocol/message.ts";
import {
  createSerializer,
  type DecodedCall,
  isPlainObject,
  PyTuple,
  type Serializer,
  tuple,
} from "./serializers/mod.ts";

/** The annotation id carrying `(info, objectId, method)`. */
export const BLOB_ANNOTATION = "BLBI";

/** Decodes a received message's payload into the call's arguments slot. */
type BlobDecoder = (message: Message) => unknown;

/**
 * Data that travels serialized through intermediaries (Pyro5's `SerializedBlob`). Pass it as
 * the only argument of a remote call. The receiving method gets a `SerializedBlob` whose
 * {@linkcode SerializedBlob.deserialized} decodes the data on demand; passing that blob on to
 * another proxy forwards the original bytes untouched, in their own serializer (the reply comes
 * back in it too). A Python Pyro5 dispatcher labels forwarded bytes with its proxy's serializer
 * instead, so give it proxies with the senders' serializer (`_pyroSerializer`). Python Pyro5's
 * own `deserialized()` gets json blobs wrong (it unpacks the call dict's keys); ours does not.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SerializedBlob } from "./client.ts";
 * const blob = new SerializedBlob("topic", { value: 42 });
 * assert(blob.info === "topic" && !blob.containsBlob);
 * assert((blob.deserialized() as { value: number }).value === 42);
 * ```
 */
export class SerializedBlob {
  /** Small descriptive data (an id, a topic); it must be marshallable. */
  readonly info: unknown;
  #data: unknown;
  #message: Message | null;
  #decode: BlobDecoder | null;

  /**
   * Wraps data to send as a blob.
   *
   * @param info descriptive data, sent in the `BLBI` annotation (marshallable values only)
   * @param data the payload; it is what the receiver's `deserialized()` returns
   */
  constructor(info: unknown, data: unknown) {
    this.info = info;
    this.#data = data;
    this.#message = null;
    this.#decode = null;
  }

  /**
   * A blob that holds a received message, still serialized (the daemon makes these).
   *
   * @param info the blob's info from the `BLBI` annotation
   * @param message the received message
   * @param decode decodes the message payload's arguments slot
   * @returns the blob
   */
  static fromMessage(info: unknown, message: Message, decode: BlobDecoder): SerializedBlob {
    const blob = new SerializedBlob(info, undefined);
    blob.#message = message;
    blob.#decode = decode;
    return blob;
  }

  /** True when the blob holds a received, still serialized message (Pyro5's `_contains_blob`). */
  get containsBlob(): boolean {
    return this.#message !== null;
  }

  /** The serializer id of the held message, or null. */
  get serializerId(): number | null {
    return this.#message?.serializerId ?? null;
  }

  /**
   * The data, decoded now if it is still serialized.
   *
   * @returns the data
   * @throws {SerializeError} when the held payload cannot be decoded
   */
  deserialized(): unknown {
    if (this.#message === null) return this.#data;
    return this.#decode!(this.#message);
  }

  /**
   * The call payload to send this blob with: the held message's bytes when the serializer is the
   * same, else the data encoded as a call (Pyro5's layout for that serializer).
   *
   * @param serializer the sending proxy's serializer
   * @param objectId the target object id
   * @param method the method name
   * @returns the payload bytes
   */
  payloadFor(serializer: Serializer, objectId: string, method: string): Uint8Array {
    const message = this.#message;
    if (message !== null && message.serializerId === serializer.id) return message.data;
    const data = this.deserialized();
    if (Array.isArray(data)) return serializer.dumpsCall(objectId, method, data, {});
    // Pyro5 puts the blob's data itself in the arguments slot, whatever it is.
    if (serializer.name === "json") {
      return serializer.dumps({ object: objectId, method, params: data, kwargs: {} });
    }
    return serializer.dumps(tuple<unknown>(objectId, method, data, {}));
  }
}

/**
 * The arguments slot of a serialized call, decoded (what a blob's `deserialized()` gives).
 *
 * @param serializer the payload's serializer
 * @param data the payload
 * @returns the arguments slot
 * @throws {SerializeError} when the payload is not a call
 */
export function blobData(serializer: Serializer, data: Uint8Array): unknown {
  const call = serializer.loads(data);
  if (Array.isArray(call) && call.length === 4) return call[2];
  if (isPlainObject(call) && "params" in call) return call.params;
  throw new SerializeError("invalid blob payload: not a serialized call");
}

/**
 * The `BLBI` annotation for a call: `marshal.dumps((info, objectId, method))`.
 *
 * @param info the blob's info
 * @param objectId the target object id
 * @param method the method name
 * @returns the annotation bytes
 * @throws {SerializeError} when the info is not marshallable
 */
export function encodeBlobInfo(info: unknown, objectId: string, method: string): Uint8Array {
  return createSerializer("marshal").dumps(tuple<unknown>(info, objectId, method));
}

/**
 * Reads a KEEP_SERIALIZED request (Pyro5's `__deserializeBlobArgs`): the object and method come
 * from the `BLBI` annotation, the single argument is a blob holding the message.
 *
 * @param message the request
 * @param decode decodes the payload's arguments slot later, on demand
 * @returns the call, with the blob as its only argument
 * @throws {ProtocolError} when the annotation is missing or malformed
 */
export function decodeBlobCall(message: Message, decode: BlobDecoder): DecodedCall {
  const raw = message.annotations.get(BLOB_ANNOTATION);
  if (raw === undefined) throw new ProtocolError("keep-serialized call without BLBI annotation");
  let info: unknown;
  try {
    info = createSerializer("marshal").loads(raw);
  } catch (error) {
    throw new ProtocolError("invalid BLBI annotation", { cause: error });
  }
  if (
    !(info instanceof PyTuple) || info.length !== 3 || typeof info[1] !== "string" ||
    typeof info[2] !== "string"
  ) {
    throw new ProtocolError("invalid BLBI annotation: expected (info, objectId, method)");
  }
  return {
    objectId: info[1],
    method: info[2],
    args: [SerializedBlob.fromMessage(info[0], message, decode)],
    kwargs: {},
  };
}
