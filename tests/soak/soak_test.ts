/**
 * The soak in the test command: its verdict on made-up samples (growth is caught), and a short
 * bounded run of the real thing (`deno task soak` runs 30 minutes).
 */
import { ok, strictEqual } from "node:assert";
import { type SoakSample, soakVerdict } from "./_report.ts";

function samples(rss: number[], fds: number[], timers: number[]): SoakSample[] {
  return rss.map((rssMib, i) => ({
    minute: i,
    rssMib,
    fds: fds[i],
    timers: timers[i],
    denoRounds: i * 100,
    pythonRounds: i * 10,
    pythonRuns: i,
    errors: 0,
  }));
}

Deno.test("soakVerdict: flat memory, handles and timers back to idle: no growth", () => {
  const verdict = soakVerdict(
    samples([50, 90, 100, 101, 99, 100, 102, 100], [25, 31, 30, 31, 31, 30, 31, 26], [
      0,
      1,
      1,
      1,
      0,
      1,
      1,
      0,
    ]),
  );
  strictEqual(verdict.grew, false, verdict.lines.join("\n"));
  ok(verdict.lines.every((line) => !line.includes("GROWTH")));
});

Deno.test("soakVerdict: memory that keeps growing, leaked handles or timers: growth", async (t) => {
  const steadyRss = [50, 90, 100, 101, 99, 100, 102, 100];
  const idleFds = [25, 31, 30, 31, 31, 30, 31, 26];
  const idleTimers = [0, 1, 1, 1, 0, 1, 1, 0];
  const cases: [string, SoakSample[], string][] = [
    ["rss", samples([50, 90, 110, 130, 150, 170, 190, 190], idleFds, idleTimers), "rss:"],
    ["fds", samples(steadyRss, [25, 31, 40, 50, 60, 70, 80, 75], idleTimers), "open fds:"],
    ["timers", samples(steadyRss, idleFds, [0, 5, 10, 15, 20, 25, 30, 30]), "timers:"],
  ];
  for (const [name, series, prefix] of cases) {
    await t.step(name, () => {
      const verdict = soakVerdict(series);
      strictEqual(verdict.grew, true);
      const flagged = verdict.lines.filter((line) => line.includes("GROWTH"));
      strictEqual(flagged.length, 1, verdict.lines.join("\n"));
      ok(flagged[0].startsWith(prefix), flagged[0]);
    });
  }
});

Deno.test("deno task soak: a short run reports no growth and no errors", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./main.ts", import.meta.url).pathname,
      "--minutes",
      "0.25",
      "--sample-seconds",
      "5",
      "--deno-clients",
      "2",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  const errors = new TextDecoder().decode(output.stderr);
  ok(output.success, `${text}\n${errors}`);
  ok(text.includes("closing report") && text.includes("soak: no growth, no errors"), text);
  const rounds = /rounds: (\d+) Deno, (\d+) Python/.exec(text);
  ok(rounds && Number(rounds[1]) > 0 && Number(rounds[2]) > 0, text);
});
