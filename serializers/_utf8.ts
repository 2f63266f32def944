/**
 * UTF-8 by hand, for the encoders' short-string paths (cheaper than `TextEncoder` there).
 *
 * @module
 */

/**
 * Writes one code point as UTF-8 (a lone surrogate as its three bytes, as Python's
 * "surrogatepass" does).
 *
 * @param buf the output, with room for 4 more bytes at `pos`
 * @param pos where to write
 * @param codePoint 0 to 0x10FFFF
 * @returns the position after the bytes written
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { writeCodePoint } from "./_utf8.ts";
 * const buf = new Uint8Array(8);
 * const end = writeCodePoint(buf, writeCodePoint(buf, 0, 0xe9), 0x1f600);
 * assert.deepStrictEqual(buf.subarray(0, end), new TextEncoder().encode("é😀"));
 * ```
 */
export function writeCodePoint(buf: Uint8Array, pos: number, codePoint: number): number {
  const c = codePoint;
  if (c < 0x80) {
    buf[pos++] = c;
  } else if (c < 0x800) {
    buf[pos++] = 0xc0 | (c >> 6);
    buf[pos++] = 0x80 | (c & 0x3f);
  } else if (c < 0x10000) {
    buf[pos++] = 0xe0 | (c >> 12);
    buf[pos++] = 0x80 | ((c >> 6) & 0x3f);
    buf[pos++] = 0x80 | (c & 0x3f);
  } else {
    buf[pos++] = 0xf0 | (c >> 18);
    buf[pos++] = 0x80 | ((c >> 12) & 0x3f);
    buf[pos++] = 0x80 | ((c >> 6) & 0x3f);
    buf[pos++] = 0x80 | (c & 0x3f);
  }
  return pos;
}
