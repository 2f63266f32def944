/**
 * Type codes of Python's marshal format (version 4, what Python 3.11's `marshal.dumps` writes).
 *
 * Every object starts with one type byte. Bit 0x80 ({@linkcode FLAG_REF}) on that byte asks the
 * reader to remember the object in its reference table, in the order the flags appear (a
 * container is remembered before its items); {@linkcode TYPE_REF} followed by an int32 index
 * stands for a remembered object. All integers are little endian.
 *
 * | Code | Name                 | Layout after the type byte                               |
 * | ---- | -------------------- | -------------------------------------------------------- |
 * | `0`  | NULL                 | (ends a dict)                                            |
 * | `N`  | None                 |                                                          |
 * | `F`  | False                |                                                          |
 * | `T`  | True                 |                                                          |
 * | `S`  | StopIteration        | (refused here)                                           |
 * | `.`  | Ellipsis             | (refused here)                                           |
 * | `i`  | INT                  | int32                                                    |
 * | `I`  | INT64                | int64 (read only; old writers)                           |
 * | `l`  | LONG                 | int32 n (sign = sign of the int), abs(n) uint16 digits of 15 bits, least significant first |
 * | `f`  | FLOAT                | uint8 length, ASCII repr (read only)                     |
 * | `g`  | BINARY_FLOAT         | float64                                                  |
 * | `x`  | COMPLEX              | two FLOAT bodies (read only)                             |
 * | `y`  | BINARY_COMPLEX       | float64 real, float64 imag                               |
 * | `s`  | STRING (bytes)       | int32 length, bytes                                      |
 * | `u`  | UNICODE              | int32 length, UTF-8 (surrogates passed through)          |
 * | `t`  | INTERNED             | as UNICODE                                               |
 * | `a`  | ASCII                | int32 length, ASCII (read as Latin-1)                    |
 * | `A`  | ASCII_INTERNED       | as ASCII                                                 |
 * | `z`  | SHORT_ASCII          | uint8 length, ASCII                                      |
 * | `Z`  | SHORT_ASCII_INTERNED | as SHORT_ASCII                                           |
 * | `(`  | TUPLE                | int32 n, n objects                                       |
 * | `)`  | SMALL_TUPLE          | uint8 n, n objects                                       |
 * | `[`  | LIST                 | int32 n, n objects                                       |
 * | `{`  | DICT                 | key, value pairs, then NULL                              |
 * | `<`  | SET                  | int32 n, n objects                                       |
 * | `>`  | FROZENSET            | int32 n, n objects                                       |
 * | `r`  | REF                  | int32 index into the reference table                     |
 * | `c`  | CODE                 | (refused here: never evaluated)                          |
 *
 * @module
 */

/** Bit set on a type byte when the reader must remember the object for later TYPE_REFs. */
export const FLAG_REF = 0x80;

/** Ends a dict. */
export const TYPE_NULL = 0x30; // "0"
/** None. */
export const TYPE_NONE = 0x4e; // "N"
/** False. */
export const TYPE_FALSE = 0x46; // "F"
/** True. */
export const TYPE_TRUE = 0x54; // "T"
/** StopIteration (refused). */
export const TYPE_STOPITER = 0x53; // "S"
/** Ellipsis (refused). */
export const TYPE_ELLIPSIS = 0x2e; // "."
/** int32. */
export const TYPE_INT = 0x69; // "i"
/** int64 (only read). */
export const TYPE_INT64 = 0x49; // "I"
/** Arbitrary size int in 15-bit digits. */
export const TYPE_LONG = 0x6c; // "l"
/** Float as text (only read). */
export const TYPE_FLOAT = 0x66; // "f"
/** float64. */
export const TYPE_BINARY_FLOAT = 0x67; // "g"
/** Complex as text (only read). */
export const TYPE_COMPLEX = 0x78; // "x"
/** Two float64. */
export const TYPE_BINARY_COMPLEX = 0x79; // "y"
/** bytes. */
export const TYPE_STRING = 0x73; // "s"
/** Interned str, UTF-8. */
export const TYPE_INTERNED = 0x74; // "t"
/** Back-reference. */
export const TYPE_REF = 0x72; // "r"
/** Tuple, int32 size. */
export const TYPE_TUPLE = 0x28; // "("
/** List. */
export const TYPE_LIST = 0x5b; // "["
/** Dict. */
export const TYPE_DICT = 0x7b; // "{"
/** Code object (refused). */
export const TYPE_CODE = 0x63; // "c"
/** str, UTF-8. */
export const TYPE_UNICODE = 0x75; // "u"
/** Unknown (refused). */
export const TYPE_UNKNOWN = 0x3f; // "?"
/** Set. */
export const TYPE_SET = 0x3c; // "<"
/** Frozenset. */
export const TYPE_FROZENSET = 0x3e; // ">"
/** ASCII str, int32 size. */
export const TYPE_ASCII = 0x61; // "a"
/** Interned ASCII str, int32 size. */
export const TYPE_ASCII_INTERNED = 0x41; // "A"
/** Tuple, uint8 size. */
export const TYPE_SMALL_TUPLE = 0x29; // ")"
/** ASCII str, uint8 size. */
export const TYPE_SHORT_ASCII = 0x7a; // "z"
/** Interned ASCII str, uint8 size. */
export const TYPE_SHORT_ASCII_INTERNED = 0x5a; // "Z"
