/**
 * Persistent name server storage in a sqlite file (`-s sql:FILE`), on `node:sqlite`, in Pyro5
 * 5.15's schema: Python's name server (`python3 -m Pyro5.nameserver -s sql:FILE`) and ours open
 * each other's files and see the same names and metadata.
 *
 * | table           | columns                                                              |
 * | --------------- | -------------------------------------------------------------------- |
 * | `pyro_names`    | `id` integer PRIMARY KEY, `name` nvarchar NOT NULL UNIQUE, `uri` nvarchar NOT NULL |
 * | `pyro_metadata` | `object` integer NOT NULL → `pyro_names.id`, `metadata` nvarchar NOT NULL: one row per tag |
 *
 * We add two indexes on `pyro_metadata` (by `object` and by `metadata`) so that lookups and
 * metadata searches do not scan the table; Pyro5 does not need them and does not mind them.
 * Which files are opened, and which are refused untouched, is described in `_sql_file.ts`:
 * Pyro5 stamps no application id on its files, so they are recognised by their exact tables
 * and columns.
 *
 * The database runs in WAL mode with `synchronous=FULL`; every change is one
 * `BEGIN IMMEDIATE … COMMIT` transaction, so a registration (its name and all its tags) is
 * either entirely there or not at all, whenever the process dies, and an acknowledged one
 * survives a crash. Metadata searches are SQL queries over the tag table.
 *
 * Needs `--allow-read` and `--allow-write` for the file (and its `-wal` and `-shm` companions).
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { NamingError } from "../errors.ts";
import type { MetadataMatch, NameRegistration, NameStorage } from "./storage.ts";
import {
  inspectFile,
  inspectSchema,
  openFailure,
  PYRO5_INDEXES,
  PYRO5_TABLES,
} from "./_sql_file.ts";

/** Options for {@linkcode SqlStorage}. */
export interface SqlStorageOptions {
  /**
   * sqlite's `synchronous` setting. "FULL" makes every acknowledged registration survive a power
   * loss too; "NORMAL" is faster and still never corrupts the file or loses a registration when
   * only the process dies.
   * @default {"FULL"}
   */
  synchronous?: "FULL" | "NORMAL";
  /**
   * Milliseconds to wait when another process holds the database lock.
   * @default {5000}
   */
  busyTimeout?: number;
}

const TAGS_OF = "(SELECT json_group_array(DISTINCT metadata) FROM pyro_metadata " +
  "WHERE object = n.id)";

interface Statements {
  count: StatementSync;
  get: StatementSync;
  has: StatementSync;
  upsert: StatementSync;
  insertNew: StatementSync;
  idOf: StatementSync;
  clearTags: StatementSync;
  addTag: StatementSync;
  removeTags: StatementSync;
  remove: StatementSync;
  listAll: StatementSync;
  listAllTags: StatementSync;
  listRange: StatementSync;
  listRangeTags: StatementSync;
  listFrom: StatementSync;
  listFromTags: StatementSync;
  findAny: StatementSync;
  findAnyTags: StatementSync;
  findAll: StatementSync;
  findAllTags: StatementSync;
}

/**
 * The smallest string greater than every string that starts with `prefix`, in code point order
 * (sqlite's BINARY collation on UTF-8); undefined when there is none.
 */
function prefixEnd(prefix: string): string | undefined {
  const points = [...prefix].map((c) => c.codePointAt(0)!);
  while (points.length > 0) {
    let last = points.pop()!;
    if (last < 0x10ffff) {
      last++;
      if (last === 0xd800) last = 0xe000;
      points.push(last);
      return String.fromCodePoint(...points);
    }
  }
  return undefined;
}

function sqliteError(operation: string, error: unknown): NamingError {
  const message = error instanceof Error ? error.message : String(error);
  return new NamingError(`sqlite error in ${operation}: ${message}`, { cause: error });
}

/**
 * Name server storage in a sqlite database file that survives restarts and crashes.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SqlStorage } from "./storage_sql.ts";
 * const file = await Deno.makeTempFile({ suffix: ".sqlite" });
 * const storage = new SqlStorage(file);
 * storage.put("thing", "PYRO:thing@localhost:9999", ["blue"]);
 * storage.close();
 * const again = new SqlStorage(file);
 * assert(again.get("thing")?.metadata.has("blue"));
 * again.close();
 * ```
 */
export class SqlStorage implements NameStorage {
  #db: DatabaseSync;
  #statements: Statements;
  #closed = false;
  /** The database file. */
  readonly file: string;

  /**
   * Opens the database file: a Pyro5 name server database, or a new or empty file that gets
   * Pyro5's tables. Any other file is refused and left unchanged.
   *
   * @param file path of the sqlite file; `:memory:` is refused, as in Pyro5
   * @param options durability and locking settings
   * @throws {NamingError} when the file is not a name server database (another application's,
   *   another schema), or cannot be created, read or written; the message names the file
   */
  constructor(file: string, options: SqlStorageOptions = {}) {
    if (file === ":memory:" || file === "") {
      throw new NamingError(
        "the sqlite :memory: database is not supported: use the default memory storage",
      );
    }
    this.file = file;
    // Look before writing: a refused file is only ever read, on an immutable connection.
    this.#refuseForeign(inspectFile(file));
    try {
      this.#db = new DatabaseSync(file, { enableForeignKeyConstraints: true });
    } catch (error) {
      throw openFailure(file, error);
    }
    try {
      this.#db.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeout ?? 5000)}`);
      this.#db.exec(`PRAGMA synchronous = ${options.synchronous === "NORMAL" ? "NORMAL" : "FULL"}`);
      this.#db.exec("PRAGMA foreign_keys = ON");
      this.#initSchema();
      this.#db.exec("PRAGMA journal_mode = WAL");
      this.#statements = this.#prepare();
    } catch (error) {
      this.#db.close();
      throw error instanceof NamingError ? error : openFailure(file, error);
    }
  }

  #refuseForeign(verdict: ReturnType<typeof inspectSchema>): void {
    if (verdict.kind !== "foreign") return;
    throw new NamingError(
      `Refusing to use ${this.file} as the name server database: ${verdict.reason}`,
    );
  }

  /** Creates Pyro5's tables in an empty file, after checking again under the write lock. */
  #initSchema(): void {
    try {
      this.#db.exec("BEGIN IMMEDIATE");
    } catch (error) {
      throw openFailure(this.file, error);
    }
    try {
      const verdict = inspectSchema(this.#db);
      this.#refuseForeign(verdict);
      if (verdict.kind === "empty") this.#db.exec(PYRO5_TABLES);
      this.#db.exec(PYRO5_INDEXES);
      this.#db.exec("COMMIT");
    } catch (error) {
      try {
        if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      } catch { /* the original error matters more */ }
      throw error;
    }
  }

  #prepare(): Statements {
    const db = this.#db;
    const select = (withTags: boolean, where: string) =>
      db.prepare(
        `SELECT n.name AS name, n.uri AS uri${withTags ? `, ${TAGS_OF} AS tags` : ""}
         FROM pyro_names n ${where} ORDER BY n.id`,
      );
    const anyWhere = "WHERE n.id IN (SELECT object FROM pyro_metadata WHERE metadata IN " +
      "(SELECT value FROM json_each(?)))";
    const allWhere = "WHERE n.id IN (SELECT object FROM pyro_metadata WHERE metadata IN " +
      "(SELECT value FROM json_each(?)) GROUP BY object HAVING count(DISTINCT metadata) = ?)";
    return {
      count: db.prepare("SELECT count(*) AS c FROM pyro_names"),
      get: db.prepare(
        `SELECT n.uri AS uri, ${TAGS_OF} AS tags FROM pyro_names n WHERE n.name = ?`,
      ),
      has: db.prepare("SELECT 1 AS x FROM pyro_names WHERE name = ?"),
      upsert: db.prepare(
        "INSERT INTO pyro_names(name, uri) VALUES (?, ?) " +
          "ON CONFLICT(name) DO UPDATE SET uri = excluded.uri RETURNING id",
      ),
      insertNew: db.prepare(
        "INSERT INTO pyro_names(name, uri) VALUES (?, ?) ON CONFLICT(name) DO NOTHING " +
          "RETURNING id",
      ),
      idOf: db.prepare("SELECT id FROM pyro_names WHERE name = ?"),
      clearTags: db.prepare("DELETE FROM pyro_metadata WHERE object = ?"),
      addTag: db.prepare("INSERT INTO pyro_metadata(object, metadata) VALUES (?, ?)"),
      removeTags: db.prepare(
        "DELETE FROM pyro_metadata WHERE object IN (SELECT id FROM pyro_names WHERE name = ?)",
      ),
      remove: db.prepare("DELETE FROM pyro_names WHERE name = ?"),
      listAll: select(false, ""),
      listAllTags: select(true, ""),
      listRange: select(false, "WHERE n.name >= ? AND n.name < ?"),
      listRangeTags: select(true, "WHERE n.name >= ? AND n.name < ?"),
      listFrom: select(false, "WHERE n.name >= ?"),
      listFromTags: select(true, "WHERE n.name >= ?"),
      findAny: select(false, anyWhere),
      findAnyTags: select(true, anyWhere),
      findAll: select(false, allWhere),
      findAllTags: select(true, allWhere),
    };
  }

  #check(): void {
    if (this.#closed) throw new NamingError("name server storage is closed");
  }

  #transaction<T>(operation: string, work: () => T): T {
    try {
      this.#db.exec("BEGIN IMMEDIATE");
    } catch (error) {
      throw sqliteError(operation, error);
    }
    try {
      const result = work();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      try {
        if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      } catch { /* the original error matters more */ }
      throw error instanceof NamingError ? error : sqliteError(operation, error);
    }
  }

  #rows(operation: string, statement: StatementSync, ...params: (string | number)[]) {
    try {
      return statement.all(...params) as { name: string; uri: string; tags?: string }[];
    } catch (error) {
      throw sqliteError(operation, error);
    }
  }

  #registrations(rows: { name: string; uri: string; tags?: string }[]): NameRegistration[] {
    return rows.map((row) => ({
      name: row.name,
      uri: row.uri,
      metadata: new Set(row.tags === undefined ? [] : JSON.parse(row.tags) as string[]),
    }));
  }

  /** Number of registrations. */
  count(): number {
    this.#check();
    try {
      return Number(this.#statements.count.get()!.c);
    } catch (error) {
      throw sqliteError("count", error);
    }
  }

  /**
   * The registration of a name.
   * @param name the name
   * @returns the registration with its tags, or undefined
   */
  get(name: string): NameRegistration | undefined {
    this.#check();
    let row;
    try {
      row = this.#statements.get.get(name) as { uri: string; tags: string } | undefined;
    } catch (error) {
      throw sqliteError("get", error);
    }
    return row && { name, uri: row.uri, metadata: new Set(JSON.parse(row.tags) as string[]) };
  }

  /**
   * Whether a name is registered.
   * @param name the name
   * @returns true when registered
   */
  has(name: string): boolean {
    this.#check();
    try {
      return this.#statements.has.get(name) !== undefined;
    } catch (error) {
      throw sqliteError("has", error);
    }
  }

  /**
   * Registers or replaces a name in one transaction.
   * @param name the name
   * @param uri the URI text
   * @param metadata its tags
   * @param onlyIfAbsent leave an existing name alone
   * @returns false when the name existed and `onlyIfAbsent` was set
   */
  put(name: string, uri: string, metadata: Iterable<string>, onlyIfAbsent = false): boolean {
    this.#check();
    const s = this.#statements;
    return this.#transaction("put", () => {
      const row = (onlyIfAbsent ? s.insertNew : s.upsert).get(name, uri) as
        | { id: number }
        | undefined;
      if (!row) return false;
      s.clearTags.run(row.id);
      for (const tag of new Set(metadata)) s.addTag.run(row.id, tag);
      return true;
    });
  }

  /**
   * Replaces the tags of a name in one transaction.
   * @param name the name
   * @param metadata the new tags
   * @returns false when the name is unknown
   */
  setMetadata(name: string, metadata: Iterable<string>): boolean {
    this.#check();
    const s = this.#statements;
    return this.#transaction("setMetadata", () => {
      const row = s.idOf.get(name) as { id: number } | undefined;
      if (!row) return false;
      s.clearTags.run(row.id);
      for (const tag of new Set(metadata)) s.addTag.run(row.id, tag);
      return true;
    });
  }

  /**
   * Removes names (and their tags) in one transaction.
   * @param names the names
   * @returns how many were removed
   */
  remove(names: Iterable<string>): number {
    this.#check();
    const s = this.#statements;
    return this.#transaction("remove", () => {
      let removed = 0;
      for (const name of names) {
        s.removeTags.run(name);
        removed += Number(s.remove.run(name).changes);
      }
      return removed;
    });
  }

  /**
   * Registrations by name prefix, as an index range query.
   * @param prefix the prefix; `""` for all
   * @param withMetadata include the tags
   * @returns the registrations in registration order
   */
  list(prefix: string, withMetadata: boolean): NameRegistration[] {
    this.#check();
    const s = this.#statements;
    if (prefix === "") {
      return this.#registrations(this.#rows("list", withMetadata ? s.listAllTags : s.listAll));
    }
    const end = prefixEnd(prefix);
    const rows = end === undefined
      ? this.#rows("list", withMetadata ? s.listFromTags : s.listFrom, prefix)
      : this.#rows("list", withMetadata ? s.listRangeTags : s.listRange, prefix, end);
    return this.#registrations(rows);
  }

  /**
   * Registrations by tags, searched by sqlite.
   * @param tags the tags
   * @param match "all" or "any"
   * @param withMetadata include the tags
   * @returns the registrations in registration order
   */
  findByMetadata(
    tags: readonly string[],
    match: MetadataMatch,
    withMetadata: boolean,
  ): NameRegistration[] {
    this.#check();
    const s = this.#statements;
    const unique = [...new Set(tags)];
    if (unique.length === 0) return [];
    const json = JSON.stringify(unique);
    const rows = match === "any"
      ? this.#rows("findByMetadata", withMetadata ? s.findAnyTags : s.findAny, json)
      : this.#rows(
        "findByMetadata",
        withMetadata ? s.findAllTags : s.findAll,
        json,
        unique.length,
      );
    return this.#registrations(rows);
  }

  /** Closes the database; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#db.close();
    } catch { /* already closed */ }
  }
}
