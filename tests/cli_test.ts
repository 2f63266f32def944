/**
 * The commands as `deno.json` defines them: each task runs with its own permission flags, and each
 * `deno compile` task builds the same entry point with the same flags as its run task (compiling
 * itself needs Deno's runtime download, which this test does not do).
 *
 * Permissions: `--allow-run --allow-read --allow-net=127.0.0.1`.
 */
import assert from "node:assert";
import { peerEnv, repoPath } from "./_peer.ts";

const taskEntries: Record<string, { command: string; description: string }> = JSON.parse(
  await Deno.readTextFile(repoPath("deno.json")),
).tasks;
const tasks: Record<string, string> = Object.fromEntries(
  Object.entries(taskEntries).map(([name, { command }]) => [name, command]),
);

Deno.test("deno task lists a description for every task", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task"],
    cwd: repoPath("."),
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(60_000),
  }).output();
  const listing = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  for (const [name, { description }] of Object.entries(taskEntries)) {
    assert.ok(description?.length > 10, `task ${name} has no description`);
    assert.ok(listing.includes(`- ${name}\n    // ${description}\n`), `${name} in: ${listing}`);
  }
});

const COMMANDS = [
  { task: "ns", compile: "compile:pyrons", entry: "cli/ns.ts" },
  { task: "nsc", compile: "compile:pyronsc", entry: "cli/nsc.ts" },
  { task: "echoserver", compile: "compile:echoserver", entry: "cli/echoserver.ts" },
];

function flagsOf(line: string): string[] {
  return line.split(/\s+/).filter((word) => word.startsWith("--allow-")).sort();
}

for (const { task, compile, entry } of COMMANDS) {
  Deno.test(`deno task ${task} -h prints its usage and exits 0`, async () => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--quiet", task, "-h"],
      cwd: repoPath("."),
      signal: AbortSignal.timeout(60_000),
    }).output();
    const text = new TextDecoder().decode(output.stdout);
    assert.ok(output.success, new TextDecoder().decode(output.stderr));
    assert.match(text, /^usage: /);
    assert.match(text, /-h, --help +show this help message and exit/);
  });

  Deno.test(`deno task ${compile} compiles ${entry} with the flags of deno task ${task}`, () => {
    assert.ok(tasks[task].endsWith(` ${entry}`), tasks[task]);
    assert.ok(tasks[compile].startsWith("deno compile "), tasks[compile]);
    assert.ok(tasks[compile].endsWith(` ${entry}`), tasks[compile]);
    assert.deepStrictEqual(flagsOf(tasks[compile]), flagsOf(tasks[task]));
  });
}

Deno.test("deno task nsc reports a missing name server with pyro5-nsc's line and where it looked", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = String(listener.addr.port);
  listener.close(); // nothing listens there now
  const args = ["-n", "127.0.0.1", "-p", port, "ping"];
  const ours = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "nsc", ...args],
    cwd: repoPath("."),
    signal: AbortSignal.timeout(60_000),
  }).output();
  const python = await new Deno.Command("python3", {
    args: ["-m", "Pyro5.nsc", ...args],
    env: await peerEnv(),
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = (o: Deno.CommandOutput) => new TextDecoder().decode(o.stdout);
  assert.strictEqual(text(python), "Error: Failed to locate the nameserver\n");
  assert.strictEqual(text(ours), `Error: Failed to locate the nameserver at 127.0.0.1:${port}\n`);
  assert.strictEqual(new TextDecoder().decode(ours.stderr), "");
  // Deliberately unlike pyro5-nsc (which exits 0): a failure exits non-zero.
  assert.strictEqual(ours.code, 1);
});
