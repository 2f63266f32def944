/**
 * The benchmark's command line: {@linkcode parseOptions} turns `deno task bench` arguments into
 * {@linkcode BenchOptions}; {@linkcode USAGE} documents them.
 *
 * @module
 */
import {
  type BenchSerializer,
  SERIALIZER_NAMES,
  type Side,
  type Workload,
  WORKLOADS,
} from "./_common.ts";

/** How client and server processes are pinned to CPUs. */
export type PinMode = "same" | "split" | "none";

/** One client -> server pairing. */
export interface Pairing {
  /** Short id: `pp`, `pd`, `dp`, `dd` (client letter, then server letter). */
  id: string;
  /** The client's language. */
  client: Side;
  /** The server's language. */
  server: Side;
  /** Table heading, e.g. `Py->Deno`. */
  label: string;
}

/** All pairings, in table order; the first (Python -> Python) is the baseline of the ratios. */
export const PAIRINGS: readonly Pairing[] = Object.freeze([
  { id: "pp", client: "py", server: "py", label: "Py->Py" },
  { id: "pd", client: "py", server: "deno", label: "Py->Deno" },
  { id: "dp", client: "deno", server: "py", label: "Deno->Py" },
  { id: "dd", client: "deno", server: "deno", label: "Deno->Deno" },
]);

/** What one benchmark run does. */
export interface BenchOptions {
  /** Repeats of the whole matrix; medians are reported. */
  repeats: number;
  /** Measured milliseconds per workload (and per ceiling). */
  durationMs: number;
  /** Unmeasured warm-up milliseconds before each workload. */
  warmupMs: number;
  /** CPU pinning: `same` = client and server on one CPU, `split` = one CPU each, `none`. */
  pin: PinMode;
  /** The CPUs pinning uses: `same` uses the first, `split` the first (client) and second. */
  cpus: number[];
  /** Serializers to run. */
  serializers: BenchSerializer[];
  /** Workloads to run. */
  workloads: Workload[];
  /** Pairings to run. */
  pairings: Pairing[];
  /** Bytes per bulk transfer. */
  bulkBytes: number;
  /** Calls per batch. */
  batchSize: number;
  /** Idle connections for the memory measurement; 0 skips it. */
  connections: number;
  /** Subscriber counts of the message bus row; empty skips it. */
  busSubscribers: number[];
  /** Print JSON instead of the table. */
  json: boolean;
  /** Show the usage text and stop. */
  help: boolean;
}

/** The command-line help. */
export const USAGE = `deno task bench [options]

Runs each workload in four pairings (Python/Deno client -> Python/Deno daemon) with each
serializer, plus bare TCP ceilings and the daemon's memory with idle connections, all on
loopback, and prints a table with ratios and a PASS/MISS targets section.

  --repeats N         repeats of everything; the median is reported (default 3)
  --duration MS       measured time per workload (default 1000)
  --warmup MS         warm-up time before each workload (default 750)
  --pin MODE          same  : client and server share one CPU (taskset -c CPU), the default,
                              as the reference figures were measured; numbers swing 2x otherwise
                      split : client on one CPU, server on another
                      none  : no pinning
  --cpus A[,B]        CPUs for pinning (default 0,1)
  --serializers LIST  comma list of serpent,json,marshal,msgpack (default all)
  --workloads LIST    comma list of ${WORKLOADS.join(",")} (default all)
  --pairings LIST     comma list of pp,pd,dp,dd (client letter, server letter; default all)
  --bulk-mb N         MB (10^6 bytes) per bulk transfer (default 10)
  --batch N           calls per batch (default 100)
  --connections N     idle connections for the daemon memory figure; 0 skips (default 1000)
  --bus-subscribers L subscriber counts of the message bus row (default 1,10); 0 skips it
  --quick             tiny smoke run: 1 repeat, 150 ms per workload, 100 connections,
                      a bus row with 2 subscribers
  --json              machine-readable JSON instead of the table
  --help              this text`;

function list<T extends string>(value: string, allowed: readonly T[], what: string): T[] {
  const items = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const item of items) {
    if (!allowed.includes(item as T)) {
      throw new RangeError(`Unknown ${what}: ${item} (one of ${allowed.join(", ")})`);
    }
  }
  if (items.length === 0) throw new RangeError(`Empty list of ${what}s`);
  return allowed.filter((a) => items.includes(a));
}

function count(value: string | undefined, flag: string, min: number): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < min) {
    throw new RangeError(`${flag} needs an integer of at least ${min}, got ${value}`);
  }
  return n;
}

/**
 * Parses the command line.
 *
 * @param args the arguments (`Deno.args`)
 * @returns the options
 * @throws {RangeError} for an unknown option or a bad value
 *
 * @example
 * ```ts
 * import { parseOptions } from "./_options.ts";
 * const options = parseOptions(["--repeats", "5", "--serializers", "msgpack,json", "--json"]);
 * console.assert(options.repeats === 5 && options.json);
 * console.assert(options.serializers.join() === "json,msgpack");
 * ```
 */
export function parseOptions(args: readonly string[]): BenchOptions {
  const options: BenchOptions = {
    repeats: 3,
    durationMs: 1000,
    warmupMs: 750,
    pin: "same",
    cpus: [0, 1],
    serializers: [...SERIALIZER_NAMES],
    workloads: [...WORKLOADS],
    pairings: [...PAIRINGS],
    bulkBytes: 10_000_000,
    batchSize: 100,
    connections: 1000,
    busSubscribers: [1, 10],
    json: false,
    help: false,
  };
  const quick = args.includes("--quick");
  if (quick) {
    options.repeats = 1;
    options.durationMs = 150;
    options.warmupMs = 50;
    options.connections = 100;
    options.busSubscribers = [2];
  }
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    const value = (): string => {
      const v = args[++i];
      if (v === undefined) throw new RangeError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--quick":
        break;
      case "--json":
        options.json = true;
        break;
      case "--help":
      case "-h":
        options.help = true;
        break;
      case "--repeats":
        options.repeats = count(value(), flag, 1);
        break;
      case "--duration":
        options.durationMs = count(value(), flag, 1);
        break;
      case "--warmup":
        options.warmupMs = count(value(), flag, 0);
        break;
      case "--pin": {
        const mode = value();
        if (mode !== "same" && mode !== "split" && mode !== "none") {
          throw new RangeError(`--pin is same, split or none, got ${mode}`);
        }
        options.pin = mode;
        break;
      }
      case "--cpus":
        options.cpus = value().split(",").map((c) => count(c.trim(), flag, 0));
        break;
      case "--serializers":
        options.serializers = list(value(), SERIALIZER_NAMES, "serializer");
        break;
      case "--workloads":
        options.workloads = list(value(), WORKLOADS, "workload");
        break;
      case "--pairings": {
        const ids = list(value(), PAIRINGS.map((p) => p.id), "pairing");
        options.pairings = PAIRINGS.filter((p) => ids.includes(p.id));
        break;
      }
      case "--bulk-mb":
        options.bulkBytes = count(value(), flag, 1) * 1_000_000;
        break;
      case "--batch":
        options.batchSize = count(value(), flag, 1);
        break;
      case "--connections":
        options.connections = count(value(), flag, 0);
        break;
      case "--bus-subscribers": {
        const text = value();
        options.busSubscribers = text === "0"
          ? []
          : text.split(",").map((c) => count(c.trim(), flag, 1));
        break;
      }
      default:
        throw new RangeError(`Unknown option: ${flag} (see --help)`);
    }
  }
  if (options.cpus.length === 0) throw new RangeError("--cpus needs at least one CPU");
  return options;
}

/**
 * The CPU a process of one side runs on under the pinning mode, or null for no pinning.
 *
 * @param options the options
 * @param role `client` or `server`
 * @returns the CPU number, or null
 *
 * @example
 * ```ts
 * import { cpuFor, parseOptions } from "./_options.ts";
 * console.assert(cpuFor(parseOptions([]), "server") === 0);
 * console.assert(cpuFor(parseOptions(["--pin", "split"]), "server") === 1);
 * ```
 */
export function cpuFor(options: BenchOptions, role: "client" | "server"): number | null {
  if (options.pin === "none") return null;
  if (options.pin === "same" || role === "client") return options.cpus[0];
  return options.cpus[1] ?? options.cpus[0];
}
