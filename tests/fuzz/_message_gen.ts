/**
 * Fuzz support for the message layer: random valid messages and damage aimed at the header's
 * size fields, flags and annotation chunks.
 *
 * @module
 */
import { HEADER_SIZE, type Message, MessageFlags } from "../../protocol/message.ts";
import { Random } from "./_random.ts";

/** Makes random valid messages and random mutations of their bytes. */
export class MessageFuzzer extends Random {
  /** A payload: mostly compressible (so compression kicks in), sometimes noise. */
  payload(size: number): Uint8Array {
    const out = new Uint8Array(size);
    const noisy = this.chance(0.3);
    for (let i = 0; i < size; i++) out[i] = noisy ? this.int(256) : 97 + ((i * 7) % 11);
    return out;
  }

  /** A random valid message (no COMPRESSED flag; CORR_ID only with a correlation id). */
  message(): Message {
    const annotations = new Map<string, Uint8Array>();
    const count = this.chance(0.5) ? 0 : this.int(4);
    for (let k = 0; k < count; k++) {
      annotations.set(
        String.fromCharCode(65 + this.int(26), 66, 67, 48 + k),
        this.payload(this.int(40)),
      );
    }
    const sizes = [0, 1, 10, 99, 100, 101, 500, 3000];
    return {
      type: 1 + this.int(6),
      flags: this.int(128) & ~(MessageFlags.COMPRESSED | MessageFlags.CORR_ID),
      seq: this.int(65536),
      serializerId: 1 + this.int(4),
      data: this.payload(sizes[this.int(sizes.length)]),
      annotations,
      correlationId: this.chance(0.3) ? this.payload(16) : null,
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
          bytes = Uint8Array.from([...bytes, ...this.payload(1 + this.int(20))]);
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
          bytes = Uint8Array.from([...bytes.subarray(0, 6), ...this.payload(this.int(80))]);
      }
    }
    return bytes;
  }

  /** A new value for a 32-bit size field: near the old one, small, huge or anything. */
  field32(current: number): number {
    switch (this.int(4)) {
      case 0:
        return current + 1 - this.int(3);
      case 1:
        return this.int(256);
      case 2:
        return 0xffffffff - this.int(16);
      default:
        return Math.floor(this.next() * 0x100000000);
    }
  }
}
