/**
 * The fuzz engine: runs a target's inputs in a worker, watches for hangs (an input that does
 * not end within the bound gets its worker stopped, is recorded, and the run resumes after it)
 * and sums up the figures. `deno task fuzz` and the test command's short run both come here.
 *
 * @module
 */
import { inputSeed } from "./_random.ts";
import { loadTarget } from "./_targets.ts";

/** How long a run is and when an input counts as a hang. */
export interface FuzzRunOptions {
  /** The run's seed: input i of a target is made from (seed, target, i) alone. */
  seed: number;
  /** Inputs per target. */
  count: number;
  /**
   * An input that takes longer than this is a finding (a hang).
   * @default {2000}
   */
  hangMs?: number;
  /**
   * Time to make the corpus before the first input (loading vectors, compressing).
   * @default {60000}
   */
  setupMs?: number;
  /** A module exporting its own `TARGETS` instead of _targets.ts (to test the engine). */
  targets?: URL;
}

/** A crash or a hang, with what it takes to replay it. */
export interface FuzzFinding {
  target: string;
  kind: "crash" | "hang";
  seed: number;
  index: number;
  input: Uint8Array;
  error: string;
  ms: number;
}

/** What a run of one target did. */
export interface FuzzFigures {
  target: string;
  inputs: number;
  values: number;
  rejected: number;
  /** Error kind (class and message without detail) -> count. */
  errorKinds: Map<string, number>;
  slowest: { ms: number; index: number; size: number };
  seconds: number;
  findings: FuzzFinding[];
}

/**
 * Fuzzes one target with `count` inputs from `seed`.
 *
 * @param name a target name of `TARGETS`
 * @param options seed, count, hang bound
 * @returns the figures and findings
 */
export async function fuzzTarget(name: string, options: FuzzRunOptions): Promise<FuzzFigures> {
  const target = await loadTarget(name, options.targets?.href);
  const hangMs = options.hangMs ?? 2000;
  const figures: FuzzFigures = {
    target: name,
    inputs: 0,
    values: 0,
    rejected: 0,
    errorKinds: new Map(),
    slowest: { ms: 0, index: -1, size: 0 },
    seconds: 0,
    findings: [],
  };
  const started = performance.now();
  let corpus: Uint8Array[] | undefined;
  let start = 0;
  while (start < options.count) {
    const stopped = await runSegment(name, start, options, hangMs, figures);
    if (stopped === undefined) break;
    // The input at `stopped.index` hung or killed its worker: make it again here, record it,
    // and go on after it.
    corpus ??= target.corpus(options.seed);
    const input = target.input(inputSeed(options.seed, name, stopped.index), corpus);
    figures.inputs++;
    figures.findings.push({ ...stopped, target: name, seed: options.seed, input });
    const kind = stopped.kind === "hang" ? "hang" : "worker died";
    figures.errorKinds.set(kind, (figures.errorKinds.get(kind) ?? 0) + 1);
    start = stopped.index + 1;
  }
  figures.seconds = (performance.now() - started) / 1000;
  return figures;
}

/** What the engine asks of a worker. */
export interface WorkerTask {
  target: string;
  /** A module exporting `TARGETS` (the engine's tests bring their own), else _targets.ts. */
  targets?: string;
  seed: number;
  start: number;
  end: number;
  /** Inputs slower than this are reported as hangs even when they end. */
  hangMs: number;
  /** Int32Array of {@linkcode Progress}: counted as inputs end, so a hang loses nothing. */
  progress: SharedArrayBuffer;
}

/** The slots of a task's progress: the index being decoded (-1 while the corpus is built), and
 * how many inputs ended, in a value, in a PyroError. */
export const Progress = { INDEX: 0, ENDED: 1, VALUES: 2, REJECTED: 3, SIZE: 4 } as const;

/** Error kinds and the slowest input of a batch of inputs. */
export interface WorkerBatch {
  type: "batch";
  inputs: number;
  kinds: Record<string, number>;
  slowest: { ms: number; index: number; size: number };
}

/** A crash or a slow input, with the input that did it. */
export interface WorkerFinding {
  type: "finding";
  kind: "crash" | "hang";
  index: number;
  input: Uint8Array;
  error: string;
  ms: number;
}

/** Every message a worker posts. */
export type WorkerReport = WorkerBatch | WorkerFinding | { type: "done" };

type Stopped = Omit<WorkerFinding, "type" | "input">;

/** Runs [start, count) in one worker; resolves undefined when done, or the input it stopped at. */
function runSegment(
  name: string,
  start: number,
  options: FuzzRunOptions,
  hangMs: number,
  figures: FuzzFigures,
): Promise<Stopped | undefined> {
  const progress = new SharedArrayBuffer(4 * Progress.SIZE);
  const current = new Int32Array(progress);
  current[Progress.INDEX] = -1;
  const worker = new Worker(new URL("./_fuzz_worker.ts", import.meta.url), { type: "module" });
  return new Promise<Stopped | undefined>((resolve, reject) => {
    let seen = -1;
    let seenAt = performance.now();
    const finish = (result: Stopped | undefined | Error) => {
      clearInterval(watch);
      worker.terminate();
      figures.inputs += Atomics.load(current, Progress.ENDED);
      figures.values += Atomics.load(current, Progress.VALUES);
      figures.rejected += Atomics.load(current, Progress.REJECTED);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const watch = setInterval(() => {
      const index = Atomics.load(current, Progress.INDEX);
      const now = performance.now();
      if (index !== seen) {
        seen = index;
        seenAt = now;
        return;
      }
      const bound = index < 0 ? options.setupMs ?? 60_000 : hangMs;
      if (now - seenAt <= bound) return;
      if (index < 0) {
        return finish(new Error(`Fuzz target ${name}: no input within ${bound} ms of setup`));
      }
      const ms = Math.round(now - seenAt);
      finish({ kind: "hang", index, error: `no end within ${ms} ms (bound ${hangMs} ms)`, ms });
    }, Math.max(20, Math.min(250, hangMs / 4)));
    worker.onmessage = (event: MessageEvent<WorkerReport>) => {
      const report = event.data;
      if (report.type === "done") return finish(undefined);
      if (report.type === "finding") {
        const { type: _, ...finding } = report;
        figures.findings.push({ ...finding, target: name, seed: options.seed });
        if (report.kind === "hang") {
          figures.errorKinds.set("hang", (figures.errorKinds.get("hang") ?? 0) + 1);
        }
        return;
      }
      for (const [kind, n] of Object.entries(report.kinds)) {
        figures.errorKinds.set(kind, (figures.errorKinds.get(kind) ?? 0) + n);
      }
      if (report.slowest.ms > figures.slowest.ms) figures.slowest = report.slowest;
    };
    worker.onerror = (event: ErrorEvent) => {
      // Out of memory or another fault that ended the worker: blame the input it was on.
      event.preventDefault();
      const index = Atomics.load(current, Progress.INDEX);
      if (index < 0) return finish(new Error(`Fuzz target ${name}: ${event.message}`));
      finish({ kind: "crash", index, error: `worker died: ${event.message}`, ms: 0 });
    };
    worker.postMessage(
      {
        target: name,
        targets: options.targets?.href,
        seed: options.seed,
        start,
        end: options.count,
        hangMs,
        progress,
      } satisfies WorkerTask,
    );
  });
}
