/**
 * The proxy side of the network fault test, run inside the client namespace: reads one JSON
 * command per line from stdin, runs them concurrently, and answers each with one JSON line
 * `{"id", "ok": true, "value", "ms"}` or `{"id", "ok": false, "error": class name, "message",
 * "communication": bool, "ms"}`.
 *
 * Commands: `{"id", "op": "proxy", "name", "uri", "timeout", "maxRetries"}`,
 * `{"id", "op": "call", "name", "method", "args"}`, `{"id", "op": "reconnect", "name", "tries",
 * "delay"}`, `{"id", "op": "release", "name"}`.
 *
 * @module
 */
import { PyroProxy } from "../../client.ts";
import { CommunicationError } from "../../errors.ts";

/** One command of the test. */
export interface ClientCommand {
  id: number;
  op: "proxy" | "call" | "reconnect" | "release";
  name: string;
  uri?: string;
  timeout?: number;
  maxRetries?: number;
  method?: string;
  args?: unknown[];
  tries?: number;
  delay?: number;
}

/** The answer to a command. */
export type ClientAnswer =
  & { id: number; ms: number }
  & ({ ok: true; value: unknown } | {
    ok: false;
    error: string;
    message: string;
    communication: boolean;
  });

const proxies = new Map<string, PyroProxy>();

async function perform(command: ClientCommand): Promise<unknown> {
  if (command.op === "proxy") {
    proxies.get(command.name)?._pyroRelease();
    proxies.set(
      command.name,
      new PyroProxy(command.uri!, { timeout: command.timeout, maxRetries: command.maxRetries }),
    );
    return null;
  }
  const proxy = proxies.get(command.name);
  if (!proxy) throw new TypeError(`No proxy ${command.name}`);
  switch (command.op) {
    case "call": {
      // A remote method as a program calls it (through MAX_RETRIES), not _pyroInvoke.
      const remote = proxy as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      return await remote[command.method!](...command.args ?? []);
    }
    case "reconnect":
      return await proxy._pyroReconnect(command.tries, command.delay) ?? null;
    case "release":
      proxy._pyroRelease();
      return null;
  }
}

async function answer(command: ClientCommand): Promise<ClientAnswer> {
  const start = performance.now();
  try {
    const result = await perform(command);
    // A URI or a proxy travels as its text.
    const value = typeof result === "object" && result !== null && !Array.isArray(result)
      ? String(result)
      : result;
    return { id: command.id, ok: true, value, ms: performance.now() - start };
  } catch (error) {
    return {
      id: command.id,
      ok: false,
      error: (error as Error)?.constructor?.name ?? typeof error,
      message: String((error as Error)?.message ?? error),
      communication: error instanceof CommunicationError,
      ms: performance.now() - start,
    };
  }
}

if (import.meta.main) {
  const out = Deno.stdout.writable.getWriter();
  const encoder = new TextEncoder();
  let buffered = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const command = JSON.parse(buffered.slice(0, newline)) as ClientCommand;
      buffered = buffered.slice(newline + 1);
      answer(command).then((reply) => out.write(encoder.encode(JSON.stringify(reply) + "\n")));
    }
  }
  for (const proxy of proxies.values()) proxy._pyroRelease();
}
