/**
 * The library's defaults follow the process's `PYRO_*` environment, as Pyro5's do: each test runs
 * `tests/_env_probe.ts` in a subprocess with variables set and checks what the daemon, proxy,
 * `locateNS`, `resolve` and the name server did without being passed a configuration.
 *
 * Permissions: `--allow-run --allow-read --allow-env --allow-net=127.0.0.1`.
 */
import assert from "node:assert";
import { DEFAULT_CONFIG } from "../config.ts";
import { repoPath } from "./_peer.ts";

const NET = "--allow-net=127.0.0.1,[::1],localhost";

async function probe(
  name: string,
  env: Record<string, string>,
  permissions: string[] = [NET, "--allow-env"],
): Promise<{ result: Record<string, unknown>; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...permissions, repoPath("tests/_env_probe.ts"), name],
    env,
    stdin: "null",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  assert.ok(output.success, stderr);
  return { result: JSON.parse(stdout), stderr };
}

function freePort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return listener.addr.port;
}

// A value other than the default for every item, and what it parses to.
const NON_DEFAULT: Record<string, [string, unknown]> = {
  HOST: ["127.0.0.1", "127.0.0.1"],
  NS_HOST: ["127.0.0.2", "127.0.0.2"],
  NS_PORT: ["9190", 9190],
  NS_BCPORT: ["9191", 9191],
  NS_BCHOST: ["127.0.0.3", "127.0.0.3"],
  NS_AUTOCLEAN: ["5", 5],
  NS_LOOKUP_DELAY: ["0.25", 0.25],
  NATHOST: ["nat.example", "nat.example"],
  NATPORT: ["4321", 4321],
  COMPRESSION: ["yes", true],
  SERVERTYPE: ["multiplex", "multiplex"],
  COMMTIMEOUT: ["7.5", 7.5],
  POLLTIMEOUT: ["1.5", 1.5],
  MAX_RETRIES: ["3", 3],
  SOCK_REUSE: ["off", false],
  SOCK_NODELAY: ["on", true],
  DETAILED_TRACEBACK: ["true", true],
  THREADPOOL_SIZE: ["17", 17],
  THREADPOOL_SIZE_MIN: ["2", 2],
  MAX_MESSAGE_SIZE: ["123456", 123456],
  BROADCAST_ADDRS: ["127.255.255.255, 127.0.0.1", ["127.255.255.255", "127.0.0.1"]],
  PREFER_IP_VERSION: ["4", 4],
  SERIALIZER: ["msgpack", "msgpack"],
  SERPENT_BYTES_REPR: ["1", true],
  ITER_STREAMING: ["0", false],
  ITER_STREAM_LIFETIME: ["60", 60],
  ITER_STREAM_LINGER: ["2.5", 2.5],
  LOGFILE: ["{stderr}", "{stderr}"],
  LOGLEVEL: ["CRITICAL", "CRITICAL"],
  LOGWIRE: ["yes", true],
  SSL: ["false", false],
  SSL_SERVERCERT: ["server.pem", "server.pem"],
  SSL_SERVERKEY: ["server.key", "server.key"],
  SSL_SERVERKEYPASSWD: ["", ""],
  SSL_REQUIRECLIENTCERT: ["no", false],
  SSL_CLIENTCERT: ["client.pem", "client.pem"],
  SSL_CLIENTKEY: ["client.key", "client.key"],
  SSL_CLIENTKEYPASSWD: ["", ""],
  SSL_CACERTS: ["ca.pem", "ca.pem"],
};

Deno.test("defaultConfig: every PYRO_* item reaches the daemon, name server and proxy", async (t) => {
  assert.deepStrictEqual(Object.keys(NON_DEFAULT).sort(), Object.keys(DEFAULT_CONFIG).sort());
  const env = Object.fromEntries(
    Object.entries(NON_DEFAULT).map(([item, [text]]) => [`PYRO_${item}`, text]),
  );
  const { result } = await probe("configs", env);
  const builtIn = result.builtIn as Record<string, unknown>;
  for (const [item, [, value]] of Object.entries(NON_DEFAULT)) {
    await t.step(item, () => {
      for (const user of ["defaults", "daemon", "nameserver"]) {
        assert.deepStrictEqual((result[user] as Record<string, unknown>)[item], value, user);
      }
      assert.deepStrictEqual(builtIn[item], (DEFAULT_CONFIG as Record<string, unknown>)[item]);
    });
  }
  assert.deepStrictEqual(result.proxy, { timeout: 7.5, maxRetries: 3 });
});

Deno.test("defaultConfig: PYRO_HOST, PYRO_NATHOST and PYRO_NATPORT set where a Daemon listens", async () => {
  const { result } = await probe("daemon", {
    PYRO_HOST: "::1",
    PYRO_NATHOST: "nat.example",
    PYRO_NATPORT: "4321",
  });
  assert.deepStrictEqual(result, {
    host: "::1",
    uri: "PYRO:obj@nat.example:4321",
    explicitHost: "127.0.0.1", // an explicit option wins
  });
  const plain = await probe("daemon", {});
  assert.strictEqual(plain.result.host, "127.0.0.1"); // "localhost"
});

Deno.test("defaultConfig: PYRO_SERIALIZER and PYRO_MAX_MESSAGE_SIZE are a proxy's", async () => {
  const { result } = await probe("proxy", {
    PYRO_SERIALIZER: "json",
    PYRO_MAX_MESSAGE_SIZE: "2000",
  });
  assert.strictEqual(result.serializerId, 3); // json
  assert.strictEqual(result.explicitSerializerId, 2); // marshal, given explicitly
  assert.match((result.big as Record<string, string>).message, /message too large/);
  const plain = await probe("proxy", {});
  assert.deepStrictEqual(plain.result, { serializerId: 1, explicitSerializerId: 2, big: 5000 });
});

Deno.test("defaultConfig: PYRO_COMMTIMEOUT bounds a proxy's wait", async () => {
  const { result } = await probe("timeout", { PYRO_COMMTIMEOUT: "0.5" });
  assert.strictEqual((result.outcome as Record<string, string>).error, "TimeoutError");
  assert.ok(
    (result.seconds as number) >= 0.4 && (result.seconds as number) < 20,
    `${result.seconds}`,
  );
});

Deno.test("defaultConfig: PYRO_THREADPOOL_SIZE limits a Daemon's connections", async () => {
  const { result } = await probe("threadpool", { PYRO_THREADPOOL_SIZE: "1" });
  assert.match(JSON.stringify(result.second), /no free workers/);
  const plain = await probe("threadpool", {});
  assert.strictEqual(plain.result.second, "bound");
});

Deno.test("defaultConfig: PYRO_NS_HOST/NS_PORT/HOST/NS_AUTOCLEAN: name server, PYRONAME, locateNS, resolve", async () => {
  const port = freePort();
  const { result } = await probe("nameserver", {
    PYRO_HOST: "127.0.0.1",
    PYRO_NS_HOST: "127.0.0.1",
    PYRO_NS_PORT: String(port),
    PYRO_NS_AUTOCLEAN: "3",
  });
  const nsUri = `PYRO:Pyro.NameServer@127.0.0.1:${port}`;
  assert.deepStrictEqual(result, {
    nsUri,
    autoClean: true,
    pyronameCount: 1,
    locatedUri: nsUri,
    resolved: nsUri,
  });
});

Deno.test("defaultConfig: PYRO_NS_LOOKUP_DELAY makes resolve wait for a name", async () => {
  const { result } = await probe("lookupdelay", { PYRO_NS_LOOKUP_DELAY: "5" });
  assert.strictEqual(result.resolved, "PYRO:later@localhost:1");
  const plain = await probe("lookupdelay", {});
  assert.strictEqual((plain.result.resolved as Record<string, string>).error, "NamingError");
});

Deno.test("defaultConfig: without env permission, the built-in defaults and no prompt", async () => {
  const env = { PYRO_SERIALIZER: "json", PYRO_NOSUCHITEM: "x" };
  // --no-prompt: reading a variable without permission would throw, not ask.
  const { result, stderr } = await probe("proxy", env, [NET]);
  assert.strictEqual(result.serializerId, 1);
  assert.doesNotMatch(stderr, /env access/);
  // Only the variables granted one by one are read.
  const partial = await probe("proxy", env, [NET, "--allow-env=PYRO_SERIALIZER"]);
  assert.strictEqual(partial.result.serializerId, 3);
});

const hasScript = (() => {
  try {
    return Deno.statSync("/usr/bin/script").isFile;
  } catch {
    return false;
  }
})();

/** Runs a command on a terminal (`script`), where Deno would prompt; stops after `until` shows. */
async function onTerminal(
  command: string,
  env: Record<string, string>,
  until: RegExp,
  timeoutMs = 30_000,
): Promise<string> {
  const child = new Deno.Command("script", {
    args: ["-qec", command, "/dev/null"],
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout) {
      text += decoder.decode(chunk, { stream: true });
      if (until.test(text)) break;
    }
  } finally {
    clearTimeout(timer);
    try {
      child.kill("SIGTERM");
    } catch {
      // already ended
    }
    await child.stdin.close().catch(() => {});
    await child.stderr.cancel();
    await child.status;
  }
  return text;
}

Deno.test({
  name: "defaultConfig: on a terminal without env permission, no prompt (a read would prompt)",
  ignore: !hasScript,
  async fn() {
    const env = { PYRO_SERIALIZER: "json", NO_COLOR: "1" };
    const prompt = /requests env access/;
    // The control: reading the variable without permission prompts on a terminal.
    const control = await onTerminal(
      `${Deno.execPath()} run ${repoPath("tests/_env_probe.ts")} rawRead`,
      env,
      prompt,
    );
    assert.match(control, prompt);
    const probed = await onTerminal(
      `${Deno.execPath()} run ${NET} ${repoPath("tests/_env_probe.ts")} proxy`,
      env,
      /\}\s*$/,
    );
    assert.doesNotMatch(probed, prompt);
    assert.match(probed, /"serializerId":1,/);
  },
});

Deno.test("defaultConfig: a bad PYRO_* value is a RangeError where a default is needed", async () => {
  const { result } = await probe("daemon", { PYRO_NS_PORT: "abc" });
  assert.deepStrictEqual(result, {
    error: "RangeError",
    message: "Invalid Pyro environment config value: PYRO_NS_PORT=abc",
  });
});
