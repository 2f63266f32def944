/**
 * What the benchmark's processes share: the workload names, the small payload, the shape of a
 * result line, and a few helpers for child processes (JSON config in, JSON lines out).
 *
 * Every child process (bench/deno_server.ts, bench/deno_client.ts, bench/py_server.py,
 * bench/py_client.py) takes one JSON argument and writes one JSON object per line on stdout;
 * bench/main.ts reads them. The Python scripts hold their own copy of {@linkcode SMALL_VALUE}.
 *
 * @module
 */

/** The workloads, in table order. */
import { DEFAULT_CONFIG, type PyroConfig } from "../config.ts";
export const WORKLOADS = [
  "small",
  "connect",
  "oneway",
  "batch",
  "upload",
  "download",
  "iterator",
  "ns",
] as const;

/** One workload's name. */
export type Workload = typeof WORKLOADS[number];

/** The serializers, in table order. */
export const SERIALIZER_NAMES = ["serpent", "json", "marshal", "msgpack"] as const;

/** One serializer's name. */
export type BenchSerializer = typeof SERIALIZER_NAMES[number];

/** Client and server languages. */
export type Side = "py" | "deno";

/**
 * The small mixed dict the `small`, `connect` and `batch` workloads echo (bench/py_client.py has
 * the same value): strings, an int, a float, a bool, None, a list and a nested dict.
 */
export const SMALL_VALUE: Readonly<Record<string, unknown>> = Object.freeze({
  name: "benchmark",
  id: 12345,
  ratio: 0.5,
  active: true,
  tags: ["red", "green", "blue"],
  nested: { x: 1, y: -2 },
  nothing: null,
});

/** The object id the bench daemons register their service under. */
export const SERVICE_ID = "bench.service";
/** The name every bench name server holds (and the workload `ns` looks up). */
export const NS_LOOKUP_NAME = "bench.lookup";

/** What a client is told to do (the JSON argument of a client process). */
export interface ClientConfig {
  /** `pyro` runs Pyro workloads, `pingpong`/`bulk` the bare TCP ceilings, `idle` holds connections. */
  mode: "pyro" | "pingpong" | "bulk" | "idle" | "http";
  /** The daemon's service URI (mode `pyro`, `idle`); the gateway's `/pyro/` URL (mode `http`). */
  uri?: string;
  /** Name server host and port (workload `ns`). */
  nsHost?: string;
  /** Name server port. */
  nsPort?: number;
  /** Ceiling server host (modes `pingpong`, `bulk`). */
  host?: string;
  /** Ceiling server port. */
  port?: number;
  /** Serializer of the proxies. */
  serializer?: BenchSerializer;
  /** The workloads to run, in order. */
  workloads?: Workload[];
  /** Measured time per workload, in milliseconds. */
  durationMs: number;
  /** Unmeasured warm-up time per workload, in milliseconds. */
  warmupMs: number;
  /** Size of one bulk transfer (workloads `upload`, `download`, mode `bulk`). */
  bulkBytes?: number;
  /** Calls per batch (workload `batch`). */
  batchSize?: number;
  /** Connections to open and hold (mode `idle`). */
  connections?: number;
  /** Folder of the test certificates: speak TLS, trusting its `ca.pem`. */
  tls?: string;
  /** Numbers of concurrent HTTP clients, one figure each (mode `http`). */
  clients?: number[];
}

/** One measured figure, as a client reports it (one JSON line). */
export interface RunResult {
  /** The workload (or `pingpong` / `bulk` for the ceilings). */
  workload: string;
  /** Operations (calls, items, lookups, bytes for bulk) done in the measured time. */
  ops?: number;
  /** Measured seconds. */
  seconds?: number;
  /** The figure: operations per second, or MB/s for bulk transfers. */
  rate?: number;
  /** Median latency of one call, microseconds (workload `small`). */
  p50Us?: number;
  /** 99th percentile latency of one call, microseconds (workload `small`). */
  p99Us?: number;
  /** Why this combination cannot run (reported as "n/a"). */
  na?: string;
  /** What went wrong (reported as "ERR"). */
  error?: string;
}

/**
 * Why a workload cannot run with a serializer and client language, or null when it can.
 *
 * @param workload the workload
 * @param serializer the serializer
 * @param client the client's language
 * @returns the reason, or null
 *
 * @example
 * ```ts
 * import { notApplicable } from "./_common.ts";
 * console.assert(notApplicable("upload", "json", "deno") !== null);
 * console.assert(notApplicable("small", "json", "deno") === null);
 * ```
 */
export function notApplicable(
  workload: Workload,
  serializer: BenchSerializer,
  client: Side,
): string | null {
  if (serializer === "json" && (workload === "upload" || workload === "download")) {
    return "json cannot carry bytes";
  }
  if (serializer === "marshal" && workload === "batch" && client === "py") {
    return "Python Pyro5's marshal client cannot send batches (None kwargs)";
  }
  return null;
}

/**
 * The value at quantile `q` (0 to 1) of sorted numbers, by nearest rank.
 *
 * @param sorted ascending numbers
 * @param q the quantile
 * @returns the value, or NaN for no numbers
 *
 * @example
 * ```ts
 * import { quantile } from "./_common.ts";
 * console.assert(quantile([1, 2, 3, 4], 0.5) === 2);
 * ```
 */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

/**
 * The median of some numbers (mean of the middle two for an even count); NaN for none.
 *
 * @param values the numbers (not changed)
 * @returns the median
 *
 * @example
 * ```ts
 * import { median } from "./_common.ts";
 * console.assert(median([3, 1, 2]) === 2 && median([1, 2, 3, 4]) === 2.5);
 * ```
 */
export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Writes one JSON line to stdout, whole.
 *
 * @param value what to write
 */
export function emit(value: unknown): void {
  const bytes = new TextEncoder().encode(JSON.stringify(value) + "\n");
  let offset = 0;
  while (offset < bytes.length) offset += Deno.stdout.writeSync(bytes.subarray(offset));
}

/**
 * Resolves when stdin reaches its end (the coordinator closed it, or died).
 *
 * @returns a promise settled at end of input
 */
export async function stdinClosed(): Promise<void> {
  const buffer = new Uint8Array(256);
  try {
    while (await Deno.stdin.read(buffer) !== null) {
      // input is ignored; only its end matters
    }
  } catch {
    // a broken stdin counts as closed
  }
}

/**
 * A pattern of `size` bytes (not all zero, the same on both sides).
 *
 * @param size the length
 * @returns the bytes
 *
 * @example
 * ```ts
 * import { patternBytes } from "./_common.ts";
 * console.assert(patternBytes(300)[257] === 1);
 * ```
 */
export function patternBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = i & 0xff;
  return bytes;
}

/**
 * The proxy configuration for TLS runs: trust the test CA of `certDir` (undefined: plain).
 *
 * @param certDir the certificates' folder, or undefined
 * @returns the configuration, or undefined for the defaults
 */
export function tlsClientConfig(certDir: string | undefined): Readonly<PyroConfig> | undefined {
  if (!certDir) return undefined;
  return { ...DEFAULT_CONFIG, SSL: true, SSL_CACERTS: `${certDir}/ca.pem` };
}

/**
 * The daemon configuration for TLS runs: the test server certificate of `certDir` (one-way).
 *
 * @param certDir the certificates' folder, or undefined
 * @returns the configuration, or undefined for the defaults
 */
export function tlsServerConfig(certDir: string | undefined): Readonly<PyroConfig> | undefined {
  if (!certDir) return undefined;
  return {
    ...DEFAULT_CONFIG,
    SSL: true,
    SSL_SERVERCERT: `${certDir}/server.pem`,
    SSL_SERVERKEY: `${certDir}/server.key`,
  };
}
