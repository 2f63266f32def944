/**
 * Turns the raw figures of a benchmark run into its summary (medians of the repeats, ratios,
 * fractions of the ceilings, targets PASS/MISS) and prints that as a table.
 *
 * @module
 */
import { type BenchSerializer, median, type RunResult, type Workload } from "./_common.ts";
import { type BenchOptions, PAIRINGS } from "./_options.ts";

/** Title and unit of each workload. */
export const WORKLOAD_INFO: Readonly<
  Record<Workload, { title: string; unit: string; ceiling: "pingpong" | "bulk" }>
> = Object.freeze({
  small: {
    title: "small calls (echo of a small mixed dict)",
    unit: "calls/s",
    ceiling: "pingpong",
  },
  connect: {
    title: "new connections (connect, one call, release)",
    unit: "conn/s",
    ceiling: "pingpong",
  },
  oneway: { title: "oneway calls, counted at the server", unit: "calls/s", ceiling: "pingpong" },
  batch: { title: "batched calls (batches of 100)", unit: "calls/s", ceiling: "pingpong" },
  upload: {
    title: "bulk upload, client -> server (10 MB of bytes)",
    unit: "MB/s",
    ceiling: "bulk",
  },
  download: {
    title: "bulk download, server -> client (10 MB of bytes)",
    unit: "MB/s",
    ceiling: "bulk",
  },
  iterator: { title: "remote iterator items", unit: "items/s", ceiling: "pingpong" },
  ns: {
    title: "name server lookups (each side's own name server)",
    unit: "lookups/s",
    ceiling: "pingpong",
  },
});

/** The series name under which TLS results are kept (msgpack, one-way TLS). */
export const TLS_SERIES = "msgpack+tls";
/** The workloads measured over TLS. */
export const TLS_WORKLOADS: readonly Workload[] = Object.freeze(["small", "upload", "download"]);

/** The series name under which HTTP gateway results are kept. */
export const GATEWAY_SERIES = "http";
/** The numbers of concurrent HTTP clients the gateway row is measured with. */
export const GATEWAY_CLIENTS: readonly number[] = Object.freeze([1, 32]);

/** The raw figures of a run, as bench/main.ts collects them. */
export interface RawData {
  /** The options of the run. */
  options: BenchOptions;
  /** Facts about the machine and the peers. */
  environment: Record<string, unknown>;
  /** Ceiling figures per repeat: ping-pong round trips/s and bulk copy MB/s. */
  ceiling: { pingpong: number[]; bulk: number[] };
  /** Results per `workload/serializer/pairing`, one per repeat. */
  results: Map<string, RunResult[]>;
  /** Memory of the Deno daemon, or null when skipped. */
  memory: MemoryFigures | null;
  /** Message bus runs, one per repeat, bus, storage and subscriber count. */
  bus?: BusRun[];
  /** Problems met (failed processes, timeouts). */
  problems: string[];
}

/** One message bus measurement (bench/bus_client.ts against one bus). */
export interface BusRun {
  /** Whose bus: pyro-deno's, or the Python one built as Pyro5's example (bench/py_bus.py). */
  bus: "deno" | "py";
  /** Its storage. */
  storage: "memory" | "sqlite";
  /** Subscribers, all in one client process. */
  subscribers: number;
  /** Acknowledged sends/s. */
  published?: number;
  /** Deliveries/s (messages x subscribers, first send to last delivery). */
  delivered?: number;
  /** What went wrong. */
  error?: string;
}

/** The bus row's medians for one storage and subscriber count. */
export interface BusRow {
  /** The storage. */
  storage: "memory" | "sqlite";
  /** Subscribers. */
  subscribers: number;
  /** Medians per bus; null when it did not run or failed. */
  py: { published: number; delivered: number } | null;
  /** Medians per bus; null when it did not run or failed. */
  deno: { published: number; delivered: number } | null;
  /** Errors met. */
  errors: string[];
}

/** The Deno daemon's memory before and with idle connections. */
export interface MemoryFigures {
  /** Idle connections asked for. */
  connections: number;
  /** Connections that were open at the measurement. */
  open: number;
  /** RSS before the connections, bytes. */
  rssBefore: number;
  /** RSS with the connections open, bytes. */
  rssWith: number;
  /** Peak RSS of the daemon process, bytes. */
  peak: number;
  /** Why the figure is missing or partial, if so. */
  problem?: string;
}

/** One cell of a workload table: the median of the repeats. */
export interface Cell {
  /** Median rate, or null (n/a, error). */
  rate: number | null;
  /** Median of the runs' median latencies, microseconds (workload small). */
  p50Us?: number;
  /** Median of the runs' 99th percentile latencies, microseconds (workload small). */
  p99Us?: number;
  /** The rate of each repeat. */
  runs: number[];
  /** Why it cannot run. */
  na?: string;
  /** Errors of failed repeats. */
  errors?: string[];
}

/** One target of the issue, evaluated. */
export interface Target {
  /** What is required. */
  name: string;
  /** The required value, as text. */
  required: string;
  /** The measured value, as text. */
  measured: string;
  /** PASS, MISS, or n/a when not measured in this run. */
  status: "PASS" | "MISS" | "n/a";
}

/** Everything a run found, as `--json` prints it. */
export interface Summary {
  /** Options and environment. */
  meta: Record<string, unknown>;
  /** Median ceilings. */
  ceiling: {
    pingpongPerSec: number;
    bulkMBps: number;
    runs: { pingpong: number[]; bulk: number[] };
  };
  /** Per workload, per serializer, per pairing id. */
  workloads: Partial<Record<Workload, Record<string, Record<string, Cell>>>>;
  /** Deno daemon memory. */
  memory: MemoryFigures | null;
  /** Over TLS (msgpack), per workload, per pairing id (pp, dd). */
  tls: Partial<Record<Workload, Record<string, Cell>>>;
  /**
   * HTTP gateway requests/s, per `gateway<clients>`, per side (pp: Pyro5's gateway and Python
   * servers, dd: ours and Deno servers).
   */
  gateway: Record<string, Record<string, Cell>>;
  /** The message bus row: per storage and subscriber count. */
  bus: BusRow[];
  /** The targets. */
  targets: Target[];
  /** Problems met. */
  problems: string[];
}

/**
 * The key of a result in {@linkcode RawData.results}.
 *
 * @param workload the workload
 * @param serializer the serializer
 * @param pairing the pairing id
 * @returns the key
 */
export function resultKey(workload: string, serializer: string, pairing: string): string {
  return `${workload}/${serializer}/${pairing}`;
}

function cellOf(runs: RunResult[] | undefined): Cell {
  if (!runs || runs.length === 0) return { rate: null, runs: [], errors: ["not run"] };
  const na = runs.find((r) => r.na)?.na;
  if (na) return { rate: null, runs: [], na };
  const ok = runs.filter((r) => typeof r.rate === "number" && Number.isFinite(r.rate));
  const errors = runs.filter((r) => r.error).map((r) => r.error!);
  const cell: Cell = {
    rate: ok.length ? median(ok.map((r) => r.rate!)) : null,
    runs: ok.map((r) => r.rate!),
  };
  if (ok.some((r) => r.p50Us !== undefined)) {
    cell.p50Us = median(ok.map((r) => r.p50Us!));
    cell.p99Us = median(ok.map((r) => r.p99Us!));
  }
  if (errors.length) cell.errors = errors;
  return cell;
}

/**
 * Summarizes raw figures: medians, targets.
 *
 * @param raw the raw figures
 * @returns the summary
 */
export function summarize(raw: RawData): Summary {
  const { options } = raw;
  const workloads: Summary["workloads"] = {};
  for (const workload of options.workloads) {
    const rows: Record<string, Record<string, Cell>> = {};
    for (const serializer of options.serializers) {
      const row: Record<string, Cell> = {};
      for (const pairing of options.pairings) {
        row[pairing.id] = cellOf(raw.results.get(resultKey(workload, serializer, pairing.id)));
      }
      rows[serializer] = row;
    }
    workloads[workload] = rows;
  }
  const tls: Summary["tls"] = {};
  for (const workload of TLS_WORKLOADS) {
    const row: Record<string, Cell> = {};
    for (const id of ["pp", "dd"]) {
      const runs = raw.results.get(resultKey(workload, TLS_SERIES, id));
      if (runs) row[id] = cellOf(runs);
    }
    if (Object.keys(row).length > 0) tls[workload] = row;
  }
  const bus: BusRow[] = [];
  for (const storage of ["memory", "sqlite"] as const) {
    for (const subscribers of options.busSubscribers ?? []) {
      const runs = (raw.bus ?? []).filter((r) =>
        r.storage === storage && r.subscribers === subscribers
      );
      if (runs.length === 0) continue;
      const of = (who: "py" | "deno") => {
        const ok = runs.filter((r) => r.bus === who && r.published !== undefined);
        return ok.length === 0 ? null : {
          published: median(ok.map((r) => r.published!)),
          delivered: median(ok.map((r) => r.delivered!)),
        };
      };
      const errors = runs.filter((r) => r.error).map((r) => `${r.bus} bus: ${r.error}`);
      bus.push({ storage, subscribers, py: of("py"), deno: of("deno"), errors });
    }
  }
  const gateway: Summary["gateway"] = {};
  for (const clients of GATEWAY_CLIENTS) {
    const row: Record<string, Cell> = {};
    for (const id of ["pp", "dd"]) {
      const runs = raw.results.get(resultKey(`gateway${clients}`, GATEWAY_SERIES, id));
      if (runs) row[id] = cellOf(runs);
    }
    if (Object.keys(row).length > 0) gateway[`gateway${clients}`] = row;
  }
  const summary: Summary = {
    meta: {
      ...raw.environment,
      repeats: options.repeats,
      durationMs: options.durationMs,
      warmupMs: options.warmupMs,
      pin: options.pin,
      cpus: options.cpus,
      bulkBytes: options.bulkBytes,
      batchSize: options.batchSize,
      pairings: options.pairings.map((p) => p.id),
    },
    ceiling: {
      pingpongPerSec: median(raw.ceiling.pingpong),
      bulkMBps: median(raw.ceiling.bulk),
      runs: raw.ceiling,
    },
    workloads,
    memory: raw.memory,
    tls,
    gateway,
    bus,
    targets: [],
    problems: raw.problems,
  };
  summary.targets = evaluateTargets(summary);
  return summary;
}

function rateOf(s: Summary, w: Workload, ser: BenchSerializer, pairing: string): number | null {
  return s.workloads[w]?.[ser]?.[pairing]?.rate ?? null;
}

function fmtRatio(x: number): string {
  return `${x.toFixed(2)}x`;
}

/**
 * The targets, evaluated on a summary (n/a where this run did not measure them).
 *
 * @param s the summary
 * @returns the targets
 */
export function evaluateTargets(s: Summary): Target[] {
  const targets: Target[] = [];
  const ratioTarget = (
    name: string,
    a: number | null,
    b: number | null,
    factor: number,
  ) => {
    if (a === null || b === null || !(b > 0)) {
      targets.push({
        name,
        required: `>= ${fmtRatio(factor)}`,
        measured: "not measured",
        status: "n/a",
      });
      return;
    }
    const ratio = a / b;
    targets.push({
      name,
      required: `>= ${fmtRatio(factor)}`,
      measured: `${fmtRatio(ratio)} (${fmtNumber(a)} vs ${fmtNumber(b)})`,
      status: ratio >= factor ? "PASS" : "MISS",
    });
  };
  const factors: [BenchSerializer, number][] = [
    ["serpent", 3],
    ["json", 3],
    ["marshal", 2],
    ["msgpack", 2],
  ];
  for (const [ser, factor] of factors) {
    ratioTarget(
      `small calls/s ${ser}: Deno->Deno vs Py->Py`,
      rateOf(s, "small", ser, "dd"),
      rateOf(s, "small", ser, "pp"),
      factor,
    );
  }
  const ceiling = s.ceiling.pingpongPerSec;
  ratioTarget(
    "small calls/s msgpack: Deno->Deno vs bare TCP ping-pong",
    rateOf(s, "small", "msgpack", "dd"),
    Number.isFinite(ceiling) ? ceiling : null,
    0.6,
  );
  for (const [ser] of factors) {
    ratioTarget(
      `small calls/s ${ser}: Py->Deno vs Py->Py`,
      rateOf(s, "small", ser, "pd"),
      rateOf(s, "small", ser, "pp"),
      1,
    );
  }
  for (const ser of ["msgpack", "marshal"] as const) {
    for (const w of ["upload", "download"] as const) {
      ratioTarget(
        `bulk ${w} MB/s ${ser}: Deno->Deno vs Py->Py`,
        rateOf(s, w, ser, "dd"),
        rateOf(s, w, ser, "pp"),
        2,
      );
    }
  }
  for (const [ser] of factors) {
    ratioTarget(
      `name server lookups/s ${ser}: Deno->Deno NS vs Py->Py NS`,
      rateOf(s, "ns", ser, "dd"),
      rateOf(s, "ns", ser, "pp"),
      3,
    );
  }
  for (const clients of GATEWAY_CLIENTS) {
    const row = s.gateway[`gateway${clients}`];
    ratioTarget(
      `HTTP gateway requests/s, ${clients} client${clients === 1 ? "" : "s"}: ours vs Pyro5's`,
      row?.dd?.rate ?? null,
      row?.pp?.rate ?? null,
      5,
    );
  }
  const memory = s.memory;
  const limit = 100 * 1024 * 1024;
  if (memory && !memory.problem && memory.open === memory.connections) {
    targets.push({
      name: `Deno daemon RSS with ${memory.connections} idle connections`,
      required: "< 100 MB",
      measured: fmtMiB(memory.rssWith),
      status: memory.connections >= 1000 ? (memory.rssWith < limit ? "PASS" : "MISS") : "n/a",
    });
  } else {
    targets.push({
      name: "Deno daemon RSS with 1000 idle connections",
      required: "< 100 MB",
      measured: memory?.problem ?? "not measured",
      status: "n/a",
    });
  }
  return targets;
}

/**
 * A number with thousands separators (no decimals from 100 up, 3 significant digits below).
 *
 * @param x the number
 * @returns the text
 *
 * @example
 * ```ts
 * import { fmtNumber } from "./_report.ts";
 * console.assert(fmtNumber(12345.6) === "12,346" && fmtNumber(1.234) === "1.23");
 * ```
 */
export function fmtNumber(x: number): string {
  if (!Number.isFinite(x)) return "-";
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString("en-US");
  return x.toPrecision(3);
}

function fmtMiB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function pad(text: string, width: number, left = false): string {
  return left ? text.padEnd(width) : text.padStart(width);
}

function cellText(cell: Cell | undefined, ceiling: number): string {
  if (!cell) return "-";
  if (cell.na) return "n/a";
  if (cell.rate === null) return "ERR";
  const pct = ceiling > 0 ? ` ${Math.round((100 * cell.rate) / ceiling)}%` : "";
  return `${fmtNumber(cell.rate)}${pct}`;
}

/**
 * The summary as a readable table: ceilings, one block per workload (each cell the median, then
 * its fraction of the ceiling, then ratios to Py->Py), latencies, memory, targets, notes.
 *
 * @param s the summary
 * @returns the text
 */
export function formatTable(s: Summary): string {
  const out: string[] = [];
  const m = s.meta;
  out.push(
    `pyro-deno benchmark: loopback, ${m.repeats} repeat(s) x ${m.durationMs} ms per workload ` +
      `(+${m.warmupMs} ms warm-up), medians shown`,
  );
  out.push(
    `pinning: ${m.pinText}; ${m.cpuCount} CPUs; deno ${m.deno}; python ${m.python}; ` +
      `Pyro5 ${m.pyro5}`,
  );
  out.push("");
  const pp = s.ceiling.pingpongPerSec;
  const bulk = s.ceiling.bulkMBps;
  out.push(
    `ceiling (bare Deno TCP, same pinning): ping-pong of 40 B ${fmtNumber(pp)} round trips/s; ` +
      `bulk copy over one connection ${fmtNumber(bulk)} MB/s`,
  );
  out.push("each cell: median, then its fraction of the ceiling (ping-pong for calls, bulk copy");
  out.push("for MB/s); ratio columns: the pairing's rate / Py->Py's rate");
  const ids = (m.pairings ?? []) as string[];
  const pairings = PAIRINGS.filter((p) => ids.includes(p.id));
  const colW = 15;
  const ratioPairings = pairings.filter((p) => p.id !== "pp");
  const hasPP = pairings.some((p) => p.id === "pp");
  for (
    const [workload, rows] of Object.entries(s.workloads) as [
      Workload,
      Record<string, Record<string, Cell>>,
    ][]
  ) {
    const info = WORKLOAD_INFO[workload];
    const ceiling = info.ceiling === "bulk" ? bulk : pp;
    out.push("");
    out.push(`${info.title}, ${info.unit}`);
    let head = pad("", 9, true);
    for (const p of pairings) head += pad(p.label, colW);
    if (hasPP) { for (const p of ratioPairings) head += pad(`${p.id.toUpperCase()}/PP`, 8); }
    out.push(head);
    const notes = new Set<string>();
    for (const [serializer, row] of Object.entries(rows)) {
      let line = pad(serializer, 9, true);
      for (const p of pairings) {
        const cell = row[p.id];
        line += pad(cellText(cell, ceiling), colW);
        if (cell?.na) notes.add(`n/a: ${cell.na}`);
        for (const e of cell?.errors ?? []) notes.add(`ERR ${serializer} ${p.label}: ${e}`);
      }
      if (hasPP) {
        const base = row.pp?.rate ?? null;
        for (const p of ratioPairings) {
          const r = row[p.id]?.rate ?? null;
          line += pad(base && r !== null ? fmtRatio(r / base) : "-", 8);
        }
      }
      out.push(line);
    }
    if (workload === "small") {
      out.push(`  latency per call, p50 / p99 in microseconds:`);
      for (const [serializer, row] of Object.entries(rows)) {
        let line = pad(`  ${serializer}`, 9, true);
        for (const p of pairings) {
          const c = row[p.id];
          line += pad(
            c?.p50Us !== undefined ? `${fmtNumber(c.p50Us)} / ${fmtNumber(c.p99Us!)}` : "-",
            colW,
          );
        }
        out.push(line);
      }
    }
    for (const note of notes) out.push(`  ${note}`);
  }
  const tlsRows = Object.entries(s.tls) as [Workload, Record<string, Cell>][];
  if (tlsRows.length > 0) {
    out.push("");
    out.push("over TLS (one-way, msgpack), next to the same figure in plain TCP");
    out.push(
      pad("", 9, true) + pad("Py->Py TLS", 15) + pad("Deno->Deno TLS", 16) + pad("DD/PP", 8) +
        pad("DD plain", 12),
    );
    for (const [workload, row] of tlsRows) {
      const show = (c: Cell | undefined) =>
        c?.rate != null ? fmtNumber(c.rate) : c?.na ? "n/a" : "ERR";
      const pp = row.pp?.rate ?? null;
      const dd = row.dd?.rate ?? null;
      const plain = s.workloads[workload]?.msgpack?.dd;
      out.push(
        pad(workload, 9, true) + pad(show(row.pp), 15) + pad(show(row.dd), 16) +
          pad(pp && dd ? fmtRatio(dd / pp) : "-", 8) + pad(plain ? show(plain) : "-", 12),
      );
    }
  }
  if (s.bus.length > 0) {
    out.push("");
    out.push(
      "message bus: acknowledged sends of a small dict, N subscribers in one process; " +
        "Python bus built as Pyro5's example",
    );
    out.push(
      pad("storage", 8, true) + pad("subs", 5) + pad("Py sent/s", 11) + pad("Py deliv/s", 12) +
        pad("Deno sent/s", 13) + pad("Deno deliv/s", 14) + pad("sent D/P", 10) +
        pad("deliv D/P", 11),
    );
    for (const row of s.bus) {
      const num = (x: number | undefined) => x === undefined ? "ERR" : fmtNumber(x);
      const ratio = (d?: number, p?: number) => d && p ? fmtRatio(d / p) : "-";
      out.push(
        pad(row.storage, 8, true) + pad(String(row.subscribers), 5) +
          pad(num(row.py?.published), 11) + pad(num(row.py?.delivered), 12) +
          pad(num(row.deno?.published), 13) + pad(num(row.deno?.delivered), 14) +
          pad(ratio(row.deno?.published, row.py?.published), 10) +
          pad(ratio(row.deno?.delivered, row.py?.delivered), 11),
      );
      for (const error of row.errors) out.push(`  ${error}`);
    }
  }
  const gatewayRows = Object.entries(s.gateway);
  if (gatewayRows.length > 0) {
    out.push("");
    out.push(
      "HTTP gateway, requests/s (GET /pyro/http.bench/http_echo?message=hello; each gateway with " +
        "its own name server and daemon, the same Deno HTTP client)",
    );
    out.push(
      pad("", 11, true) + pad("Pyro5 gateway", 15) + pad("pyro-deno gateway", 19) +
        pad("ours/Pyro5", 12),
    );
    for (const [key, row] of gatewayRows) {
      const show = (c: Cell | undefined) =>
        c?.rate != null ? fmtNumber(c.rate) : c?.na ? "n/a" : "ERR";
      const clients = Number(key.slice("gateway".length));
      const pp = row.pp?.rate ?? null;
      const dd = row.dd?.rate ?? null;
      out.push(
        pad(`${clients} client${clients === 1 ? "" : "s"}`, 11, true) + pad(show(row.pp), 15) +
          pad(show(row.dd), 19) + pad(pp && dd ? fmtRatio(dd / pp) : "-", 12),
      );
    }
  }
  out.push("");
  const mem = s.memory;
  if (mem) {
    out.push(
      `Deno daemon memory: RSS ${fmtMiB(mem.rssBefore)} idle, ${fmtMiB(mem.rssWith)} with ` +
        `${mem.open} of ${mem.connections} idle connections open (peak ${fmtMiB(mem.peak)})` +
        (mem.problem ? `; ${mem.problem}` : ""),
    );
  } else {
    out.push("Deno daemon memory: not measured");
  }
  out.push("");
  out.push("targets");
  const nameW = Math.max(...s.targets.map((t) => t.name.length));
  for (const t of s.targets) {
    out.push(
      `  ${t.status.padEnd(4)}  ${t.name.padEnd(nameW)}  need ${
        t.required.padEnd(8)
      }  got ${t.measured}`,
    );
  }
  const missed = s.targets.filter((t) => t.status === "MISS").length;
  const passed = s.targets.filter((t) => t.status === "PASS").length;
  out.push(`  ${passed} PASS, ${missed} MISS, ${s.targets.length - passed - missed} not measured`);
  if (s.problems.length) {
    out.push("");
    out.push("problems");
    for (const p of s.problems) out.push(`  ${p}`);
  }
  return out.join("\n");
}
