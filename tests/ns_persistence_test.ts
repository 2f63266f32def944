/**
 * Persistence of the sql storage across a crash: a name server process (`cli/ns.ts -s sql:FILE`)
 * gets 1,000 registrations with metadata, is killed with SIGKILL while more registrations are in
 * flight, and is started again on the same file: every acknowledged registration is there with
 * its metadata, nothing is half written, and the database is intact.
 *
 * Run: deno test -A tests/ns_persistence_test.ts
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { DatabaseSync } from "node:sqlite";
import { PyroProxy } from "../client.ts";
import { CommunicationError } from "../errors.ts";
import { repoPath } from "./_peer.ts";

const START_TIMEOUT_MS = 30_000;

/** A name server process; its stdout lines are collected. */
class NsProcess implements AsyncDisposable {
  readonly lines: string[] = [];
  #child: Deno.ChildProcess;
  #reading: Promise<void>;
  uri = "";

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#reading = (async () => {
      const decoder = new TextDecoderStream();
      let buffered = "";
      for await (const chunk of child.stdout.pipeThrough(decoder)) {
        buffered += chunk;
        let newline;
        while ((newline = buffered.indexOf("\n")) >= 0) {
          this.lines.push(buffered.slice(0, newline));
          buffered = buffered.slice(newline + 1);
        }
      }
      if (buffered) this.lines.push(buffered);
    })();
  }

  static async start(db: string): Promise<NsProcess> {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        repoPath("cli/ns.ts"),
        "-n",
        "127.0.0.1",
        "-p",
        "0",
        "-s",
        `sql:${db}`,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const ns = new NsProcess(child);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!ns.lines.some((l) => l.startsWith("URI = "))) {
      if (Date.now() > deadline) {
        await ns.kill();
        throw new Error(`name server did not start: ${ns.lines.join(" | ")}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    ns.uri = ns.lines.find((l) => l.startsWith("URI = "))!.slice(6);
    return ns;
  }

  async kill(signal: Deno.Signal = "SIGKILL"): Promise<Deno.CommandStatus> {
    try {
      this.#child.kill(signal);
    } catch { /* already ended */ }
    const status = await this.#child.status;
    await this.#reading;
    return status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
  }
}

const tagsOf = (name: string) => [`tag:${name}`, "persisted"];

Deno.test("SqlStorage name server: acknowledged registrations survive SIGKILL", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ns_persist_" });
  const db = `${dir}/names.sqlite`;
  try {
    const acknowledged: string[] = [];
    {
      await using ns = await NsProcess.start(db);
      // 1,000 registrations with metadata, from 4 clients at once
      await Promise.all([0, 1, 2, 3].map(async (client) => {
        await using proxy = new PyroProxy(ns.uri, { serializer: "msgpack" });
        for (let i = client; i < 1000; i += 4) {
          const name = `base.${i}`;
          await proxy.register(name, `PYRO:obj_${i}@localhost:${5000 + i}`, false, tagsOf(name));
          acknowledged.push(name);
        }
      }));
      strictEqual(acknowledged.length, 1000);
      // more registrations in flight, then SIGKILL in the middle of them
      let stop = false;
      const writers = [0, 1, 2, 3, 4, 5].map(async (client) => {
        const proxy = new PyroProxy(ns.uri, { serializer: "serpent" });
        try {
          for (let i = 0; !stop && i < 100_000; i++) {
            const name = `extra.${client}.${i}`;
            await proxy.register(name, `PYRO:x_${client}_${i}@localhost:6000`, false, tagsOf(name));
            acknowledged.push(name);
          }
        } catch (error) {
          // the name server died under this call
          ok(error instanceof CommunicationError, String(error));
        } finally {
          proxy._pyroRelease();
        }
      });
      await new Promise((r) => setTimeout(r, 400));
      const status = await ns.kill("SIGKILL");
      stop = true;
      strictEqual(status.signal, "SIGKILL");
      await Promise.all(writers);
    }
    ok(acknowledged.length > 1000, "some registrations were acknowledged before the kill");

    await using again = await NsProcess.start(db);
    const stored = again.lines.find((l) => l.startsWith("Persistent store contains"));
    ok(stored, again.lines.join("\n"));
    await using proxy = new PyroProxy(again.uri);
    const all = await proxy.list(null, null, true) as Record<string, [string, Set<string>]>;
    for (const name of acknowledged) {
      ok(name in all, `acknowledged registration lost: ${name}`);
      deepStrictEqual(all[name][1], new Set(tagsOf(name)), name);
    }
    // registrations that were committed but not yet acknowledged are complete too
    for (const [name, [uri, tags]] of Object.entries(all)) {
      if (name === "Pyro.NameServer") continue;
      ok(uri.startsWith("PYRO:"), name);
      deepStrictEqual(tags, new Set(tagsOf(name)), `half-written registration: ${name}`);
    }
    strictEqual(
      stored,
      `Persistent store contains ${Object.keys(all).length} existing registrations.`,
    );
    strictEqual(
      Object.keys(await proxy.yplookup(["persisted"], null, false)).length,
      Object.keys(all).length - 1,
    );
    proxy._pyroRelease();
    const status = await again.kill("SIGTERM");
    strictEqual(status.code, 0);
    strictEqual(again.lines.at(-1), "NS shut down.");

    const raw = new DatabaseSync(db, { readOnly: true });
    try {
      strictEqual(raw.prepare("PRAGMA integrity_check").get()!.integrity_check, "ok");
      strictEqual(raw.prepare("PRAGMA foreign_key_check").all().length, 0);
    } finally {
      raw.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
