/**
 * A smoke run of the benchmark (bench/main.ts --quick): every pairing with two serializers, a
 * few hundred milliseconds per workload. Checks the shape of the JSON summary and of the table,
 * never the figures themselves (timing targets are the benchmark's own business).
 */
import assert, { deepStrictEqual, match, strictEqual } from "node:assert";
import { WORKLOADS } from "../bench/_common.ts";
import { parseOptions } from "../bench/_options.ts";
import { formatTable, type Summary } from "../bench/_report.ts";

const MAIN = new URL("../bench/main.ts", import.meta.url).pathname;
const RUN_LIMIT_MS = 420_000; // a loaded machine makes the quick run slow

async function runBench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), RUN_LIMIT_MS);
  try {
    const out = await child.output();
    const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("bench: parseOptions defaults, lists and errors", () => {
  const defaults = parseOptions([]);
  strictEqual(defaults.pin, "same");
  strictEqual(defaults.repeats, 3);
  deepStrictEqual(defaults.pairings.map((p) => p.id), ["pp", "pd", "dp", "dd"]);
  const quick = parseOptions(["--quick", "--pairings", "dd,pp", "--pin", "split"]);
  strictEqual(quick.repeats, 1);
  assert(quick.durationMs < 1000);
  deepStrictEqual(quick.pairings.map((p) => p.id), ["pp", "dd"]);
  assert.throws(() => parseOptions(["--serializers", "pickle"]), /Unknown serializer: pickle/);
  assert.throws(() => parseOptions(["--repeats", "0"]), RangeError);
  assert.throws(() => parseOptions(["--frobnicate"]), /Unknown option/);
});

Deno.test({
  name: "bench: a quick run gives the JSON summary and the table",
  async fn() {
    const run = await runBench([
      "--quick",
      "--serializers",
      "json,marshal",
      "--connections",
      "50",
      "--json",
    ]);
    strictEqual(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout) as Summary;
    assert(summary.ceiling.pingpongPerSec > 0, "ping-pong ceiling measured");
    assert(summary.ceiling.bulkMBps > 0, "bulk ceiling measured");
    deepStrictEqual(Object.keys(summary.workloads), [...WORKLOADS]);
    for (const workload of WORKLOADS) {
      const rows = summary.workloads[workload]!;
      deepStrictEqual(Object.keys(rows), ["json", "marshal"]);
      for (const [serializer, row] of Object.entries(rows)) {
        deepStrictEqual(Object.keys(row), ["pp", "pd", "dp", "dd"]);
        for (const [pairing, cell] of Object.entries(row)) {
          const where = `${workload} ${serializer} ${pairing}`;
          const bytes = workload === "upload" || workload === "download";
          if (serializer === "json" && bytes) {
            match(cell.na ?? "", /json cannot carry bytes/, where);
          } else if (serializer === "marshal" && workload === "batch" && pairing[0] === "p") {
            match(cell.na ?? "", /marshal client cannot send batches/, where);
          } else {
            assert(cell.rate !== null && cell.rate > 0, `${where}: ${JSON.stringify(cell)}`);
            strictEqual(cell.runs.length, 1, where);
          }
          if (workload === "small") {
            assert(cell.p50Us! > 0 && cell.p99Us! >= cell.p50Us!, `${where} latency`);
          }
        }
      }
    }
    // TLS row: msgpack over one-way TLS, Py->Py and Deno->Deno
    deepStrictEqual(Object.keys(summary.tls), ["small", "upload", "download"]);
    for (const [workload, row] of Object.entries(summary.tls)) {
      for (const id of ["pp", "dd"]) {
        const cell = row[id];
        assert(
          cell?.rate != null && cell.rate > 0,
          `TLS ${workload} ${id}: ${JSON.stringify(cell)}`,
        );
      }
    }
    const memory = summary.memory!;
    strictEqual(memory.connections, 50);
    strictEqual(memory.open, 50);
    assert(memory.rssWith > 0 && memory.rssBefore > 0);
    const names = summary.targets.map((t) => t.name);
    assert(names.some((n) => n.startsWith("small calls/s msgpack: Deno->Deno vs bare TCP")));
    assert(names.some((n) => n.startsWith("Deno daemon RSS")));
    for (const target of summary.targets) {
      assert(["PASS", "MISS", "n/a"].includes(target.status), target.name);
      // msgpack and serpent were not run: their targets say so
      if (/serpent|msgpack/.test(target.name)) strictEqual(target.status, "n/a", target.name);
    }
    strictEqual(summary.targets.find((t) => /RSS/.test(t.name))!.status, "n/a"); // not 1000
    deepStrictEqual(Object.keys(summary.gateway), ["gateway1", "gateway32"]);
    for (const [clients, row] of Object.entries(summary.gateway)) {
      for (const id of ["pp", "dd"]) {
        const cell = row[id];
        assert(cell?.rate != null && cell.rate > 0, `${clients} ${id}: ${JSON.stringify(cell)}`);
      }
    }
    assert(names.some((n) => n.startsWith("HTTP gateway requests/s, 32 clients: ours vs Pyro5's")));

    deepStrictEqual(summary.bus.map((r) => `${r.storage} ${r.subscribers}`), [
      "memory 2",
      "sqlite 2",
    ]);
    for (const row of summary.bus) {
      for (const figures of [row.py, row.deno]) {
        assert(figures && figures.published > 0 && figures.delivered > 0, JSON.stringify(row));
      }
    }
    const table = formatTable(summary);
    match(table, /^ceiling \(bare Deno TCP, same pinning\): ping-pong of 40 B [\d,]+ round trips/m);
    match(table, /Py->Py +Py->Deno +Deno->Py +Deno->Deno +PD\/PP +DP\/PP +DD\/PP/);
    match(table, /^json +[\d,.]+ \d+% /m);
    match(table, /^over TLS \(one-way, msgpack\)/m);
    match(table, /^small +[\d,.]+ +[\d,.]+ +[\d.]+x/m);
    match(table, /latency per call, p50 \/ p99/);
    match(table, /n\/a: json cannot carry bytes/);
    match(table, /^message bus: acknowledged sends/m);
    match(table, /^sqlite +2 +[\d,.]+ +[\d,.]+ +[\d,.]+ +[\d,.]+ +[\d.]+x +[\d.]+x/m);
    match(table, /^targets$/m);
    match(table, /^ {2}(PASS|MISS|n\/a) +small calls\/s json: Deno->Deno vs Py->Py/m);
    match(table, /\d+ PASS, \d+ MISS, \d+ not measured/);
    match(table, /^HTTP gateway, requests\/s /m);
    match(table, /^32 clients +[\d,.]+ +[\d,.]+ +[\d.]+x$/m);
    match(table, /Deno daemon memory: RSS [\d.]+ MiB idle, [\d.]+ MiB with 50 of 50/);
  },
});

Deno.test("bench: --help prints the options and runs nothing", async () => {
  const run = await runBench(["--help"]);
  strictEqual(run.code, 0);
  match(run.stdout, /--pin MODE/);
  match(run.stdout, /--json/);
});
