/**
 * Every command reports a failure as one `Error: ...` line that says what failed and where, exits
 * non-zero, and shows a stack trace only when asked (`-v` or `PYRO_LOGLEVEL=DEBUG`); `nsc` passes
 * unknown dash-arguments to its command as pyro5-nsc does.
 *
 * Permissions: `--allow-run --allow-read --allow-env --allow-net=127.0.0.1`.
 */
import assert from "node:assert";
import { startNameServer } from "../nameserver.ts";
import { peerEnv, repoPath } from "./_peer.ts";

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

// Loopback only: no broadcast leaves the machine when a command searches for a name server.
const LOOPBACK_ENV = { PYRO_BROADCAST_ADDRS: "127.0.0.1", NO_COLOR: "1" };

async function task(name: string, args: string[], env: Record<string, string> = {}) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", name, ...args],
    cwd: repoPath("."),
    env: { ...LOOPBACK_ENV, ...env },
    stdin: "null",
    signal: AbortSignal.timeout(60_000),
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

/** Exactly one line on stderr, that line, no stack frames anywhere, a non-zero exit. */
function assertOneErrorLine(outcome: Outcome, line: string | RegExp) {
  const lines = outcome.stderr.trimEnd().split("\n");
  assert.strictEqual(lines.length, 1, outcome.stderr);
  if (typeof line === "string") assert.strictEqual(lines[0], line);
  else assert.match(lines[0], line);
  assert.doesNotMatch(outcome.stdout + outcome.stderr, /^\s+at /m);
  assert.notStrictEqual(outcome.code, 0);
}

function freePort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return listener.addr.port;
}

Deno.test("cli: a port in use is one line naming the address", async (t) => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const where = `127.0.0.1:${taken.addr.port}`;
  const port = String(taken.addr.port);
  await t.step("echoserver", async () => {
    const outcome = await task("echoserver", ["-H", "127.0.0.1", "-p", port]);
    assertOneErrorLine(
      outcome,
      `Error: Cannot start the echo server on ${where}: address already in use`,
    );
  });
  await t.step("ns", async () => {
    const outcome = await task("ns", ["-n", "127.0.0.1", "-p", port]);
    assertOneErrorLine(
      outcome,
      `Error: Cannot start the name server on ${where}: address already in use`,
    );
  });
  await t.step("echoserver -N (its name server)", async () => {
    const outcome = await task("echoserver", ["-H", "127.0.0.1", "-N"], { PYRO_NS_PORT: port });
    assertOneErrorLine(
      outcome,
      `Error: Cannot start the name server on ${where}: address already in use`,
    );
  });
  await t.step("httpgateway", async () => {
    const outcome = await task("httpgateway", ["-H", "127.0.0.1", "-p", port]);
    assertOneErrorLine(
      outcome,
      `Error: Cannot start the HTTP gateway on ${where}: address already in use`,
    );
  });
  await t.step("messagebus", async () => {
    const outcome = await task("messagebus", ["-n", "127.0.0.1", "-p", port, "--no-ns"]);
    assertOneErrorLine(
      outcome,
      `Error: Cannot start the message bus on ${where}: address already in use`,
    );
  });
  await t.step("the stack trace when asked: -v, PYRO_LOGLEVEL=DEBUG", async () => {
    const verbose = await task("echoserver", ["-v", "-H", "127.0.0.1", "-p", port]);
    assert.match(verbose.stderr, /^Error: Cannot start the echo server/);
    assert.match(verbose.stderr, /^\s+at /m);
    const debug = await task("ns", ["-n", "127.0.0.1", "-p", port], {
      PYRO_LOGLEVEL: "DEBUG",
      PYRO_LOGFILE: "{stderr}",
    });
    assert.match(debug.stderr, /^Error: Cannot start the name server/m);
    assert.match(debug.stderr, /^\s+at /m);
  });
});

Deno.test("cli: a missing name server is one line naming where it was looked for", async () => {
  const nsPort = freePort();
  const bcPort = freePort();
  const outcome = await task("echoserver", ["-H", "127.0.0.1", "-n"], {
    PYRO_NS_HOST: "127.0.0.1",
    PYRO_NS_PORT: String(nsPort),
    PYRO_NS_BCPORT: String(bcPort),
  });
  assertOneErrorLine(
    outcome,
    `Error: Failed to locate the nameserver at 127.0.0.1:${nsPort} and broadcast port ${bcPort}`,
  );
});

Deno.test("cli: PYRO_SERIALIZER=foo is one line", async (t) => {
  const env = { PYRO_SERIALIZER: "foo" };
  await t.step("nsc", async () => {
    assertOneErrorLine(
      await task("nsc", ["-n", "127.0.0.1", "ping"], env),
      "Error: Unknown serializer configured: foo",
    );
  });
  await t.step("echoserver -n", async () => {
    const outcome = await task("echoserver", ["-H", "127.0.0.1", "-n"], env);
    assertOneErrorLine(outcome, "Error: Unknown serializer configured: foo");
  });
});

Deno.test("cli: a bad PYRO_* value is one line from every command", async (t) => {
  const cases: [string, string[]][] = [
    ["ns", ["-n", "127.0.0.1", "-p", "0"]],
    ["nsc", ["ping"]],
    ["echoserver", ["-H", "127.0.0.1"]],
    ["check-config", []],
    ["httpgateway", ["-H", "127.0.0.1", "-p", "0"]],
    ["messagebus", ["-n", "127.0.0.1", "-p", "0", "--no-ns"]],
  ];
  for (const [name, args] of cases) {
    await t.step(name, async () => {
      const bad = await task(name, args, { PYRO_COMMTIMEOUT: "soon" });
      assertOneErrorLine(
        bad,
        "Error: Invalid Pyro environment config value: PYRO_COMMTIMEOUT=soon",
      );
      const unknown = await task(name, args, { PYRO_NOSUCH: "1" });
      assertOneErrorLine(unknown, "Error: Invalid Pyro environment config variable: PYRO_NOSUCH");
    });
  }
});

Deno.test("cli: nsc lookup of an unknown name is pyro5-nsc's line, a traceback only with -v", async () => {
  await using ns = await startNameServer({ host: "127.0.0.1", port: 0 });
  const where = ["-n", "127.0.0.1", "-p", String(ns.uri.port)];
  const plain = await task("nsc", [...where, "lookup", "nosuch"]);
  assert.strictEqual(plain.stdout, "Error: NamingError - unknown name: nosuch\n");
  assert.strictEqual(plain.stderr, "");
  assert.strictEqual(plain.code, 1);
  const verbose = await task("nsc", [...where, "-v", "lookup", "nosuch"]);
  assert.match(verbose.stdout, /^Error: NamingError - unknown name: nosuch$/m);
  assert.match(verbose.stderr, /Traceback \(most recent call last\):/); // the remote one
  assert.match(verbose.stderr, /^\s+at /m);
  const debug = await task("nsc", [...where, "lookup", "nosuch"], {
    PYRO_LOGLEVEL: "DEBUG",
    PYRO_LOGFILE: "{stderr}",
  });
  assert.match(debug.stderr, /Traceback \(most recent call last\):/);
});

Deno.test("cli: nsc passes unknown dash-arguments to its command as pyro5-nsc does", async (t) => {
  await using ns = await startNameServer({ host: "127.0.0.1", port: 0 });
  ns.nameserver.register("-a", "PYRO:dash@127.0.0.1:1");
  ns.nameserver.register("--b=1", "PYRO:dashes@127.0.0.1:1");
  const where = ["-n", "127.0.0.1", "-p", String(ns.uri.port)];
  const cases = [
    ["list", "-a"],
    ["-a", "list"],
    ["list", "--b=1"],
    ["lookup", "-a"],
    ["listmatching", "-x"],
    ["list", "-v", "-a"], // -v is known: verbose, and -a is the prefix
  ];
  for (const args of cases) {
    await t.step(args.join(" "), async () => {
      const ours = await task("nsc", [...where, ...args]);
      const python = await new Deno.Command("python3", {
        args: ["-m", "Pyro5.nsc", ...where, ...args],
        env: await peerEnv(),
        signal: AbortSignal.timeout(60_000),
      }).output();
      assert.strictEqual(python.code, 0, new TextDecoder().decode(python.stderr));
      assert.strictEqual(ours.code, 0, ours.stderr);
      assert.strictEqual(ours.stdout, new TextDecoder().decode(python.stdout));
    });
  }
});
