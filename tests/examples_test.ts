/**
 * Runs the examples in examples/ as a user would: the server as its own `deno run` process,
 * then its Deno client and the Python Pyro5 client (examples/<name>/client.py) against it, and
 * checks what they print.
 *
 * Permissions: `--allow-run=deno,python3,bash --allow-read --allow-net=127.0.0.1`.
 */
import assert, { equal, match } from "node:assert";
import { repoPath } from "./_peer.ts";
import { runPython, sleep, waitFor } from "./_support_rpc.ts";

const RUN_FLAGS = ["run", "--quiet", "--allow-net=127.0.0.1"];
const decoder = new TextDecoder();

function example(name: string, file: string): string {
  return repoPath(`examples/${name}/${file}`);
}

/** A running example program. */
interface Program extends AsyncDisposable {
  /** Everything it printed so far. */
  output(): string;
  /** The value of its first "uri: ..." or "location: ..." line. */
  address: string;
  /** Waits for it to end by itself (bounded), returns its exit code. */
  done(limitMs?: number): Promise<number>;
  /** Stops it (SIGTERM, then SIGKILL) and returns its exit code. */
  stop(): Promise<number>;
}

async function start(
  command: string,
  args: string[],
  env: Record<string, string> = {},
  ready: RegExp | null = /^(?:uri|location): (\S+)$/m,
): Promise<Program> {
  const process = new Deno.Command(command, {
    args,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  let errors = "";
  const collect = async (stream: ReadableStream<Uint8Array>, err: boolean) => {
    for await (const chunk of stream) {
      if (err) errors += decoder.decode(chunk);
      else text += decoder.decode(chunk);
    }
  };
  const drained = Promise.all([collect(process.stdout, false), collect(process.stderr, true)]);
  let ended = false;
  const status = process.status.then((s) => {
    ended = true;
    return s.code;
  });
  const finish = async () => {
    await drained;
    return await status;
  };
  const kill = (signal: Deno.Signal) => {
    try {
      process.kill(signal);
    } catch {
      // already ended
    }
  };
  const stop = async () => {
    if (!ended) {
      kill("SIGTERM");
      const timer = setTimeout(() => kill("SIGKILL"), 3000);
      await status;
      clearTimeout(timer);
    }
    return await finish();
  };
  let address = "";
  if (ready) {
    try {
      await waitFor(() => ready.test(text) || ended, 20_000);
    } catch (error) {
      await stop();
      throw error;
    }
    const match = ready.exec(text);
    if (!match) {
      await stop();
      throw new Error(`${args.join(" ")} did not start: ${text}\n${errors}`);
    }
    address = match[1];
  }
  return {
    output: () => text + errors,
    address,
    done: async (limitMs = 60_000) => {
      const timer = setTimeout(() => kill("SIGKILL"), limitMs);
      try {
        return await finish();
      } finally {
        clearTimeout(timer);
      }
    },
    stop,
    [Symbol.asyncDispose]: async () => void await stop(),
  };
}

function startServer(name: string, args: string[] = []): Promise<Program> {
  return start(Deno.execPath(), [...RUN_FLAGS, example(name, "server.ts"), ...args]);
}

/** Runs a Deno client to its end; returns what it printed. */
async function denoClient(name: string, args: string[], limitMs = 60_000): Promise<string> {
  const program = await start(
    Deno.execPath(),
    [...RUN_FLAGS, example(name, "client.ts"), ...args],
    {},
    null,
  );
  const code = await program.done(limitMs);
  const output = program.output();
  equal(code, 0, `client.ts of ${name} failed:\n${output}`);
  return output;
}

/** Runs Pyro5's client of an example to its end; returns what it printed. */
async function pythonClient(name: string, args: string[], expectCode = 0): Promise<string> {
  const run = await runPython([example(name, "client.py"), ...args], 60_000);
  equal(
    run.code,
    expectCode,
    `client.py of ${name} exited with ${run.code}:\n${run.stdout}${run.stderr}`,
  );
  return run.stdout + run.stderr;
}

function count(text: string, pattern: RegExp): number {
  const flags = pattern.flags.includes("g") ? pattern.flags : `${pattern.flags}g`;
  return [...text.matchAll(new RegExp(pattern.source, flags))].length;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("examples/autoproxy: things made on the server are used through proxies", async () => {
  await using server = await startServer("autoproxy");
  const deno = await denoClient("autoproxy", [server.address]);
  match(deno, /^<PyroProxy; not connected; for PYRO:obj_[0-9a-f]{32}@127\.0\.0\.1:\d+>$/m);
  const python = await pythonClient("autoproxy", [server.address]);
  match(python, /<Pyro5\.client\.Proxy at 0x[0-9a-f]+; not connected; for PYRO:obj_/);
  await waitFor(() => server.output().includes("Thingy 3 says: I am last then... (python)"));
  for (const line of ["Thingy 1 says: I am the first", "Thingy 2 says: I am second"]) {
    equal(count(server.output(), new RegExp(`^${line}`, "m")), 2, server.output());
  }
});

Deno.test("examples/callback: workers call back; @callback errors are reported on both sides", async () => {
  await using server = await startServer("callback");
  const deno = await denoClient("callback", [server.address]);
  equal(count(deno, /reports work is done!/), 5, deno);
  match(deno, /^done!$/m);
  match(deno, /^client: error in callback call2: RangeError: division by zero$/m);
  assert(!deno.includes("error in callback call1"), deno);
  match(deno, /^sum computed by our function, called by the server: 5$/m);
  const python = await pythonClient("callback", [server.address]);
  equal(count(python, /reports work is done!/), 5, python);
  match(python, /^done!$/m);
  await waitFor(() => server.output().includes("server: callbacks done."));
  // The Deno client's callbacks throw a RangeError, which reaches the server as one.
  equal(
    count(server.output(), /server: got an exception from the callback: RangeError: division by/),
    2,
  );
});

Deno.test("examples/instancemode: percall, session and single as Pyro5 has them", async () => {
  await using server = await startServer("instancemode");
  const check = (output: string) => {
    const ids = (mode: string) =>
      [...output.matchAll(new RegExp(`^${mode} proxy \\d: (.+)$`, "gm"))].map((m) =>
        m[1].split(" ")
      );
    const percall = ids("percall");
    equal(percall.length, 3, output);
    equal(new Set(percall.flat()).size, 9);
    const session = ids("session");
    for (const line of session) equal(new Set(line).size, 1);
    equal(new Set(session.map((line) => line[0])).size, 3);
    const single = ids("single");
    equal(new Set(single.flat()).size, 1);
    return single[0][0];
  };
  const singleDeno = check(await denoClient("instancemode", [server.address]));
  const singlePython = check(await pythonClient("instancemode", [server.address]));
  equal(singleDeno, singlePython);
  // Session instances end with their connection; per-call ones after their call.
  await waitFor(() => count(server.output(), /^disposed SessionInstance/gm) === 6);
  equal(count(server.output(), /^disposed PercallInstance/gm), 18);
  match(server.output(), /session made for correlation id [0-9a-f]{32}/);
});

Deno.test("examples/callcontext: correlation ids and annotations, Deno and Python clients", async () => {
  await using server = await startServer("callcontext");
  for (
    const run of [
      () => denoClient("callcontext", [server.address]),
      () => pythonClient("callcontext", [server.address]),
    ]
  ) {
    const output = await run();
    const id = /^correlation id set to: ([0-9a-f]{32})$/m.exec(output)?.[1];
    assert(id, output);
    // echo, the oneway call and the forwarded call all carried the client's correlation id.
    await waitFor(() => count(server.output(), new RegExp(`context\\.correlationId: ${id}`)) === 3);
    match(output, /DDAA -> custom response annotation set by the daemon/);
    match(output, /ECHO -> echoed: hi there/);
    match(output, /forwarded: (forwarded: )?(hello|from python)/);
  }
  match(server.output(), /custom annotation 'XYZZ': custom annotation from client \(2\)/);
  match(server.output(), /custom annotation 'XYZZ': custom annotation from python client/);
});

Deno.test("examples/autoreconnect: clients ride over a server restart on the same port", async (t) => {
  for (
    const [label, command, args] of [
      ["deno", Deno.execPath(), [...RUN_FLAGS, example("autoreconnect", "client.ts")]],
      ["python", "python3", [example("autoreconnect", "client.py")]],
    ] as const
  ) {
    await t.step(label, async () => {
      const port = freePort();
      let server = await startServer("autoreconnect", [String(port)]);
      const { peerEnv } = await import("./_peer.ts");
      const env = label === "python" ? await peerEnv() : {};
      const client = await start(command, [...args, server.address, "6", "0.1"], env, null);
      try {
        await waitFor(() => count(server.output(), /^Method called with 42$/m) >= 2, 20_000);
        await server.stop();
        await sleep(300);
        server = await startServer("autoreconnect", [String(port)]);
        equal(await client.done(30_000), 0, client.output());
        match(client.output(), /Connection lost\. REBINDING\.\.\./);
        match(client.output(), /^done$/m);
        assert(count(server.output(), /^Method called with 42$/m) >= 1, server.output());
      } finally {
        await client.stop();
        await server.stop();
      }
    });
  }
});

Deno.test("examples/autoretry: a dropped idle connection, without and with retries", async () => {
  await using server = await startServer("autoretry");
  const deno = await denoClient("autoretry", [server.address]);
  match(deno, /Got exception ConnectionClosedError: .* as expected\./);
  match(deno, /^result: 6$/m);
  const python = await pythonClient("autoretry", [server.address]);
  match(python, /Got exception .*ConnectionClosedError.* as expected\./);
  match(python, /^result: 6$/m);
});

Deno.test("examples/resourcetracking: resources of a client that went away are closed", async () => {
  await using server = await startServer("resourcetracking");
  const disconnects = () => count(server.output(), /^client disconnects:/m);
  const aborted = await pythonClient("resourcetracking", [server.address, "--abort"], 1);
  match(aborted, /aborting without freeing the resources/);
  // Lines reach us through a pipe, in pieces: wait for the last one expected.
  await waitFor(() => disconnects() === 1 && count(server.output(), /^Resource: closing/m) === 2);
  match(server.output(), /resources:\s+\[ "[0-9a-f]{4}", "[0-9a-f]{4}" \]/);
  const deno = await denoClient("resourcetracking", [server.address]);
  match(deno, /^currently allocated resources: \[\]$/m);
  match(deno, /^allocated resources: \[\]$/m);
  await waitFor(() => disconnects() === 2);
  const denoAbort = await start(
    Deno.execPath(),
    [...RUN_FLAGS, example("resourcetracking", "client.ts"), server.address, "--abort"],
    {},
    null,
  );
  equal(await denoAbort.done(), 1);
  await waitFor(() => disconnects() === 3);
  const python = await pythonClient("resourcetracking", [server.address]);
  match(python, /^currently allocated resources: \[\]$/m);
  await waitFor(() => count(server.output(), /^Resource: closing/m) === 8);
});

Deno.test("examples/usersession: session-bound instances do not clash, a singleton does", async () => {
  await using server = await startServer("usersession");
  const deno = await denoClient("usersession", [server.address]);
  const [, sessionPart, singletonPart] = deno.split(/\*\*\*\*\* Multiple concurrent proxies/);
  assert(!sessionPart.includes("ERROR"), deno);
  equal(count(sessionPart, /\] num=10\d$/m), 6, deno);
  match(singletonPart, /ERROR: concurrent connection access/);
  const python = await pythonClient("usersession", [server.address]);
  const [, pySession] = python.split(/\*\*\*\*\* Multiple concurrent proxies/);
  assert(!pySession.includes("ERROR"), python);
  // Python's client threads print concurrently, so two results may share a line.
  equal(count(pySession, /\] num=10\d(?!\d)/), 6, python);
  match(server.output(), /\[SessionboundDatabase\] new instance and connection for user: user123/);
});

Deno.test("examples/handshake: the secret lets clients in, a wrong one is refused", async () => {
  await using server = await startServer("handshake");
  const ok = await denoClient("handshake", [server.address, "pancakes"]);
  match(ok, /^Proxy received handshake response data: \["how","are","you","doing"\]$/m);
  match(ok, /^Connection ok!$/m);
  const refused = await denoClient("handshake", [server.address, "waffles"]);
  match(
    refused,
    /Connection refused: connection to \('127\.0\.0\.1', \d+\) rejected: wrong secret code, connection refused/,
  );
  const pyOk = await pythonClient("handshake", [server.address, "pancakes"]);
  match(pyOk, /Proxy received handshake response data:\s+\['how', 'are', 'you', 'doing'\]/);
  match(pyOk, /Connection ok!/);
  const pyRefused = await pythonClient("handshake", [server.address, "waffles"]);
  match(
    pyRefused,
    /Connection refused: connection to \('127\.0\.0\.1', \d+\) rejected: wrong secret code/,
  );
  await waitFor(() => count(server.output(), /^Daemon client disconnects:/m) === 2);
  equal(count(server.output(), /^Secret code wrong! Connection refused\.$/m), 2);
});
