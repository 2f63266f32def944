/**
 * The name server storages: the same behaviour table run against the memory and the sqlite
 * storage, then what only the sqlite one does (reopen, Pyro5's schema, foreign files left
 * unchanged, paths that cannot be written, two handles on one file).
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert";
import { DatabaseSync } from "node:sqlite";
import { NamingError } from "../errors.ts";
import { MemoryStorage, type NameStorage } from "../nameserver/storage.ts";
import { SqlStorage } from "../nameserver/storage_sql.ts";

async function tempDb(): Promise<{ file: string; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "ns_storage_" });
  return {
    file: `${dir}/names.sqlite`,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

function names(storage: NameStorage, prefix = ""): string[] {
  return storage.list(prefix, false).map((r) => r.name);
}

async function eachStorage(
  t: Deno.TestContext,
  body: (storage: NameStorage) => void,
): Promise<void> {
  await t.step("memory", () => {
    const storage = new MemoryStorage();
    try {
      body(storage);
    } finally {
      storage.close();
    }
  });
  await t.step("sql", async () => {
    await using db = await tempDb();
    const storage = new SqlStorage(db.file);
    try {
      body(storage);
    } finally {
      storage.close();
    }
  });
}

Deno.test("NameStorage put/get/has/count", async (t) => {
  await eachStorage(t, (s) => {
    strictEqual(s.count(), 0);
    strictEqual(s.put("a", "PYRO:a@h:1", ["x", "y", "x"]), true);
    strictEqual(s.has("a"), true);
    strictEqual(s.has("b"), false);
    deepStrictEqual(s.get("a"), { name: "a", uri: "PYRO:a@h:1", metadata: new Set(["x", "y"]) });
    strictEqual(s.get("b"), undefined);
    // replace keeps one registration and replaces the tags
    strictEqual(s.put("a", "PYRO:a2@h:1", ["z"]), true);
    deepStrictEqual(s.get("a"), { name: "a", uri: "PYRO:a2@h:1", metadata: new Set(["z"]) });
    strictEqual(s.count(), 1);
  });
});

Deno.test("NameStorage put onlyIfAbsent leaves an existing name alone", async (t) => {
  await eachStorage(t, (s) => {
    strictEqual(s.put("a", "PYRO:a@h:1", ["x"], true), true);
    strictEqual(s.put("a", "PYRO:other@h:1", ["y"], true), false);
    deepStrictEqual(s.get("a"), { name: "a", uri: "PYRO:a@h:1", metadata: new Set(["x"]) });
  });
});

Deno.test("NameStorage setMetadata and remove", async (t) => {
  await eachStorage(t, (s) => {
    s.put("a", "PYRO:a@h:1", ["x"]);
    s.put("b", "PYRO:b@h:1", []);
    strictEqual(s.setMetadata("a", ["p", "q"]), true);
    strictEqual(s.setMetadata("nope", ["p"]), false);
    deepStrictEqual(s.get("a")!.metadata, new Set(["p", "q"]));
    deepStrictEqual(s.findByMetadata(["x"], "any", false), []);
    strictEqual(s.setMetadata("a", []), true);
    deepStrictEqual(s.get("a")!.metadata, new Set());
    strictEqual(s.remove(["a", "nope", "b"]), 2);
    strictEqual(s.count(), 0);
    strictEqual(s.remove([]), 0);
  });
});

Deno.test("NameStorage list by prefix, in registration order", async (t) => {
  await eachStorage(t, (s) => {
    for (const n of ["b.2", "a.1", "b.1", "b", "bb", "c", "B.1", "b.\u{10ffff}x", "b%", "b_"]) {
      s.put(n, `PYRO:o@h:1`, [n]);
    }
    deepStrictEqual(names(s, "b."), ["b.2", "b.1", "b.\u{10ffff}x"]);
    deepStrictEqual(names(s, "b"), ["b.2", "b.1", "b", "bb", "b.\u{10ffff}x", "b%", "b_"]);
    deepStrictEqual(names(s, "b%"), ["b%"]); // no LIKE wildcards
    deepStrictEqual(names(s, "b_"), ["b_"]);
    deepStrictEqual(names(s, "\u{10ffff}"), []);
    strictEqual(names(s).length, 10);
    deepStrictEqual(s.list("a", true), [{
      name: "a.1",
      uri: "PYRO:o@h:1",
      metadata: new Set(["a.1"]),
    }]);
    deepStrictEqual(s.list("a", false), [{ name: "a.1", uri: "PYRO:o@h:1", metadata: new Set() }]);
  });
});

Deno.test("NameStorage findByMetadata all/any", async (t) => {
  await eachStorage(t, (s) => {
    s.put("p1", "PYRO:p1@h:1", ["printer", "color", "a4"]);
    s.put("p2", "PYRO:p2@h:1", ["printer", "a4"]);
    s.put("s1", "PYRO:s1@h:1", ["scanner", "color"]);
    s.put("x", "PYRO:x@h:1", []);
    const find = (tags: string[], match: "all" | "any") =>
      s.findByMetadata(tags, match, false).map((r) => r.name);
    deepStrictEqual(find(["printer"], "all"), ["p1", "p2"]);
    deepStrictEqual(find(["printer", "color"], "all"), ["p1"]);
    deepStrictEqual(find(["printer", "printer"], "all"), ["p1", "p2"]);
    deepStrictEqual(find(["printer", "nothing"], "all"), []);
    deepStrictEqual(find(["color", "nothing"], "any"), ["p1", "s1"]);
    deepStrictEqual(find(["a4", "scanner"], "any"), ["p1", "p2", "s1"]);
    deepStrictEqual(find([], "any"), []);
    deepStrictEqual(s.findByMetadata(["scanner"], "all", true), [
      { name: "s1", uri: "PYRO:s1@h:1", metadata: new Set(["scanner", "color"]) },
    ]);
  });
});

Deno.test("NameStorage keeps odd names and tags intact", async (t) => {
  const odd = ["__proto__", "constructor", "naïve ünicode", "emoji 😀", "quote'\"", "semi;--"];
  await eachStorage(t, (s) => {
    for (const n of odd) s.put(n, "PYRO:o@h:1", [n, `${n},x`]);
    for (const n of odd) deepStrictEqual(s.get(n)!.metadata, new Set([n, `${n},x`]));
    deepStrictEqual(names(s), odd);
    deepStrictEqual(s.findByMetadata([`${odd[3]},x`], "any", false).map((r) => r.name), [odd[3]]);
  });
});

Deno.test("SqlStorage survives reopening", async () => {
  await using db = await tempDb();
  const first = new SqlStorage(db.file);
  for (let i = 0; i < 50; i++) first.put(`n${i}`, `PYRO:o${i}@h:1`, [`t${i % 3}`]);
  first.remove(["n0"]);
  first.close();
  first.close(); // idempotent
  const again = new SqlStorage(db.file);
  try {
    strictEqual(again.count(), 49);
    deepStrictEqual(again.get("n7"), { name: "n7", uri: "PYRO:o7@h:1", metadata: new Set(["t1"]) });
    strictEqual(again.findByMetadata(["t0"], "all", false).length, 16);
  } finally {
    again.close();
  }
  const raw = new DatabaseSync(db.file);
  try {
    // Pyro5's schema, and no stamp of ours: Pyro5 stamps none either
    strictEqual(Number(raw.prepare("PRAGMA application_id").get()!.application_id), 0);
    strictEqual(Number(raw.prepare("PRAGMA user_version").get()!.user_version), 0);
    deepStrictEqual(
      raw.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all()
        .map((r) => r.name),
      ["pyro_metadata", "pyro_names"],
    );
    strictEqual(
      Number(raw.prepare("SELECT count(*) AS c FROM pyro_metadata WHERE metadata = 't0'").get()!.c),
      16,
    );
    strictEqual(String(raw.prepare("PRAGMA journal_mode").get()!.journal_mode), "wal");
    strictEqual(String(raw.prepare("PRAGMA integrity_check").get()!.integrity_check), "ok");
    strictEqual(raw.prepare("PRAGMA foreign_key_check").all().length, 0);
  } finally {
    raw.close();
  }
});

Deno.test("SqlStorage refuses :memory: and closed use", async () => {
  throws(() => new SqlStorage(":memory:"), NamingError);
  await using db = await tempDb();
  const storage = new SqlStorage(db.file);
  storage.close();
  throws(() => storage.count(), /closed/);
});

/** The bytes of every file in a directory, by name. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for await (const entry of Deno.readDir(dir)) {
    const bytes = await Deno.readFile(`${dir}/${entry.name}`);
    const digest = await crypto.subtle.digest("SHA-256", bytes);
    files.set(
      entry.name,
      `${bytes.length}:${[...new Uint8Array(digest)].join(",")}`,
    );
  }
  return files;
}

/** sqlite files that are not a name server's, each made by `make` on a fresh path. */
const FOREIGN_FILES: [string, (file: string) => void, RegExp][] = [
  [
    "another application's tables",
    (file) => sql(file, "CREATE TABLE t(x); INSERT INTO t VALUES (1)"),
    /not a name server database \(its tables: t\)/,
  ],
  [
    "another application's tables, in WAL mode",
    (file) =>
      sql(
        file,
        "PRAGMA journal_mode = WAL; CREATE TABLE orders(id, item); INSERT INTO orders VALUES (1, 'x')",
      ),
    /its tables: orders/,
  ],
  [
    "an application id on an empty database",
    (file) => sql(file, "PRAGMA application_id = 1234; CREATE TABLE t(x); DROP TABLE t"),
    /application id 0x000004d2 of another application/,
  ],
  [
    "a user_version on an empty database",
    (file) => sql(file, "PRAGMA user_version = 7; CREATE TABLE t(x); DROP TABLE t"),
    /empty database with user_version 7/,
  ],
  [
    "pyro-deno's earlier schema",
    (file) =>
      sql(
        file,
        "PRAGMA application_id = 1350127187; PRAGMA journal_mode = WAL; CREATE TABLE ns_name (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, uri TEXT NOT NULL) STRICT; CREATE TABLE ns_tag (tag TEXT NOT NULL, name_id INTEGER NOT NULL, PRIMARY KEY (tag, name_id)) STRICT, WITHOUT ROWID; INSERT INTO ns_name(name, uri) VALUES ('a', 'PYRO:a@h:1')",
      ),
    /pyro-deno's earlier name server tables \(ns_name, ns_tag\)/,
  ],
  [
    "old Pyro's schema without metadata",
    (file) =>
      sql(
        file,
        "CREATE TABLE pyro_names (id integer PRIMARY KEY, name nvarchar NOT NULL UNIQUE, uri nvarchar NOT NULL); INSERT INTO pyro_names(name, uri) VALUES ('a', 'PYRO:a@h:1')",
      ),
    /pyro_names without pyro_metadata/,
  ],
  [
    "Pyro5's tables and another one",
    (file) => sql(file, `${PYRO5} CREATE TABLE mine(x)`),
    /its tables: mine, pyro_metadata, pyro_names/,
  ],
  [
    "Pyro5's tables with other columns",
    (file) => sql(file, PYRO5.replace("uri nvarchar NOT NULL", "url text NOT NULL")),
    /pyro_names has the columns \(id integer, name nvarchar, url text\)/,
  ],
  [
    "Pyro5's tables with a trigger",
    (file) =>
      sql(
        file,
        `${PYRO5} CREATE TRIGGER t AFTER INSERT ON pyro_names BEGIN DELETE FROM pyro_metadata; END`,
      ),
    /has the trigger t besides/,
  ],
  [
    "Pyro5's tables without a unique name",
    (file) => sql(file, PYRO5.replace("NOT NULL UNIQUE", "NOT NULL")),
    /name column is not unique/,
  ],
  [
    "Pyro5's tables with an application id",
    (file) => sql(file, `${PYRO5} PRAGMA application_id = 99`),
    /application id 0x00000063/,
  ],
  [
    "a text file",
    (file) => Deno.writeTextFileSync(file, "name,uri\n".repeat(100)),
    /not a sqlite database/,
  ],
];

/** Pyro5 5.15's tables, as its SqlStorage creates them. */
const PYRO5 = `CREATE TABLE pyro_names (id integer PRIMARY KEY, name nvarchar NOT NULL UNIQUE,
  uri nvarchar NOT NULL);
CREATE TABLE pyro_metadata (object integer NOT NULL, metadata nvarchar NOT NULL,
  FOREIGN KEY(object) REFERENCES pyro_names(id));`;

function sql(file: string, statements: string): void {
  const db = new DatabaseSync(file);
  try {
    db.exec(statements);
  } finally {
    db.close();
  }
}

Deno.test("SqlStorage refuses other sqlite files and leaves them byte for byte unchanged", async (t) => {
  for (const [what, make, reason] of FOREIGN_FILES) {
    await t.step(what, async () => {
      await using db = await tempDb();
      make(db.file);
      const dir = db.file.slice(0, db.file.lastIndexOf("/"));
      const before = await snapshot(dir);
      for (const open of [() => new SqlStorage(db.file), () => new SqlStorage(db.file)]) {
        throws(open, (e: unknown) => {
          ok(e instanceof NamingError, String(e));
          ok(
            e.message.startsWith(`Refusing to use ${db.file} as the name server database: `),
            e.message,
          );
          ok(reason.test(e.message), e.message);
          return true;
        });
      }
      deepStrictEqual(await snapshot(dir), before, "the file (and its directory) changed");
    });
  }
});

Deno.test("SqlStorage initialises a missing, an empty and a table-less file with Pyro5's tables", async (t) => {
  const cases: [string, (file: string) => void][] = [
    ["missing", () => {}],
    ["zero bytes", (file) => Deno.writeFileSync(file, new Uint8Array())],
    ["a sqlite database without tables", (file) => sql(file, "CREATE TABLE t(x); DROP TABLE t")],
  ];
  for (const [what, make] of cases) {
    await t.step(what, async () => {
      await using db = await tempDb();
      make(db.file);
      const storage = new SqlStorage(db.file);
      try {
        storage.put("a", "PYRO:a@h:1", ["x"]);
      } finally {
        storage.close();
      }
      const raw = new DatabaseSync(db.file, { readOnly: true });
      try {
        deepStrictEqual(
          raw.prepare(
            "SELECT name, uri, metadata FROM pyro_names JOIN pyro_metadata ON object = id",
          )
            .all().map((r) => ({ ...r })),
          [{ name: "a", uri: "PYRO:a@h:1", metadata: "x" }],
        );
      } finally {
        raw.close();
      }
    });
  }
});

Deno.test("SqlStorage names the path and the reason when a file cannot be created or read", async (t) => {
  await using db = await tempDb();
  const dir = db.file.slice(0, db.file.lastIndexOf("/"));
  const cases: [string, string, RegExp][] = [
    [
      "missing directory",
      `${dir}/no/such/dir/ns.sqlite`,
      /^Cannot create the name server database .*\/no\/such\/dir\/ns\.sqlite: its directory .*\/no\/such\/dir does not exist$/,
    ],
    [
      "a file as directory",
      `${db.file}x/ns.sqlite`,
      /^Cannot create the name server database .*names\.sqlitex\/ns\.sqlite: .*names\.sqlitex is not a directory$/,
    ],
    [
      "a directory as the file",
      dir,
      /^Refusing to use .* as the name server database: it is not a regular file$/,
    ],
    // with --allow-all (as this test runs) the kernel refuses; without it, Deno (see cli tests)
    [
      "sysfs",
      "/sys/ns.sqlite",
      /^Cannot create the name server database \/sys\/ns\.sqlite: the directory \/sys is read-only or not writable$/,
    ],
  ];
  Deno.writeTextFileSync(`${db.file}x`, "a file");
  for (const [what, file, message] of cases) {
    await t.step(what, () => {
      throws(() => new SqlStorage(file), (e: unknown) => {
        ok(e instanceof NamingError, String(e));
        ok(message.test(e.message), e.message);
        return true;
      });
    });
  }
});

Deno.test("SqlStorage two handles on one file see each other's writes", async () => {
  await using db = await tempDb();
  const a = new SqlStorage(db.file);
  const b = new SqlStorage(db.file);
  try {
    a.put("from-a", "PYRO:a@h:1", ["shared"]);
    b.put("from-b", "PYRO:b@h:1", ["shared"]);
    strictEqual(a.count(), 2);
    strictEqual(b.findByMetadata(["shared"], "all", false).length, 2);
    strictEqual(b.put("from-a", "PYRO:x@h:1", [], true), false);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("SqlStorage rolls back a failed registration completely", async () => {
  await using db = await tempDb();
  const storage = new SqlStorage(db.file);
  try {
    storage.put("keep", "PYRO:k@h:1", ["a"]);
    // A tag that is not a string makes the tag insert fail halfway through the transaction.
    const badTags = ["ok", 12 as unknown as string, Symbol("x") as unknown as string];
    throws(() => storage.put("half", "PYRO:h@h:1", badTags), NamingError);
    strictEqual(storage.has("half"), false);
    throws(() => storage.put("keep", "PYRO:changed@h:1", badTags), NamingError);
    deepStrictEqual(storage.get("keep"), {
      name: "keep",
      uri: "PYRO:k@h:1",
      metadata: new Set(["a"]),
    });
  } finally {
    storage.close();
  }
});

Deno.test("deno task ns -s sql:... says in one line why a file cannot be used", async (t) => {
  await using db = await tempDb();
  sql(db.file, "PRAGMA journal_mode = WAL; CREATE TABLE orders(id, item)");
  const dir = db.file.slice(0, db.file.lastIndexOf("/"));
  const before = await snapshot(dir);
  const cases: [string, string, RegExp][] = [
    [
      "a kernel file system (Deno refuses it without --allow-all)",
      "/sys/ns.sqlite",
      /^Error: .*Cannot use the name server database \/sys\/ns\.sqlite: \/sys is a read-only kernel file system where no database can be created$/,
    ],
    [
      "a missing directory",
      "/nonexistent-dir/x/ns.sqlite",
      /^Error: .*Cannot create the name server database \/nonexistent-dir\/x\/ns\.sqlite: its directory \/nonexistent-dir\/x does not exist$/,
    ],
    [
      "another application's database",
      db.file,
      /^Error: .*Refusing to use .*names\.sqlite as the name server database: it is not a name server database \(its tables: orders\)$/,
    ],
  ];
  for (const [what, file, message] of cases) {
    await t.step(what, async () => {
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["task", "--quiet", "ns", "-n", "127.0.0.1", "-p", "0", "-x", "-s", `sql:${file}`],
        cwd: new URL("..", import.meta.url),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(60_000),
      }).output();
      const stderr = new TextDecoder().decode(output.stderr).trim();
      strictEqual(output.code, 1, stderr);
      strictEqual(stderr.split("\n").length, 1, stderr);
      ok(message.test(stderr), stderr);
    });
  }
  deepStrictEqual(await snapshot(dir), before, "the file (and its directory) changed");
});
