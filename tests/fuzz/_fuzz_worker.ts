/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
/**
 * The fuzz engine's worker: runs inputs [start, end) of one target and reports, so that the
 * engine can stop it when one input hangs. Progress (the index being decoded) is shared through
 * a SharedArrayBuffer; figures go back in batches, crashes and slow inputs at once.
 *
 * @module
 */
import { inputSeed } from "./_random.ts";
import { loadTarget, tryInput } from "./_targets.ts";

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

const BATCH = 1000;

function emptyBatch(): WorkerBatch {
  return {
    type: "batch",
    inputs: 0,
    kinds: {},
    slowest: { ms: -1, index: -1, size: 0 },
  };
}

self.onmessage = async (event: MessageEvent<WorkerTask>) => {
  const { target: name, seed, start, end, hangMs } = event.data;
  const progress = new Int32Array(event.data.progress);
  const post = (report: WorkerReport) => self.postMessage(report);
  const target = await loadTarget(name, event.data.targets);
  const corpus = target.corpus(seed);
  let batch = emptyBatch();
  for (let index = start; index < end; index++) {
    Atomics.store(progress, Progress.INDEX, index);
    const input = target.input(inputSeed(seed, name, index), corpus);
    const outcome = tryInput(target, input);
    batch.inputs++;
    Atomics.add(progress, Progress.ENDED, 1);
    if (outcome.kind === "value") Atomics.add(progress, Progress.VALUES, 1);
    else {
      batch.kinds[outcome.error] = (batch.kinds[outcome.error] ?? 0) + 1;
      if (outcome.kind === "rejected") Atomics.add(progress, Progress.REJECTED, 1);
      else {post({
          type: "finding",
          kind: "crash",
          index,
          input,
          error: outcome.error,
          ms: outcome.ms,
        });}
    }
    if (outcome.ms > batch.slowest.ms) {
      batch.slowest = { ms: outcome.ms, index, size: input.length };
    }
    if (outcome.ms > hangMs) {
      const error = `took ${Math.round(outcome.ms)} ms (bound ${hangMs} ms)`;
      post({ type: "finding", kind: "hang", index, input, error, ms: outcome.ms });
    }
    if (batch.inputs === BATCH) {
      post(batch);
      batch = emptyBatch();
    }
  }
  post(batch);
  post({ type: "done" });
};
