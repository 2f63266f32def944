/**
 * Persistent name server storage in a sqlite file (`-s sql:FILE`), on `node:sqlite`.
 *
 * The schema is our own, not Pyro5's:
 *
 * | table    | columns                                                    |
 * | -------- | ---------------------------------------------------------- |
 * | `ns_name` | `id` INTEGER PRIMARY KEY, `name` TEXT UNIQUE, `uri` TEXT   |
 * | `ns_tag`  | `tag` TEXT, `name_id` → `ns_name.id` ON DELETE CASCADE; PK (`tag`, `name_id`) |
 *
 * `PRAGMA application_id` marks the file as ours and `PRAGMA user_version` holds the schema
 * version. The database runs in WAL mode with `synchronous=FULL`; every change is one
 * `BEGIN IMMEDIATE … COMMIT` transaction, so a registration is either entirely there or not at
 * all, whenever the process dies, and an acknowledged one survives a crash. Metadata searches
 * are SQL queries over the tag table (its primary key is the tag index).
 *
 * Needs `--allow-read` and `--allow-write` for the file (and its `-wal` and `-shm` companions).
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { NamingError } from "../errors.ts";
import type { MetadataMatch, NameRegistration, NameStorage } from "./storage.ts";

/** `PRAGMA application_id` of our name server databases ("PyNS"). */
export const SQL_APPLICATION_ID = 0x50794e53;
/** Schema version in `PRAGMA user_version`. */
export const SQL_SCHEMA_VERSION = 1;

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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ns_name (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  uri TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS ns_tag (
  tag TEXT NOT NULL,
  name_id INTEGER NOT NULL REFERENCES ns_name(id) ON DELETE CASCADE,
  PRIMARY KEY (tag, name_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ns_tag_by_name ON ns_tag(name_id);
`;

const TAGS_OF = "(SELECT json_group_array(tag) FROM ns_tag WHERE name_id = n.id)";

interface Statements {
  count: StatementSync;
  get: StatementSync;
  has: StatementSync;
  upsert: StatementSync;
  insertNew: StatementSync;
  idOf: StatementSync;
  clearTags: StatementSync;
  addTag: StatementSync;
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
   * Opens (creating when needed) the database file.
   *
   * @param file path of the sqlite file; `:memory:` is refused, as in Pyro5
   * @param options durability and locking settings
   * @throws {NamingError} when the file cannot be opened or is not one of our databases
   */
  constructor(file: string, options: SqlStorageOptions = {}) {
    if (file === ":memory:" || file === "") {
      throw new NamingError(
        "the sqlite :memory: database is not supported: use the default memory storage",
      );
    }
    this.file = file;
    try {
      this.#db = new DatabaseSync(file, { enableForeignKeyConstraints: true });
    } catch (error) {
      throw sqliteError("open", error);
    }
    try {
      this.#db.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeout ?? 5000)}`);
      this.#db.exec("PRAGMA journal_mode = WAL");
      this.#db.exec(`PRAGMA synchronous = ${options.synchronous === "NORMAL" ? "NORMAL" : "FULL"}`);
      this.#db.exec("PRAGMA foreign_keys = ON");
      this.#initSchema();
      this.#statements = this.#prepare();
    } catch (error) {
      this.#db.close();
      throw error instanceof NamingError ? error : sqliteError("open", error);
    }
  }

  #initSchema(): void {
    this.#transaction("open", () => {
      const appId = Number(this.#db.prepare("PRAGMA application_id").get()?.application_id ?? 0);
      const version = Number(this.#db.prepare("PRAGMA user_version").get()?.user_version ?? 0);
      if (appId !== 0 && appId !== SQL_APPLICATION_ID) {
        throw new NamingError(`not a name server database: ${this.file}`);
      }
      if (version > SQL_SCHEMA_VERSION) {
        throw new NamingError(
          `name server database has schema version ${version}, newer than ${SQL_SCHEMA_VERSION}`,
        );
      }
      this.#db.exec(SCHEMA);
      this.#db.exec(`PRAGMA application_id = ${SQL_APPLICATION_ID}`);
      this.#db.exec(`PRAGMA user_version = ${SQL_SCHEMA_VERSION}`);
    });
  }

  #prepare(): Statements {
    const db = this.#db;
    const select = (withTags: boolean, where: string) =>
      db.prepare(
        `SELECT n.name AS name, n.uri AS uri${withTags ? `, ${TAGS_OF} AS tags` : ""}
         FROM ns_name n ${where} ORDER BY n.id`,
      );
    const anyWhere = "WHERE n.id IN (SELECT name_id FROM ns_tag WHERE tag IN " +
      "(SELECT value FROM json_each(?)))";
    const allWhere = "WHERE n.id IN (SELECT name_id FROM ns_tag WHERE tag IN " +
      "(SELECT value FROM json_each(?)) GROUP BY name_id HAVING count(*) = ?)";
    return {
      count: db.prepare("SELECT count(*) AS c FROM ns_name"),
      get: db.prepare(`SELECT n.uri AS uri, ${TAGS_OF} AS tags FROM ns_name n WHERE n.name = ?`),
      has: db.prepare("SELECT 1 AS x FROM ns_name WHERE name = ?"),
      upsert: db.prepare(
        "INSERT INTO ns_name(name, uri) VALUES (?, ?) " +
          "ON CONFLICT(name) DO UPDATE SET uri = excluded.uri RETURNING id",
      ),
      insertNew: db.prepare(
        "INSERT INTO ns_name(name, uri) VALUES (?, ?) ON CONFLICT(name) DO NOTHING RETURNING id",
      ),
      idOf: db.prepare("SELECT id FROM ns_name WHERE name = ?"),
      clearTags: db.prepare("DELETE FROM ns_tag WHERE name_id = ?"),
      addTag: db.prepare("INSERT OR IGNORE INTO ns_tag(tag, name_id) VALUES (?, ?)"),
      remove: db.prepare("DELETE FROM ns_name WHERE name = ?"),
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
      for (const tag of metadata) s.addTag.run(tag, row.id);
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
      for (const tag of metadata) s.addTag.run(tag, row.id);
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
      for (const name of names) removed += Number(s.remove.run(name).changes);
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
