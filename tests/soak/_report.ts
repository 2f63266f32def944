/**
 * The soak's closing report: from samples of the daemon taken before the clients start, under
 * load, and after they stop, whether its memory, open handles or timers grew.
 *
 * @module
 */

/** One sample of the daemon under soak, with the client counters at that time. */
export interface SoakSample {
  minute: number;
  rssMib: number;
  fds: number;
  timers: number;
  denoRounds: number;
  pythonRounds: number;
  pythonRuns: number;
  errors: number;
}

/** The verdict and the lines that explain it. */
export interface SoakVerdict {
  grew: boolean;
  lines: string[];
}

/** Handles or timers left over after the clients stopped, beyond the idle level, still fine. */
const LEFT_OVER = 2;
/** Memory growth between the first and the last third of the load, still fine. */
const RSS_SLACK_MIB = 16;
const RSS_SLACK_RATIO = 0.1;

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const mx = mean(xs), my = mean(ys);
  let num = 0, den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/**
 * Judges a soak. `samples[0]` is taken before any client started, the last after they all
 * stopped, the others under load. Memory grew when the mean of the last third of the samples
 * under load (past the first minute, the warm-up) exceeds the first third's by more than
 * 16 MiB and 10%; handles and timers grew when more are open after the clients stopped than
 * before they started (beyond 2).
 */
export function soakVerdict(samples: readonly SoakSample[]): SoakVerdict {
  const idle = samples[0], after = samples[samples.length - 1];
  const loaded = samples.slice(1, -1);
  const steady = loaded.filter((s) => s.minute >= 1);
  const series = steady.length >= 2 ? steady : loaded;
  const lines: string[] = [];
  let grew = false;
  if (series.length >= 2) {
    const third = Math.max(1, Math.floor(series.length / 3));
    const early = mean(series.slice(0, third).map((s) => s.rssMib));
    const late = mean(series.slice(-third).map((s) => s.rssMib));
    const rate = slope(series.map((s) => s.minute), series.map((s) => s.rssMib));
    const rssGrew = late - early > Math.max(RSS_SLACK_MIB, early * RSS_SLACK_RATIO);
    grew ||= rssGrew;
    lines.push(
      `rss: idle ${idle.rssMib.toFixed(1)} MiB; under load ${early.toFixed(1)} -> ${
        late.toFixed(1)
      } MiB (first -> last third, slope ${rate.toFixed(2)} MiB/min); after ${
        after.rssMib.toFixed(1)
      } MiB: ${rssGrew ? "GROWTH" : "no growth"}`,
    );
  } else {
    lines.push("rss: too few samples under load to judge (run longer)");
  }
  for (const key of ["fds", "timers"] as const) {
    const values = loaded.map((s) => s[key]);
    const keyGrew = after[key] > idle[key] + LEFT_OVER;
    grew ||= keyGrew;
    lines.push(
      `${key === "fds" ? "open fds" : key}: idle ${idle[key]}; under load ${
        values.length ? `${Math.min(...values)}..${Math.max(...values)}` : "-"
      }; after the clients stopped ${after[key]}: ${keyGrew ? "GROWTH" : "no growth"}`,
    );
  }
  lines.push(
    `rounds: ${after.denoRounds} Deno, ${after.pythonRounds} Python (${after.pythonRuns} ` +
      `Python processes), ${after.errors} errors, in ${after.minute.toFixed(1)} min`,
  );
  return { grew, lines };
}
