/**
 * Configuration like Pyro5's: the same item names and defaults, frozen, passed to the objects that
 * use them rather than held globally. {@linkcode configFromEnv} reads `PYRO_*` environment
 * variables the way Pyro5 does (same names, same parsing of numbers, booleans and lists).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { configFromEnv, DEFAULT_CONFIG } from "./config.ts";
 * const config = configFromEnv({ PYRO_NS_PORT: "9999" });
 * assert(config.NS_PORT === 9999 && DEFAULT_CONFIG.NS_PORT === 9090);
 * ```
 *
 * @module
 */

/** Every configuration item, named as in Pyro5 (`Pyro5.config`). Times are in seconds. */
export interface PyroConfig {
  /** Host name or address a daemon binds to. */
  HOST: string;
  /** Host of the name server. */
  NS_HOST: string;
  /** TCP port of the name server. */
  NS_PORT: number;
  /** UDP port of the name server's broadcast responder. */
  NS_BCPORT: number;
  /** Address the broadcast responder binds to; null for the name server's host. */
  NS_BCHOST: string | null;
  /** Seconds between the name server's auto-clean passes; 0 disables it. */
  NS_AUTOCLEAN: number;
  /** Seconds a lookup waits for a name to appear; 0 for none. */
  NS_LOOKUP_DELAY: number;
  /** Public host of a daemon behind NAT, or null. */
  NATHOST: string | null;
  /** Public port of a daemon behind NAT; 0 for the same port. */
  NATPORT: number;
  /** zlib-compress message payloads above 100 bytes. */
  COMPRESSION: boolean;
  /** Pyro5's server type ("thread" or "multiplex"); the Deno daemon is always event driven. */
  SERVERTYPE: string;
  /** Seconds a network operation may take; 0 waits forever. */
  COMMTIMEOUT: number;
  /** Seconds between checks of a server loop's shutdown condition. */
  POLLTIMEOUT: number;
  /** How many times a proxy retries a call after a connection problem. */
  MAX_RETRIES: number;
  /** Set SO_REUSEADDR on server sockets. */
  SOCK_REUSE: boolean;
  /** Set TCP_NODELAY on sockets. */
  SOCK_NODELAY: boolean;
  /** Include local variables in tracebacks (Python only; kept for compatibility). */
  DETAILED_TRACEBACK: boolean;
  /** Most concurrent connections a daemon serves (Pyro5's thread pool size). */
  THREADPOOL_SIZE: number;
  /** Least worker threads (Python only; kept for compatibility). */
  THREADPOOL_SIZE_MIN: number;
  /** Largest message, in bytes, sent or accepted. */
  MAX_MESSAGE_SIZE: number;
  /** Addresses name server broadcasts go to. */
  BROADCAST_ADDRS: string[];
  /** 4, 6, or 0 to let the system choose. */
  PREFER_IP_VERSION: number;
  /** The serializer proxies use: serpent, json, marshal or msgpack. */
  SERIALIZER: string;
  /** Serpent writes bytes as bytes literals instead of base64 dicts. */
  SERPENT_BYTES_REPR: boolean;
  /** Stream iterator results item by item. */
  ITER_STREAMING: boolean;
  /** Seconds a stream may live; 0 for no limit. */
  ITER_STREAM_LIFETIME: number;
  /** Seconds a stream outlives its disconnected client; 0 ends it at once. */
  ITER_STREAM_LINGER: number;
  /** Where the log goes when LOGLEVEL is set: a file appended to, or `{stderr}`. */
  LOGFILE: string;
  /** Least level logged (DEBUG, INFO, WARNING, ERROR, CRITICAL); null logs nothing. */
  LOGLEVEL: string | null;
  /** Log every wire message's header and body (at DEBUG level). */
  LOGWIRE: boolean;
  /** Use TLS. */
  SSL: boolean;
  /** Server certificate file (PEM). */
  SSL_SERVERCERT: string;
  /** Server private key file (PEM). */
  SSL_SERVERKEY: string;
  /** Server key password (not supported by Deno; must be empty). */
  SSL_SERVERKEYPASSWD: string;
  /** Require client certificates. */
  SSL_REQUIRECLIENTCERT: boolean;
  /** Client certificate file (PEM). */
  SSL_CLIENTCERT: string;
  /** Client private key file (PEM). */
  SSL_CLIENTKEY: string;
  /** Client key password (not supported by Deno; must be empty). */
  SSL_CLIENTKEYPASSWD: string;
  /** CA certificates file (PEM) to trust. */
  SSL_CACERTS: string;
}

/**
 * Pyro5 5.15's built-in defaults, frozen (without the environment: see {@linkcode defaultConfig}).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { DEFAULT_CONFIG } from "./config.ts";
 * assert(DEFAULT_CONFIG.SERIALIZER === "serpent" && Object.isFrozen(DEFAULT_CONFIG));
 * ```
 */
export const DEFAULT_CONFIG: Readonly<PyroConfig> = Object.freeze({
  HOST: "localhost",
  NS_HOST: "localhost",
  NS_PORT: 9090,
  NS_BCPORT: 9091,
  NS_BCHOST: null,
  NS_AUTOCLEAN: 0.0,
  NS_LOOKUP_DELAY: 0.0,
  NATHOST: null,
  NATPORT: 0,
  COMPRESSION: false,
  SERVERTYPE: "thread",
  COMMTIMEOUT: 0.0,
  POLLTIMEOUT: 2.0,
  MAX_RETRIES: 0,
  SOCK_REUSE: true,
  SOCK_NODELAY: false,
  DETAILED_TRACEBACK: false,
  THREADPOOL_SIZE: 80,
  THREADPOOL_SIZE_MIN: 4,
  MAX_MESSAGE_SIZE: 1024 * 1024 * 1024,
  BROADCAST_ADDRS: Object.freeze(["<broadcast>", "0.0.0.0"]) as unknown as string[],
  PREFER_IP_VERSION: 0,
  SERIALIZER: "serpent",
  SERPENT_BYTES_REPR: false,
  ITER_STREAMING: true,
  ITER_STREAM_LIFETIME: 0.0,
  ITER_STREAM_LINGER: 30.0,
  LOGFILE: "pyro5.log",
  LOGLEVEL: null,
  LOGWIRE: false,
  SSL: false,
  SSL_SERVERCERT: "",
  SSL_SERVERKEY: "",
  SSL_SERVERKEYPASSWD: "",
  SSL_REQUIRECLIENTCERT: false,
  SSL_CLIENTCERT: "",
  SSL_CLIENTKEY: "",
  SSL_CLIENTKEYPASSWD: "",
  SSL_CACERTS: "",
});

const ENV_PREFIX = "PYRO_";

/** Items that are Python floats (Pyro5 parses them with `float()`, the other numbers with `int()`). */
const FLOAT_ITEMS: ReadonlySet<string> = new Set([
  "NS_AUTOCLEAN",
  "NS_LOOKUP_DELAY",
  "COMMTIMEOUT",
  "POLLTIMEOUT",
  "ITER_STREAM_LIFETIME",
  "ITER_STREAM_LINGER",
]);

// What Python's int() and float() accept (digits may be grouped with underscores).
const DIGITS = String.raw`\d+(?:_\d+)*`;
const PY_INT = new RegExp(String.raw`^\s*[+-]?${DIGITS}\s*$`);
const PY_FLOAT = new RegExp(
  String.raw`^\s*[+-]?(?:(?:${DIGITS}(?:\.(?:${DIGITS})?)?|\.${DIGITS})(?:[eE][+-]?${DIGITS})?` +
    String.raw`|inf|infinity|nan)\s*$`,
  "i",
);

function parseNumber(item: string, text: string): number {
  const isFloat = FLOAT_ITEMS.has(item);
  if (!(isFloat ? PY_FLOAT : PY_INT).test(text)) {
    throw new RangeError(`Invalid Pyro environment config value: ${ENV_PREFIX}${item}=${text}`);
  }
  const plain = text.trim().replaceAll("_", "").toLowerCase().replace(
    /^([+-]?)inf(inity)?$/,
    "$1Infinity",
  );
  return Number(plain);
}

function parseEnvValue(item: keyof PyroConfig, text: string): unknown {
  const current = DEFAULT_CONFIG[item];
  if (Array.isArray(current)) return text.split(",").map((v) => v.trim());
  if (typeof current === "boolean") {
    const lower = text.toLowerCase();
    if (["0", "off", "no", "false"].includes(lower)) return false;
    if (["1", "yes", "on", "true"].includes(lower)) return true;
    throw new RangeError(`Invalid boolean value: ${ENV_PREFIX}${item}=${lower}`);
  }
  if (typeof current === "number") return parseNumber(item, text);
  return text;
}

/**
 * Whether a configuration item is a Python float (a time in seconds), for showing it as Pyro5
 * does (`2.0`, not `2`).
 *
 * @param item the item's name
 * @returns true for float items
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { isFloatItem } from "./config.ts";
 * assert(isFloatItem("COMMTIMEOUT") && !isFloatItem("NS_PORT"));
 * ```
 */
export function isFloatItem(item: string): boolean {
  return FLOAT_ITEMS.has(item);
}

/**
 * Makes a configuration from defaults, then `PYRO_*` environment variables, then overrides.
 * Like Pyro5, an unknown `PYRO_` variable is an error.
 *
 * Needs `--allow-env` when `env` is not given.
 *
 * @param env the environment to read; defaults to `Deno.env.toObject()`
 * @param overrides items that win over both
 * @returns a frozen configuration
 * @throws {RangeError} for an unknown item or a value of the wrong type
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { configFromEnv } from "./config.ts";
 * const config = configFromEnv({ PYRO_COMPRESSION: "yes", PYRO_SERIALIZER: "json" });
 * assert(config.COMPRESSION === true && config.SERIALIZER === "json");
 * ```
 */
export function configFromEnv(
  env: Record<string, string | undefined> = Deno.env.toObject(),
  overrides: Partial<PyroConfig> = {},
): Readonly<PyroConfig> {
  const config: Record<string, unknown> = { ...DEFAULT_CONFIG };
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || text === undefined) continue;
    const item = name.slice(ENV_PREFIX.length);
    if (!(item in DEFAULT_CONFIG)) {
      throw new RangeError(`Invalid Pyro environment config variable: ${name}`);
    }
    config[item] = parseEnvValue(item as keyof PyroConfig, text);
  }
  return Object.freeze({ ...config, ...overrides }) as Readonly<PyroConfig>;
}

/**
 * Makes a configuration from defaults and overrides only, ignoring the environment.
 *
 * @param overrides items to change
 * @returns a frozen configuration
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { makeConfig } from "./config.ts";
 * assert(makeConfig({ COMMTIMEOUT: 2 }).COMMTIMEOUT === 2);
 * ```
 */
export function makeConfig(overrides: Partial<PyroConfig> = {}): Readonly<PyroConfig> {
  return Object.freeze({ ...DEFAULT_CONFIG, ...overrides });
}

/**
 * The `PYRO_*` variables of this process that may be read without a permission prompt: all of
 * them with `--allow-env`, otherwise those of the known items that `--allow-env=PYRO_X` grants
 * one by one. Without env permission: none, and no prompt.
 *
 * @returns variable name to value
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { pyroEnvironment } from "./config.ts";
 * assert(Object.keys(pyroEnvironment()).every((name) => name.startsWith("PYRO_")));
 * ```
 */
export function pyroEnvironment(): Record<string, string> {
  const found: Record<string, string> = {};
  if (Deno.permissions.querySync({ name: "env" }).state === "granted") {
    for (const [name, value] of Object.entries(Deno.env.toObject())) {
      if (name.startsWith(ENV_PREFIX)) found[name] = value;
    }
    return found;
  }
  for (const item of Object.keys(DEFAULT_CONFIG)) {
    const variable = ENV_PREFIX + item;
    if (Deno.permissions.querySync({ name: "env", variable }).state !== "granted") continue;
    const value = Deno.env.get(variable);
    if (value !== undefined) found[variable] = value;
  }
  return found;
}

let processDefaults: { config: Readonly<PyroConfig> } | { error: unknown } | undefined;

/**
 * The configuration used when none is passed: {@linkcode DEFAULT_CONFIG} with the process's
 * `PYRO_*` environment applied, as Pyro5 reads its environment at start-up. Read once, on the
 * first call, from the variables {@linkcode pyroEnvironment} may read (never prompting);
 * `new Daemon()`, `new PyroProxy(...)`, `locateNS()`, `resolve()` and `startNameServer()` use it
 * unless given a `config`.
 *
 * @returns the frozen configuration (the same object on every call)
 * @throws {RangeError} on every call, when a `PYRO_*` variable is unknown or has a bad value
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { defaultConfig } from "./config.ts";
 * assert(Object.isFrozen(defaultConfig()) && defaultConfig() === defaultConfig());
 * ```
 */
export function defaultConfig(): Readonly<PyroConfig> {
  processDefaults ??= (() => {
    try {
      return { config: configFromEnv(pyroEnvironment()) };
    } catch (error) {
      return { error };
    }
  })();
  if ("error" in processDefaults) throw processDefaults.error;
  return processDefaults.config;
}

/**
 * A daemon's defences against hostile or broken clients: limits that are not Pyro5 config items
 * (Pyro5 has no such limits), with {@linkcode DEFAULT_LIMITS}; override them per daemon with
 * `new Daemon({ limits: { ... } })`. The message size and connection limits stay the Pyro5 items
 * `MAX_MESSAGE_SIZE` and `THREADPOOL_SIZE`.
 */
export interface Limits {
  /**
   * Seconds a new connection has to complete its Pyro handshake (send its whole connect
   * message), even when COMMTIMEOUT is 0 (a shorter COMMTIMEOUT wins); 0 sets no own limit.
   */
  handshakeTimeout: number;
  /**
   * Most connections waiting for their handshake at once; when one more arrives, the oldest
   * waiting one is closed. They do not count against the connection limit (`THREADPOOL_SIZE`),
   * which counts handshaken connections only, so clients that never handshake lock no one out.
   */
  maxPendingHandshakes: number;
  /**
   * Most bytes the daemon holds, over all its connections, in messages still arriving that are
   * too big for a connection's read buffer (64 KiB), including decompressed payloads being
   * inflated. Past it the connections holding most are closed until the total fits again.
   */
  maxBufferedBytes: number;
  /** Most item streams open at once on one connection; one more is refused with an error. */
  maxStreamsPerConnection: number;
  /**
   * Most item streams open at once in the daemon, lingering ones included; one more is
   * refused with an error.
   */
  maxStreams: number;
}

/**
 * The default {@linkcode Limits}: 5 s to handshake, 256 connections waiting for their handshake,
 * 1 GiB of buffered incomplete messages (the default `MAX_MESSAGE_SIZE`), 1,000 item streams per
 * connection and 10,000 per daemon.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { DEFAULT_LIMITS } from "./config.ts";
 * assert(DEFAULT_LIMITS.handshakeTimeout === 5 && Object.isFrozen(DEFAULT_LIMITS));
 * ```
 */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  handshakeTimeout: 5,
  maxPendingHandshakes: 256,
  maxBufferedBytes: 1024 * 1024 * 1024,
  maxStreamsPerConnection: 1000,
  maxStreams: 10_000,
});

/**
 * Limits from the defaults and overrides, checked.
 *
 * @param overrides the limits to change
 * @returns frozen limits
 * @throws {RangeError} for a negative or non-numeric limit, or a count below 1
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { makeLimits } from "./config.ts";
 * assert(makeLimits({ maxStreams: 5 }).maxStreams === 5);
 * ```
 */
export function makeLimits(overrides: Partial<Limits> = {}): Readonly<Limits> {
  const limits = { ...DEFAULT_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    const least = name === "handshakeTimeout" ? 0 : 1;
    if (typeof value !== "number" || !(value >= least)) {
      throw new RangeError(`Invalid limit ${name}: ${value} (at least ${least})`);
    }
  }
  return Object.freeze(limits);
}
