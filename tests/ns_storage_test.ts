/**
 * The name server storages: the same behaviour table run against the memory and the sqlite
 * storage, then what only the sqlite one does (reopen, foreign files, two handles on one file).
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { DatabaseSync } from "node:sqlite";
import { NamingError } from "../errors.ts";
import { MemoryStorage, type NameStorage } from "../nameserver/storage.ts";
import { SQL_APPLICATION_ID, SqlStorage } from "../nameserver/storage_sql.ts";

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
    strictEqual(
      Number(raw.prepare("PRAGMA application_id").get()!.application_id),
      SQL_APPLICATION_ID,
    );
    strictEqual(String(raw.prepare("PRAGMA journal_mode").get()!.journal_mode), "wal");
    strictEqual(String(raw.prepare("PRAGMA integrity_check").get()!.integrity_check), "ok");
  } finally {
    raw.close();
  }
});

Deno.test("SqlStorage refuses :memory:, foreign databases and closed use", async () => {
  throws(() => new SqlStorage(":memory:"), NamingError);
  await using db = await tempDb();
  const foreign = new DatabaseSync(db.file);
  foreign.exec("PRAGMA application_id = 1234; CREATE TABLE t(x)");
  foreign.close();
  throws(() => new SqlStorage(db.file), /not a name server database/);
  const storage = new SqlStorage(`${db.file}.2`);
  storage.close();
  throws(() => storage.count(), /closed/);
  throws(() => new SqlStorage("/nonexistent-dir/x/y.sqlite"), NamingError);
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
