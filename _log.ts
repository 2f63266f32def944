/**
 * Logging like Pyro5's: nothing unless `LOGLEVEL` is set (`PYRO_LOGLEVEL`), then lines in
 * Python's `logging` format appended to `LOGFILE` (`PYRO_LOGFILE`, default `pyro5.log`;
 * `{stderr}` for standard error):
 *
 * ```
 * [2026-12-04 15:17:37.123,Pyro5.server,DEBUG] connected 127.0.0.1:50412 - unencrypted
 * ```
 *
 * With `LOGWIRE` (and level DEBUG) every message's header and body are logged as Pyro5's
 * `protocol.log_wiredata` does. The daemon and the name server log through this one module.
 *
 * @module
 */
import type { PyroConfig } from "./config.ts";
import type { WireEvent } from "./protocol/connection.ts";
import { HEADER_SIZE, type Message, MessageFlags } from "./protocol/message.ts";

/** Python's `logging` level numbers by name. */
const LEVELS: Readonly<Record<string, number>> = Object.freeze({
  NOTSET: 0,
  DEBUG: 10,
  INFO: 20,
  WARN: 30,
  WARNING: 30,
  ERROR: 40,
  FATAL: 50,
  CRITICAL: 50,
});

const OFF = Number.POSITIVE_INFINITY;

type Level = "DEBUG" | "INFO" | "WARNING" | "ERROR";

/**
 * A named logger configured from `LOGLEVEL`, `LOGFILE` and `LOGWIRE`.
 *
 * Writing a file needs `--allow-write` for it; the logger checks that when it is made.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { makeConfig } from "./config.ts";
 * import { PyroLogger } from "./_log.ts";
 * const file = await Deno.makeTempFile();
 * const log = new PyroLogger("Pyro5.test", makeConfig({ LOGLEVEL: "INFO", LOGFILE: file }));
 * log.debug("not written");
 * log.info("written");
 * assert.match(await Deno.readTextFile(file), /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3},Pyro5\.test,INFO\] written\n$/);
 * await Deno.remove(file);
 * ```
 */
export class PyroLogger {
  /** The logger's name (`Pyro5.server`, ...). */
  readonly name: string;
  #level: number;
  #file: string | null;
  #wire: boolean;
  #failed = false;

  /**
   * @param name the logger's name
   * @param config LOGLEVEL, LOGFILE, LOGWIRE
   * @throws {RangeError} for an unknown level name
   * @throws {Deno.errors.NotCapable} (and other file errors) when the log file cannot be written
   */
  constructor(name: string, config: Pick<PyroConfig, "LOGLEVEL" | "LOGFILE" | "LOGWIRE">) {
    this.name = name;
    const levelName = config.LOGLEVEL;
    if (!levelName) {
      this.#level = OFF;
    } else if (levelName in LEVELS) {
      this.#level = LEVELS[levelName];
    } else {
      throw new RangeError(
        `Invalid LOGLEVEL: ${levelName} (one of DEBUG, INFO, WARNING, ERROR, CRITICAL)`,
      );
    }
    this.#file = config.LOGFILE === "{stderr}" ? null : config.LOGFILE || "pyro5.log";
    this.#wire = config.LOGWIRE && this.#level <= LEVELS.DEBUG;
    // As Python's logging opens its file at configuration: a file that cannot be written is
    // an error now, not a silent loss later.
    if (this.#level !== OFF && this.#file !== null) {
      Deno.writeTextFileSync(this.#file, "", { append: true, create: true });
    }
  }

  /**
   * Whether a message of this level would be written.
   *
   * @param level the level
   * @returns true when it would
   */
  isEnabledFor(level: Level): boolean {
    return LEVELS[level] >= this.#level;
  }

  /** Whether every wire message is logged (`LOGWIRE` at level DEBUG). */
  get wire(): boolean {
    return this.#wire;
  }

  /**
   * Logs at DEBUG level.
   *
   * @param message the text
   */
  debug(message: string): void {
    if (LEVELS.DEBUG >= this.#level) this.#write("DEBUG", message);
  }

  /**
   * Logs at INFO level.
   *
   * @param message the text
   */
  info(message: string): void {
    if (LEVELS.INFO >= this.#level) this.#write("INFO", message);
  }

  /**
   * Logs at WARNING level.
   *
   * @param message the text
   */
  warning(message: string): void {
    if (LEVELS.WARNING >= this.#level) this.#write("WARNING", message);
  }

  /**
   * Logs at ERROR level.
   *
   * @param message the text
   */
  error(message: string): void {
    if (LEVELS.ERROR >= this.#level) this.#write("ERROR", message);
  }

  /**
   * Logs one wire message at DEBUG level as Pyro5's `log_wiredata` does, when `LOGWIRE` is on.
   *
   * @param owner who logs it ("daemon", "proxy")
   * @param wire the message received, or the bytes sent
   */
  wireMessage(owner: string, wire: WireEvent): void {
    if (!this.#wire) return;
    const text = `${owner} wiredata ${wire.direction}`;
    this.#write(
      "DEBUG",
      wire.direction === "received" ? wireText(text, wire.message) : sentWireText(text, wire.bytes),
    );
  }

  #write(level: Level, message: string): void {
    const line = `[${timestamp(new Date())},${this.name},${level}] ${message}\n`;
    try {
      if (this.#file === null) Deno.stderr.writeSync(new TextEncoder().encode(line));
      else Deno.writeTextFileSync(this.#file, line, { append: true });
    } catch (error) {
      // Like Python's logging: a failed write is reported, and the program goes on.
      if (!this.#failed) console.error(`Logging error: ${(error as Error).message}`);
      this.#failed = true;
    }
  }
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, "0");
}

/** Python logging's `%(asctime)s.%(msecs)03d` with `%Y-%m-%d %H:%M:%S`, in local time. */
function timestamp(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.` +
    pad(d.getMilliseconds(), 3);
}

/**
 * Python's `repr()` of bytes: `b'...'` with `\t`, `\n`, `\r`, `\\`, `\xNN` escapes, and double
 * quotes when the bytes hold a `'` but no `"`.
 *
 * @param bytes the bytes
 * @returns the text
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { pythonBytesRepr } from "./_log.ts";
 * assert(pythonBytesRepr(new Uint8Array([97, 0, 39, 10])) === `b"a\\x00'\\n"`);
 * ```
 */
export function pythonBytesRepr(bytes: Uint8Array): string {
  const quote = bytes.includes(0x27) && !bytes.includes(0x22) ? 0x22 : 0x27;
  let out = "";
  for (const byte of bytes) {
    if (byte === quote || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte === 0x09) out += "\\t";
    else if (byte === 0x0a) out += "\\n";
    else if (byte === 0x0d) out += "\\r";
    else if (byte < 0x20 || byte >= 0x7f) out += `\\x${byte.toString(16).padStart(2, "0")}`;
    else out += String.fromCharCode(byte);
  }
  const q = String.fromCharCode(quote);
  return `b${q}${out}${q}`;
}

function uuidText(bytes: Uint8Array | null): string {
  const hex = [...(bytes ?? new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

/**
 * A received message as Pyro5's `protocol.log_wiredata` writes it: the header's fields, then the
 * payload as a Python bytes literal.
 *
 * @param text what happened ("daemon wiredata received")
 * @param message the message
 * @returns the log text (two lines)
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { wireText } from "./_log.ts";
 * const text = wireText("proxy wiredata received", {
 *   type: 5, flags: 0, seq: 1, serializerId: 3, data: new Uint8Array([123, 125]),
 *   annotations: new Map(), correlationId: null,
 * });
 * assert.strictEqual(text, "proxy wiredata received: msgtype=5 flags=0x0 ser=3 seq=1 " +
 *   "num_annotations=0 corr_id=00000000-0000-0000-0000-000000000000\ndata=b'{}'");
 * ```
 */
export function wireText(text: string, message: Message): string {
  return `${text}: msgtype=${message.type} flags=0x${message.flags.toString(16)} ` +
    `ser=${message.serializerId} seq=${message.seq} num_annotations=${message.annotations.size} ` +
    `corr_id=${uuidText(message.correlationId)}\ndata=${pythonBytesRepr(message.data)}`;
}

/**
 * A message being sent as Pyro5's `log_wiredata` writes its `SendingMessage`: the fields from
 * the header (the flags without CORR_ID, no annotation count), and all its bytes, header
 * included, as its `data` holds them.
 *
 * @param text what happened ("daemon wiredata sending")
 * @param bytes the encoded message
 * @returns the log text (two lines)
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sentWireText } from "./_log.ts";
 * import { encodeMessage } from "./protocol/message.ts";
 * const bytes = encodeMessage({
 *   type: 4, flags: 0, seq: 7, serializerId: 2, data: new Uint8Array([78]),
 *   annotations: new Map(), correlationId: null,
 * });
 * assert.match(sentWireText("proxy wiredata sending", bytes), /^proxy wiredata sending: msgtype=4 flags=0x0 ser=2 seq=7 num_annotations=0 corr_id=0{8}-/);
 * ```
 */
export function sentWireText(text: string, bytes: Uint8Array): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const flags = view.getUint16(8) & ~MessageFlags.CORR_ID;
  return `${text}: msgtype=${bytes[6]} flags=0x${flags.toString(16)} ser=${bytes[7]} ` +
    `seq=${view.getUint16(10)} num_annotations=0 ` +
    `corr_id=${uuidText(bytes.subarray(HEADER_SIZE - 20, HEADER_SIZE - 4))}\n` +
    `data=${pythonBytesRepr(bytes)}`;
}
