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
import { Progress, type WorkerBatch, type WorkerReport, type WorkerTask } from "./_engine.ts";
import { loadTarget, tryInput } from "./_targets.ts";

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
