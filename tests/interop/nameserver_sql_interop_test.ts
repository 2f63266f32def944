/**
 * Interop of the sql name server storage with Python Pyro5 5.15's `SqlStorage`: both create the
 * same tables, and Python's name server (`python3 -m Pyro5.nameserver -s sql:FILE`) and ours,
 * run in turn on one file, each see the names and metadata the other wrote, through Python's
 * client and ours.
 *
 * Run: deno test -A tests/interop/nameserver_sql_interop_test.ts
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { DatabaseSync } from "node:sqlite";
import { PyroProxy } from "../../client.ts";
import { startNameServer } from "../../nameserver.ts";
import { SqlStorage } from "../../nameserver/storage_sql.ts";
import type { SerializerName } from "../../serializers/mod.ts";
import { peerEnv, repoPath } from "../_peer.ts";

const PEER = repoPath("tests/interop/ns_sql_peer.py");
const TIMEOUT_MS = 30_000;
const NS_NAME = "Pyro.NameServer";

type Action =
  | ["register", string, string, string[]]
  | ["remove", string]
  | ["set_metadata", string, string[]];

/** What a client sees in a name server: every name with its URI and sorted tags, and more. */
interface View {
  names: Record<string, [string, string[]]>;
  yp_all: Record<string, string[]>;
  count: number;
}

async function runPython(args: string[]): Promise<string> {
  const output = await new Deno.Command("python3", {
    args,
    env: await peerEnv(),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(TIMEOUT_MS),
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  strictEqual(output.code, 0, `python3 ${args.join(" ")}: ${stderr}`);
  return new TextDecoder().decode(output.stdout);
}

/** Python's views before and after running the actions through a Python client. */
async function pythonClient(
  uri: string,
  actions: Action[] = [],
): Promise<{ before: View; after: View }> {
  const out = await runPython([PEER, "client", uri, "serpent", JSON.stringify(actions)]);
  return JSON.parse(out.trim().split("\n").at(-1)!);
}

/** Our view after running the actions through our client. */
async function denoClient(
  uri: string,
  serializer: SerializerName,
  actions: Action[] = [],
): Promise<View> {
  await using ns = new PyroProxy(uri, { serializer });
  for (const action of actions) {
    if (action[0] === "register") await ns.register(action[1], action[2], false, action[3]);
    else if (action[0] === "remove") await ns.remove(action[1]);
    else await ns.set_metadata(action[1], action[2]);
  }
  const listed = await ns.list(null, null, true) as Record<string, [unknown, Iterable<string>]>;
  const names: View["names"] = {};
  for (const [name, [registered, tags]] of Object.entries(listed)) {
    names[name] = [String(registered), [...tags].sort()];
  }
  const yp_all: View["yp_all"] = {};
  for (const tag of new Set(Object.values(names).flatMap(([, tags]) => tags))) {
    yp_all[tag] = Object.keys(await ns.yplookup([tag], null, false)).sort();
  }
  return { names, yp_all, count: Number(await ns.count()) };
}

/** A view without the name server's own entry, checked to point at the running server. */
function withoutNameServer(view: View, nsUri: string): View {
  const names = { ...view.names };
  strictEqual(names[NS_NAME]?.[0], nsUri, `${NS_NAME} points at the running name server`);
  delete names[NS_NAME];
  const yp_all: View["yp_all"] = {};
  for (const [tag, found] of Object.entries(view.yp_all)) {
    const others = found.filter((name) => name !== NS_NAME);
    if (others.length > 0) yp_all[tag] = others;
  }
  return { names, yp_all, count: view.count - 1 };
}

/** The view the actions so far should give. */
class Expected {
  #names = new Map<string, [string, string[]]>();

  apply(actions: Action[]): void {
    for (const action of actions) {
      if (action[0] === "register") {
        this.#names.set(action[1], [action[2], [...new Set(action[3])].sort()]);
      } else if (action[0] === "remove") {
        this.#names.delete(action[1]);
      } else {
        const entry = this.#names.get(action[1])!;
        this.#names.set(action[1], [entry[0], [...new Set(action[2])].sort()]);
      }
    }
  }

  view(): View {
    const names = Object.fromEntries(this.#names);
    const yp_all: View["yp_all"] = {};
    for (const [name, [, tags]] of this.#names) {
      for (const tag of tags) (yp_all[tag] ??= []).push(name);
    }
    for (const found of Object.values(yp_all)) found.sort();
    return { names, yp_all, count: this.#names.size };
  }
}

/** Python's name server on the file until stop(): `python3 -m Pyro5.nameserver -s sql:FILE`. */
async function pythonNameServer(file: string): Promise<{ uri: string; stop(): Promise<void> }> {
  const child = new Deno.Command("python3", {
    args: ["-u", "-m", "Pyro5.nameserver", "-n", "127.0.0.1", "-p", "0", "-x", "-s", `sql:${file}`],
    env: await peerEnv(),
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
  try {
    while (!/^URI = \S+$/m.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`Python's name server did not start:\n${text}`);
      text += value;
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    await child.status;
    throw error;
  } finally {
    clearTimeout(timer);
  }
  const uri = /^URI = (\S+)$/m.exec(text)![1];
  return {
    uri,
    async stop() {
      const kill = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
      child.kill("SIGINT");
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      const status = await child.status;
      clearTimeout(kill);
      strictEqual(status.code, 0, text);
      ok(text.includes("NS shut down."), text);
    },
  };
}

/** Runs the actions on Python's name server over the file; both clients see the expected view. */
async function pythonTurn(file: string, expected: Expected, actions: Action[]): Promise<void> {
  const ns = await pythonNameServer(file);
  try {
    // what the other name server left, as both clients see it
    deepStrictEqual(
      withoutNameServer(await denoClient(ns.uri, "serpent"), ns.uri),
      expected.view(),
    );
    const python = await pythonClient(ns.uri, actions);
    deepStrictEqual(withoutNameServer(python.before, ns.uri), expected.view());
    expected.apply(actions);
    deepStrictEqual(withoutNameServer(python.after, ns.uri), expected.view());
  } finally {
    await ns.stop();
  }
}

/** Runs the actions on our name server over the file; both clients see the expected view. */
async function denoTurn(
  file: string,
  serializer: SerializerName,
  expected: Expected,
  actions: Action[],
): Promise<void> {
  await using server = await startNameServer({
    host: "127.0.0.1",
    port: 0,
    storage: `sql:${file}`,
    enableBroadcast: false,
  });
  const uri = server.uri.toString();
  deepStrictEqual(withoutNameServer((await pythonClient(uri)).before, uri), expected.view());
  deepStrictEqual(withoutNameServer(await denoClient(uri, serializer), uri), expected.view());
  expected.apply(actions);
  deepStrictEqual(
    withoutNameServer(await denoClient(uri, serializer, actions), uri),
    expected.view(),
  );
}

const TURNS: Action[][] = [
  [
    ["register", "office.printer", "PYRO:obj_office@localhost:5001", ["printer", "color"]],
    ["register", "lab.printer", "PYRO:obj_lab@localhost:5002", ["printer"]],
    ["register", "scanner", "PYRO:obj_scan@localhost:5003", []],
    ["register", "naïve ünicode 😀", "PYRO:obj_u@localhost:5004", ["tag with space", "ü", "a'b"]],
  ],
  [
    ["register", "first.turn.2", "PYRO:obj_2@localhost:6001", ["x", "y", "printer"]],
    ["remove", "lab.printer"],
    ["set_metadata", "scanner", ["scanner", "x"]],
    ["register", "office.printer", "PYRO:obj_office2@localhost:5011", ["printer"]],
  ],
  [
    ["register", "third.turn", "PYRO:obj_3@localhost:7001", ["late", "x"]],
    ["remove", "first.turn.2"],
    ["set_metadata", "naïve ünicode 😀", []],
    ["remove", "scanner"],
  ],
];

Deno.test("sql storage: Python's name server and ours take turns on one file", async (t) => {
  for (const [first, serializer] of [["python", "msgpack"], ["deno", "json"]] as const) {
    await t.step(`${first} creates the file (our client over ${serializer})`, async () => {
      const dir = await Deno.makeTempDir({ prefix: "ns_sql_interop_" });
      try {
        const file = `${dir}/names.sqlite`;
        const expected = new Expected();
        for (const [i, actions] of TURNS.entries()) {
          const python = (i % 2 === 0) === (first === "python");
          if (python) await pythonTurn(file, expected, actions);
          else await denoTurn(file, serializer, expected, actions);
        }
        // the last state, read by the name server that did not write it last
        if (first === "python") await denoTurn(file, serializer, expected, []);
        else await pythonTurn(file, expected, []);
        const raw = new DatabaseSync(file, { readOnly: true });
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
  }
});

Deno.test("sql storage creates the tables Pyro5's SqlStorage creates", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ns_sql_schema_" });
  try {
    await runPython([PEER, "schema", `${dir}/python.sqlite`]);
    new SqlStorage(`${dir}/deno.sqlite`).close();
    const describe = (file: string) => {
      const db = new DatabaseSync(file, { readOnly: true });
      try {
        const all = (sql: string) => db.prepare(sql).all().map((row) => ({ ...row }));
        const tables = all(
          "SELECT name, sql FROM sqlite_schema WHERE type = 'table' ORDER BY name",
        ).map((row) => ({
          name: row.name,
          sql: String(row.sql).replace(/\s+/g, " ").replace(/\( /g, "(").replace(/ \)/g, ")"),
        }));
        return {
          tables,
          columns: tables.map((table) => all(`PRAGMA table_info(${table.name})`)),
          foreignKeys: tables.map((table) => all(`PRAGMA foreign_key_list(${table.name})`)),
          nameIndexes: all("PRAGMA index_list(pyro_names)"),
          applicationId: all("PRAGMA application_id"),
          userVersion: all("PRAGMA user_version"),
        };
      } finally {
        db.close();
      }
    };
    const python = describe(`${dir}/python.sqlite`);
    deepStrictEqual(describe(`${dir}/deno.sqlite`), python);
    deepStrictEqual(python.tables.map((table) => table.name), ["pyro_metadata", "pyro_names"]);
    // and each opens the other's: ours opens Python's file, Python's storage opens ours
    const storage = new SqlStorage(`${dir}/python.sqlite`);
    storage.put("from-deno", "PYRO:x@localhost:1", ["t"]);
    storage.close();
    await runPython([PEER, "schema", `${dir}/deno.sqlite`]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
