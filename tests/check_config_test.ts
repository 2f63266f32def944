/**
 * `deno task check-config` against `python3 -m Pyro5.configure` (what `pyro5-check-config`
 * runs): the same layout and item lines for the same environment, plus where each value came from.
 *
 * Permissions: `--allow-run --allow-read --allow-env`.
 */
import assert from "node:assert";
import { peerEnv, repoPath } from "./_peer.ts";

async function run(command: string, args: string[], env: Record<string, string>) {
  const output = await new Deno.Command(command, {
    args,
    env,
    clearEnv: true,
    cwd: await Deno.makeTempDir(), // Python's logging may write pyro5.log into it
    signal: AbortSignal.timeout(60_000),
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

function ours(env: Record<string, string>, args: string[] = []) {
  return run(
    Deno.execPath(),
    ["task", "--quiet", "--cwd", repoPath("."), "check-config", ...args],
    {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "",
      NO_COLOR: "1",
      ...env,
    },
  );
}

async function python(env: Record<string, string>) {
  return run("python3", ["-W", "ignore", "-m", "Pyro5.configure"], {
    ...(await peerEnv()),
    ...env,
  });
}

const LABEL = /^([A-Za-z ]+): /;

Deno.test("check-config prints pyro5-check-config's layout with each value's source", async (t) => {
  const cases: Record<string, string>[] = [
    {},
    {
      PYRO_NS_PORT: "9190",
      PYRO_COMMTIMEOUT: "2",
      PYRO_BROADCAST_ADDRS: "127.0.0.1, it's",
      PYRO_COMPRESSION: "on",
      PYRO_LOGLEVEL: "WARNING",
      PYRO_LOGFILE: "{stderr}",
      PYRO_ITER_STREAM_LINGER: "1e20",
      PYRO_ITER_STREAM_LIFETIME: "0.00001",
      PYRO_POLLTIMEOUT: "-0.5",
    },
  ];
  for (const env of cases) {
    await t.step(JSON.stringify(env), async () => {
      const [mine, theirs] = await Promise.all([ours(env), python(env)]);
      assert.strictEqual(mine.code, 0, mine.stderr);
      assert.strictEqual(theirs.code, 0, theirs.stderr);
      const myLines = mine.stdout.trimEnd().split("\n");
      const theirLines = theirs.stdout.trimEnd().split("\n");
      assert.strictEqual(myLines.length, theirLines.length, mine.stdout);
      // The header: the same labels, except the runtime's own ("Deno" for "Python").
      const labels = (lines: string[]) => lines.slice(0, 5).map((l) => LABEL.exec(l)?.[1] ?? l);
      assert.deepStrictEqual(
        labels(myLines),
        labels(theirLines).map((l) => l.replace("Python", "Deno")),
      );
      assert.match(myLines[0], /^Pyro version: 5\.15 \(pyro-deno \d+\.\d+\.\d+\)$/);
      assert.strictEqual(myLines[3], theirLines[3]); // Protocol version: 502
      // Every item: Python's line, then where the value came from.
      for (const [i, line] of myLines.slice(5).entries()) {
        const item = line.split(" = ")[0];
        const source = `PYRO_${item}` in env ? `environment PYRO_${item}` : "default";
        assert.strictEqual(line, `${theirLines[5 + i]}  (${source})`);
      }
    });
  }
});

Deno.test("check-config: a bad PYRO_* value or argument is one error line", async () => {
  const bad = await ours({ PYRO_NS_PORT: "x" });
  assert.strictEqual(bad.code, 1);
  assert.strictEqual(bad.stderr, "Error: Invalid Pyro environment config value: PYRO_NS_PORT=x\n");
  const unknown = await ours({}, ["--nope"]);
  assert.strictEqual(unknown.code, 2);
  assert.match(unknown.stderr, /^usage: check-config \[-h\]\ncheck-config: error: unrecognized/);
});
