/**
 * Which sqlite files the sql name server storage may open, and how it says why not.
 *
 * Pyro5's `SqlStorage` stamps nothing on its files (no `application_id`, no `user_version`), so
 * a name server database is recognised by what it holds:
 *
 * - **Pyro5's schema**: no application id, and exactly the two tables `pyro_names` (`id` integer
 *   primary key, `name` nvarchar unique, `uri` nvarchar) and `pyro_metadata` (`object` integer,
 *   `metadata` nvarchar) with those columns in that order, besides sqlite's own `sqlite_*`
 *   objects. Indexes on the two tables are allowed (we add two); views and triggers are not.
 * - **Empty**: a missing or zero-length file, or a sqlite database without any table, index,
 *   view or trigger and with application id and user version 0. It gets Pyro5's tables.
 * - **Anything else is refused**, untouched: another application's database (other tables, or
 *   an application id), pyro-deno's earlier schema (`ns_name`, `ns_tag`), the pre-metadata
 *   schema of old Pyro name servers (`pyro_names` alone, which Python's name server upgrades in
 *   place), a file that is not a sqlite database.
 *
 * An existing file is first inspected on a read-only connection (or a copy of it, see
 * {@linkcode inspectFile}), so a refused file is left byte for byte as it was, and no `-wal`,
 * `-shm` or `-journal` file is left next to it.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { dirname, resolve } from "node:path";
import { NamingError } from "../errors.ts";

/** Pyro5 5.15's name server tables, created as its `SqlStorage` creates them. */
export const PYRO5_TABLES = `
CREATE TABLE pyro_names
(
  id integer PRIMARY KEY,
  name nvarchar NOT NULL UNIQUE,
  uri nvarchar NOT NULL
);
CREATE TABLE pyro_metadata
(
  object integer NOT NULL,
  metadata nvarchar NOT NULL,
  FOREIGN KEY(object) REFERENCES pyro_names(id)
);
`;

/**
 * Our indexes on Pyro5's tables: a lookup reads a name's tags by `object`, a metadata search
 * finds names by `metadata`. Pyro5 itself scans the table; it ignores (and sqlite maintains)
 * the indexes when Python's name server writes the file.
 */
export const PYRO5_INDEXES = `
CREATE INDEX IF NOT EXISTS pyro_metadata_by_object ON pyro_metadata(object);
CREATE INDEX IF NOT EXISTS pyro_metadata_by_tag ON pyro_metadata(metadata, object);
`;

/** The columns of Pyro5's tables: name, declared type, primary key position. */
const PYRO5_COLUMNS: Record<string, [string, string, number][]> = {
  pyro_names: [["id", "integer", 1], ["name", "nvarchar", 0], ["uri", "nvarchar", 0]],
  pyro_metadata: [["object", "integer", 0], ["metadata", "nvarchar", 0]],
};

/** pyro-deno's earlier name server schema stamped this application id ("PyNS"). */
const EARLIER_APPLICATION_ID = 0x50794e53;

/** What a sqlite file holds, as the name server sees it. */
export type SqlFileVerdict =
  | { kind: "pyro5" }
  | { kind: "empty" }
  | { kind: "foreign"; reason: string };

interface SchemaObject {
  type: string;
  name: string;
  tbl_name: string;
}

function pragmaNumber(db: DatabaseSync, pragma: string): number {
  return Number(db.prepare(`PRAGMA ${pragma}`).get()?.[pragma] ?? 0);
}

function columnsDiffer(db: DatabaseSync, table: string): string | undefined {
  const columns = db.prepare(`PRAGMA table_info(${table})`).all() as {
    name: string;
    type: string;
    pk: number;
  }[];
  const found = columns.map((c) => [c.name, c.type.toLowerCase(), Number(c.pk)]);
  const wanted = PYRO5_COLUMNS[table];
  if (JSON.stringify(found) === JSON.stringify(wanted)) return undefined;
  const list = (cols: unknown[][]) => cols.map((c) => `${c[0]} ${c[1]}`).join(", ");
  return `its table ${table} has the columns (${list(found)}), Pyro5's has (${list(wanted)})`;
}

function hasUniqueName(db: DatabaseSync): boolean {
  const indexes = db.prepare("PRAGMA index_list(pyro_names)").all() as {
    name: string;
    unique: number;
  }[];
  return indexes.some((index) => {
    if (!index.unique) return false;
    const columns = db.prepare(`PRAGMA index_info("${index.name.replaceAll('"', '""')}")`).all();
    return columns.length === 1 && columns[0].name === "name";
  });
}

/**
 * Classifies the database open on a connection; reads only.
 *
 * @param db an open connection (read-only is enough)
 * @returns Pyro5's schema, empty, or foreign with the reason
 * @throws {Error} sqlite's error when the file is not a database
 */
export function inspectSchema(db: DatabaseSync): SqlFileVerdict {
  const objects = db.prepare(
    "SELECT type, name, tbl_name FROM sqlite_schema WHERE substr(name, 1, 7) <> 'sqlite_' " +
      "ORDER BY type, name",
  ).all() as unknown as SchemaObject[];
  const tables = objects.filter((o) => o.type === "table").map((o) => o.name);
  const applicationId = pragmaNumber(db, "application_id");
  if (tables.includes("ns_name") && tables.includes("ns_tag")) {
    return {
      kind: "foreign",
      reason: "it holds pyro-deno's earlier name server tables (ns_name, ns_tag), " +
        "not Pyro5's (pyro_names, pyro_metadata)",
    };
  }
  if (applicationId !== 0) {
    const hex = `0x${(applicationId >>> 0).toString(16).padStart(8, "0")}`;
    const whose = applicationId === EARLIER_APPLICATION_ID
      ? "pyro-deno's earlier name server"
      : "another application";
    return { kind: "foreign", reason: `it has the application id ${hex} of ${whose}` };
  }
  if (objects.length === 0) {
    const userVersion = pragmaNumber(db, "user_version");
    if (userVersion === 0) return { kind: "empty" };
    return { kind: "foreign", reason: `it is an empty database with user_version ${userVersion}` };
  }
  const sorted = [...tables].sort().join(", ");
  if (sorted === "pyro_names") {
    return {
      kind: "foreign",
      reason: "it has the schema of old Pyro name servers (pyro_names without pyro_metadata); " +
        "Python's Pyro5 name server upgrades it in place",
    };
  }
  if (sorted !== "pyro_metadata, pyro_names") {
    return {
      kind: "foreign",
      reason: `it is not a name server database (its tables: ${sorted || "none"})`,
    };
  }
  const other = objects.find((o) =>
    o.type !== "table" && (o.type !== "index" || !Object.hasOwn(PYRO5_COLUMNS, o.tbl_name))
  );
  if (other) {
    return {
      kind: "foreign",
      reason: `it has the ${other.type} ${other.name} besides Pyro5's tables`,
    };
  }
  for (const table of Object.keys(PYRO5_COLUMNS)) {
    const difference = columnsDiffer(db, table);
    if (difference) return { kind: "foreign", reason: difference };
  }
  if (!hasUniqueName(db)) {
    return { kind: "foreign", reason: "its pyro_names.name column is not unique, as Pyro5's is" };
  }
  return { kind: "pyro5" };
}

/** The first 16 bytes of every sqlite database file. */
const SQLITE_MAGIC = "SQLite format 3\0";

/**
 * Classifies an existing file without changing it, on a read-only connection. A read-only
 * connection to a WAL-mode database creates its `-wal` and `-shm` files when they are missing;
 * when they are, nobody has the database open and the file holds everything, so a copy of it
 * (in a temporary directory) is inspected instead. (sqlite's `immutable` URI parameter would
 * avoid the copy, but Deno's permission check takes a `file:` URI for a relative path.)
 *
 * @param file the database path
 * @returns the verdict; "empty" for a missing or zero-length file
 * @throws {NamingError} when the file cannot be read
 */
export function inspectFile(file: string): SqlFileVerdict {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { kind: "empty" };
    throw openFailure(file, error);
  }
  if (!info.isFile) return { kind: "foreign", reason: "it is not a regular file" };
  if (info.size === 0) return { kind: "empty" };
  const header = new Uint8Array(100);
  let length = 0;
  try {
    using handle = Deno.openSync(file, { read: true });
    while (length < header.length) {
      const read = handle.readSync(header.subarray(length));
      if (read === null) break;
      length += read;
    }
  } catch (error) {
    throw openFailure(file, error);
  }
  if (length < header.length || new TextDecoder().decode(header.subarray(0, 16)) !== SQLITE_MAGIC) {
    return { kind: "foreign", reason: "it is not a sqlite database" };
  }
  const walMode = header[18] === 2 || header[19] === 2;
  if (walMode && !exists(`${file}-wal`) && !exists(`${file}-shm`)) {
    const copyDir = copyToTemporary(file);
    if (copyDir !== undefined) {
      try {
        return inspectInPlace(`${copyDir}/copy.sqlite`, file);
      } finally {
        Deno.removeSync(copyDir, { recursive: true });
      }
    }
    // no temporary directory to write: inspect in place (sqlite adds -wal and -shm files)
  }
  return inspectInPlace(file, file);
}

/** A temporary directory holding `copy.sqlite`, a copy of the file; undefined if none. */
function copyToTemporary(file: string): string | undefined {
  let dir: string;
  try {
    dir = Deno.makeTempDirSync({ prefix: "pyro_ns_inspect_" });
  } catch {
    return undefined;
  }
  try {
    Deno.copyFileSync(file, `${dir}/copy.sqlite`);
    return dir;
  } catch {
    Deno.removeSync(dir, { recursive: true });
    return undefined;
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function inspectInPlace(path: string, file: string): SqlFileVerdict {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path, { readOnly: true });
    return inspectSchema(db);
  } catch (error) {
    if ((error as { errcode?: number }).errcode === SQLITE_NOTADB) {
      return { kind: "foreign", reason: "it is not a sqlite database" };
    }
    throw openFailure(file, error);
  } finally {
    db?.close();
  }
}

const SQLITE_READONLY = 8;
const SQLITE_CANTOPEN = 14;
const SQLITE_NOTADB = 26;

function directoryProblem(file: string): string {
  const directory = dirname(resolve(file));
  try {
    if (!Deno.statSync(directory).isDirectory) return `${directory} is not a directory`;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return `its directory ${directory} does not exist`;
    if (error instanceof Deno.errors.NotADirectory) {
      return `a part of its directory ${directory} is not a directory`;
    }
  }
  return `the directory ${directory} is read-only or not writable`;
}

/**
 * The error for a database file that cannot be opened, read, created or written, naming the
 * path and the reason in words rather than sqlite's or Deno's codes.
 *
 * @param file the database path
 * @param error what sqlite or Deno threw
 * @returns the error to throw
 */
export function openFailure(file: string, error: unknown): NamingError {
  const message = error instanceof Error ? error.message : String(error);
  const errcode = (error as { errcode?: number } | null)?.errcode;
  let exists: boolean | undefined = true;
  try {
    Deno.statSync(file);
  } catch (statError) {
    const missing = statError instanceof Deno.errors.NotFound ||
      statError instanceof Deno.errors.NotADirectory;
    exists = statError instanceof Deno.errors.NotCapable ? undefined : !missing;
  }
  const verb = exists === undefined ? "use" : exists ? "open" : "create";
  const cannot = `Cannot ${verb} the name server database ${file}`;
  let reason: string;
  if (error instanceof Deno.errors.NotCapable) {
    const system = /^\/(proc|sys|dev)(\/|$)/.exec(resolve(file))?.[1];
    if (/Requires all access/.test(message) && system) {
      reason = system === "dev"
        ? "Deno opens paths under /dev only with --allow-all; keep the database in an " +
          "ordinary directory"
        : `/${system} is a read-only kernel file system where no database can be created`;
    } else {
      reason = `${message.replace(/, run again with .*$/, "")} (give --allow-read and ` +
        "--allow-write for it)";
    }
  } else if (error instanceof Deno.errors.PermissionDenied) {
    reason = "permission denied: the file or its directory cannot be read and written";
  } else if (error instanceof Deno.errors.NotADirectory) {
    reason = directoryProblem(file);
  } else if (errcode === SQLITE_CANTOPEN || /^unable to open database file/.test(message)) {
    reason = directoryProblem(file);
  } else if (errcode === SQLITE_READONLY) {
    reason = "the file or its directory is read-only";
  } else {
    reason = message;
  }
  return new NamingError(`${cannot}: ${reason}`, { cause: error });
}
