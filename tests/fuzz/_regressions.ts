/**
 * The regression vectors of the fuzz engine: every crash or hang it ever found, kept in
 * tests/testdata/fuzz_regressions.json and replayed by tests/fuzz/fuzz_test.ts.
 *
 * @module
 */
import type { FuzzFinding } from "./_engine.ts";

/** One stored finding. */
export interface Regression {
  target: string;
  kind: "crash" | "hang";
  seed: number;
  index: number;
  /** base64 */
  input: string;
  /** What happened when it was found. */
  error: string;
}

const FILE = new URL("../testdata/fuzz_regressions.json", import.meta.url);

/** The stored regression vectors. */
export function loadRegressions(): Regression[] {
  return (JSON.parse(Deno.readTextFileSync(FILE)) as { cases: Regression[] }).cases;
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * Adds findings not stored yet (same target and input).
 *
 * @returns how many were added
 */
export async function addRegressions(findings: readonly FuzzFinding[]): Promise<number> {
  const file = JSON.parse(await Deno.readTextFile(FILE)) as { about: string; cases: Regression[] };
  const known = new Set(file.cases.map((c) => `${c.target} ${c.input}`));
  let added = 0;
  for (const { target, kind, seed, index, input, error } of findings) {
    const entry = { target, kind, seed, index, input: base64(input), error };
    if (known.has(`${target} ${entry.input}`)) continue;
    known.add(`${target} ${entry.input}`);
    file.cases.push(entry);
    added++;
  }
  await Deno.writeTextFile(FILE, JSON.stringify(file, null, 1) + "\n");
  return added;
}
