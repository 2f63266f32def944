/**
 * Configuration against Python Pyro5's: the same defaults, and `PYRO_*` environment variables
 * parsed to the same values (or refused alike).
 *
 * Permissions: `--allow-run=python3,bash --allow-read --allow-env`.
 */
import assert from "node:assert";
import { configFromEnv, DEFAULT_CONFIG, makeConfig } from "../config.ts";
import { peerEnv } from "./_peer.ts";

async function pythonConfig(env: Record<string, string>): Promise<Record<string, unknown>> {
  const script = `
import json
try:
    from Pyro5 import config
    print(json.dumps({k: v for k, v in config.as_dict().items()}))
except ValueError as e:
    print(json.dumps({"error": str(e)}))
`;
  const output = await new Deno.Command("python3", {
    args: ["-c", script],
    env: { ...(await peerEnv()), ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

Deno.test("DEFAULT_CONFIG has Pyro5 5.15's items and defaults", async () => {
  const python = await pythonConfig({});
  const ours: Record<string, unknown> = { ...DEFAULT_CONFIG };
  assert.deepStrictEqual(Object.keys(ours).sort(), Object.keys(python).sort());
  for (const [item, value] of Object.entries(python)) {
    assert.deepStrictEqual(ours[item], value, item);
  }
});

Deno.test("configFromEnv parses PYRO_* variables as Pyro5 does", async (t) => {
  const cases: Record<string, string>[] = [
    { PYRO_NS_HOST: "127.0.0.1", PYRO_NS_PORT: "9999" },
    { PYRO_COMMTIMEOUT: "2.5", PYRO_POLLTIMEOUT: "1" },
    { PYRO_COMPRESSION: "yes", PYRO_SOCK_REUSE: "off", PYRO_ITER_STREAMING: "0" },
    { PYRO_COMPRESSION: "TRUE", PYRO_DETAILED_TRACEBACK: "On" },
    { PYRO_SERIALIZER: "msgpack", PYRO_MAX_MESSAGE_SIZE: "1000" },
    { PYRO_BROADCAST_ADDRS: "127.255.255.255, 127.0.0.1" },
    { PYRO_NS_AUTOCLEAN: "3", PYRO_ITER_STREAM_LINGER: "0.5", PYRO_MAX_RETRIES: "2" },
    { PYRO_NOSUCHITEM: "1" },
    { PYRO_NS_PORT: "abc" },
    { PYRO_NS_PORT: "1.5" },
    { PYRO_COMPRESSION: "maybe" },
    { PYRO_COMPRESSION: "MAYBE" },
    { PYRO_LOGLEVEL: "DEBUG", PYRO_LOGFILE: "{stderr}" },
    { PYRO_COMMTIMEOUT: "1e1", PYRO_POLLTIMEOUT: ".5", PYRO_ITER_STREAM_LINGER: "1_000.5" },
    { PYRO_NS_PORT: "1_000", PYRO_MAX_RETRIES: " +3 " },
    { PYRO_NS_PORT: "0x10" },
    { PYRO_NS_PORT: "" },
    { PYRO_COMMTIMEOUT: "" },
    { PYRO_COMMTIMEOUT: "1.2.3" },
  ];
  for (const env of cases) {
    await t.step(JSON.stringify(env), async () => {
      const python = await pythonConfig(env);
      if ("error" in python) {
        // The same message, capitalised as errors are here.
        const expected = String(python.error).replace(/^./, (c) => c.toUpperCase());
        assert.throws(() => configFromEnv(env), { name: "RangeError", message: expected });
        return;
      }
      const ours: Record<string, unknown> = { ...configFromEnv(env) };
      for (const item of Object.keys(env).map((name) => name.slice("PYRO_".length))) {
        assert.deepStrictEqual(ours[item], python[item], item);
      }
    });
  }
});

Deno.test("configFromEnv overrides win, results are frozen", () => {
  const config = configFromEnv({ PYRO_NS_PORT: "1" }, { NS_PORT: 2 });
  assert.strictEqual(config.NS_PORT, 2);
  assert.ok(Object.isFrozen(config));
  assert.strictEqual(makeConfig({ HOST: "::1" }).HOST, "::1");
  assert.strictEqual(DEFAULT_CONFIG.HOST, "localhost");
  assert.deepStrictEqual(configFromEnv({ OTHER: "x" }), makeConfig());
});
