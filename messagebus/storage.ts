/**
 * Where a message bus keeps what must outlive it: topics, subscriptions, and each acknowledged
 * message until every subscriber it was meant for has it. The bus keeps its working state in
 * memory and writes through to a storage; a storage is read back only when a bus starts.
 *
 * - {@linkcode MemoryBusStorage}: keeps nothing; a restarted bus starts empty (fast).
 * - {@linkcode SqliteBusStorage}: a `node:sqlite` file in WAL mode. A message is committed, with
 *   one pending row per recipient, before `send` returns; a delivery deletes its rows. A bus killed
 *   with SIGKILL and restarted on the same file finds its topics, subscribers and every message
 *   not yet delivered, in publish order.
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { SerpentSerializer } from "../serializers/serpent.ts";

/** How a subscription selects topics: one topic by name, or every topic a pattern matches. */
export type SubscriptionKind = "topic" | "pattern";

/** One subscription of one subscriber (by its Pyro URI). */
export interface StoredSubscription {
  /** The subscriber's Pyro URI. */
  uri: string;
  /** Topic name or pattern. */
  kind: SubscriptionKind;
  /** The topic name, or the Python regular expression. */
  selector: string;
}

/** An acknowledged message, as the bus keeps it until delivered. */
export interface StoredMessage {
  /** Position in the bus's publish order (increasing, unique per bus and storage). */
  seq: number;
  /** The topic it was sent on. */
  topic: string;
  /** Its id: a UUID in text form. */
  id: string;
  /** When the bus accepted it: `YYYY-MM-DDTHH:MM:SS.ffffff` in UTC (the example's format). */
  created: string;
  /** The payload, as it arrived. */
  data: unknown;
}

/** What a bus finds in its storage when it starts. */
export interface StoredState {
  /** Known topics. */
  topics: string[];
  /** Subscriptions, in the order they were made. */
  subscriptions: StoredSubscription[];
  /** Per subscriber URI, the messages it has not had yet, in publish order. */
  pending: Map<string, StoredMessage[]>;
  /** The last sequence number used. */
  lastSeq: number;
}

/** The contract between the bus and its storage; every call is synchronous and write-through. */
export interface BusStorage {
  /** What to start from. */
  load(): StoredState;
  /** Records a topic. */
  addTopic(topic: string): void;
  /** Forgets a topic. */
  removeTopic(topic: string): void;
  /** Records a subscription. */
  addSubscription(subscription: StoredSubscription): void;
  /** Forgets a subscription (messages already pending for it stay). */
  removeSubscription(subscription: StoredSubscription): void;
  /** Forgets a subscriber: its subscriptions and its pending messages. */
  removeSubscriber(uri: string): void;
  /** Durably records a message for these recipients (before the send is acknowledged). */
  addMessage(message: StoredMessage, recipients: readonly string[]): void;
  /** Records that a subscriber has these messages. */
  delivered(uri: string, seqs: readonly number[]): void;
  /** Releases the storage. */
  close(): void;
}

/**
 * The memory storage: nothing is kept, a restarted bus starts empty.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { MemoryBusStorage } from "./storage.ts";
 * const storage = new MemoryBusStorage();
 * storage.addTopic("weather");
 * assert.deepStrictEqual(storage.load().topics, []);
 * ```
 */
export class MemoryBusStorage implements BusStorage {
  /**
   * Nothing was kept.
   *
   * @returns an empty state
   */
  load(): StoredState {
    return { topics: [], subscriptions: [], pending: new Map(), lastSeq: 0 };
  }
  /** Does nothing. */
  addTopic(_topic: string): void {}
  /** Does nothing. */
  removeTopic(_topic: string): void {}
  /** Does nothing. */
  addSubscription(_subscription: StoredSubscription): void {}
  /** Does nothing. */
  removeSubscription(_subscription: StoredSubscription): void {}
  /** Does nothing. */
  removeSubscriber(_uri: string): void {}
  /** Does nothing. */
  addMessage(_message: StoredMessage, _recipients: readonly string[]): void {}
  /** Does nothing. */
  delivered(_uri: string, _seqs: readonly number[]): void {}
  /** Does nothing. */
  close(): void {}
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS bus_topic (name TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bus_subscription (
  id INTEGER PRIMARY KEY,
  uri TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('topic', 'pattern')),
  selector TEXT NOT NULL,
  UNIQUE (uri, kind, selector)
);
CREATE TABLE IF NOT EXISTS bus_message (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  topic TEXT NOT NULL,
  created TEXT NOT NULL,
  data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS bus_pending (
  uri TEXT NOT NULL,
  seq INTEGER NOT NULL REFERENCES bus_message (seq) ON DELETE CASCADE,
  PRIMARY KEY (uri, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS bus_pending_seq ON bus_pending (seq);
`;

const KNOWN_TABLES = ["bus_message", "bus_pending", "bus_subscription", "bus_topic"];

/** Options of {@linkcode SqliteBusStorage}. */
export interface SqliteBusStorageOptions {
  /**
   * sqlite's `synchronous` setting: NORMAL survives a killed process (what the bus promises),
   * FULL also a power cut, at a cost per message.
   * @default {"NORMAL"}
   */
  synchronous?: "NORMAL" | "FULL";
}

/**
 * The sqlite storage (`node:sqlite`, WAL). Payloads are kept in serpent, so every value the
 * wire carries (tuples, sets, bytes, big integers...) comes back as it went in.
 *
 * Permissions: `--allow-read --allow-write` for the file.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SqliteBusStorage } from "./storage.ts";
 * const file = await Deno.makeTempFile({ suffix: ".sqlite" });
 * const storage = new SqliteBusStorage(file);
 * storage.addTopic("weather");
 * storage.addMessage(
 *   { seq: 1, topic: "weather", id: crypto.randomUUID(), created: "2026-01-01T00:00:00.000000", data: 21 },
 *   ["PYRO:sub@localhost:1234"],
 * );
 * storage.close();
 * const again = new SqliteBusStorage(file);
 * const state = again.load();
 * assert.deepStrictEqual(state.topics, ["weather"]);
 * assert.equal(state.pending.get("PYRO:sub@localhost:1234")?.[0].data, 21);
 * again.close();
 * await Deno.remove(file);
 * ```
 */
export class SqliteBusStorage implements BusStorage {
  #db: DatabaseSync;
  #serpent = new SerpentSerializer();
  #insertMessage: StatementSync;
  #insertPending: StatementSync;
  #deletePending: StatementSync;
  #deleteDone: StatementSync;
  #closed = false;
  /** The database file. */
  readonly file: string;

  /**
   * Opens (or creates) a message bus database.
   *
   * @param file the sqlite file; `:memory:` is refused (use {@linkcode MemoryBusStorage})
   * @param options durability settings
   * @throws {RangeError} for `:memory:`, or a file holding other tables than the bus's
   */
  constructor(file: string, options: SqliteBusStorageOptions = {}) {
    if (file === "" || file === ":memory:") {
      throw new RangeError("Cannot use an in-memory sqlite database: use the memory storage");
    }
    this.file = file;
    this.#db = new DatabaseSync(file, { enableForeignKeyConstraints: true });
    try {
      this.#db.exec("PRAGMA busy_timeout = 5000");
      const tables = (this.#db.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
      ).all() as { name: string }[]).map((row) => row.name);
      const foreign = tables.filter((name) => !KNOWN_TABLES.includes(name));
      if (foreign.length > 0) {
        throw new RangeError(
          `Refusing to use ${file} as a message bus database: it has other tables (${
            foreign.join(", ")
          })`,
        );
      }
      this.#db.exec("PRAGMA journal_mode = WAL");
      this.#db.exec(`PRAGMA synchronous = ${options.synchronous === "FULL" ? "FULL" : "NORMAL"}`);
      this.#db.exec(SCHEMA);
    } catch (error) {
      this.#db.close();
      throw error;
    }
    this.#insertMessage = this.#db.prepare(
      "INSERT INTO bus_message (seq, id, topic, created, data) VALUES (?, ?, ?, ?, ?)",
    );
    this.#insertPending = this.#db.prepare("INSERT OR IGNORE INTO bus_pending VALUES (?, ?)");
    this.#deletePending = this.#db.prepare("DELETE FROM bus_pending WHERE uri = ? AND seq = ?");
    this.#deleteDone = this.#db.prepare(
      "DELETE FROM bus_message WHERE seq = ? AND NOT EXISTS (SELECT 1 FROM bus_pending p WHERE p.seq = ?)",
    );
  }

  /**
   * Reads what the file holds.
   *
   * @returns topics, subscriptions and pending messages in the file
   */
  load(): StoredState {
    const db = this.#db;
    const topics = (db.prepare("SELECT name FROM bus_topic ORDER BY name").all() as {
      name: string;
    }[]).map((row) => row.name);
    const subscriptions = db.prepare(
      "SELECT uri, kind, selector FROM bus_subscription ORDER BY id",
    ).all() as unknown as StoredSubscription[];
    const pending = new Map<string, StoredMessage[]>();
    const rows = db.prepare(
      `SELECT p.uri AS uri, m.seq AS seq, m.id AS id, m.topic AS topic, m.created AS created,
              m.data AS data
       FROM bus_pending p JOIN bus_message m ON m.seq = p.seq ORDER BY p.uri, m.seq`,
    ).all() as {
      uri: string;
      seq: number;
      id: string;
      topic: string;
      created: string;
      data: Uint8Array;
    }[];
    for (const row of rows) {
      let list = pending.get(row.uri);
      if (!list) pending.set(row.uri, list = []);
      list.push({
        seq: Number(row.seq),
        id: row.id,
        topic: row.topic,
        created: row.created,
        data: this.#serpent.loads(row.data),
      });
    }
    const last = db.prepare("SELECT max(seq) AS seq FROM bus_message").get() as {
      seq: number | null;
    };
    // Messages nobody waits for any more (a crash between delivery and clean-up) go now.
    db.exec("DELETE FROM bus_message WHERE seq NOT IN (SELECT seq FROM bus_pending)");
    return { topics, subscriptions, pending, lastSeq: Number(last.seq ?? 0) };
  }

  /** Records a topic. */
  addTopic(topic: string): void {
    this.#db.prepare("INSERT OR IGNORE INTO bus_topic VALUES (?)").run(topic);
  }

  /** Forgets a topic. */
  removeTopic(topic: string): void {
    this.#db.prepare("DELETE FROM bus_topic WHERE name = ?").run(topic);
  }

  /** Records a subscription. */
  addSubscription(s: StoredSubscription): void {
    this.#db.prepare(
      "INSERT OR IGNORE INTO bus_subscription (uri, kind, selector) VALUES (?, ?, ?)",
    ).run(s.uri, s.kind, s.selector);
  }

  /** Forgets a subscription. */
  removeSubscription(s: StoredSubscription): void {
    this.#db.prepare(
      "DELETE FROM bus_subscription WHERE uri = ? AND kind = ? AND selector = ?",
    ).run(s.uri, s.kind, s.selector);
  }

  /** Forgets a subscriber, its subscriptions and what was pending for it. */
  removeSubscriber(uri: string): void {
    this.#transaction(() => {
      this.#db.prepare("DELETE FROM bus_subscription WHERE uri = ?").run(uri);
      this.#db.prepare("DELETE FROM bus_pending WHERE uri = ?").run(uri);
      this.#db.exec("DELETE FROM bus_message WHERE seq NOT IN (SELECT seq FROM bus_pending)");
    });
  }

  /** Commits the message and one pending row per recipient. */
  addMessage(message: StoredMessage, recipients: readonly string[]): void {
    const data = this.#serpent.dumps(message.data);
    this.#transaction(() => {
      this.#insertMessage.run(message.seq, message.id, message.topic, message.created, data);
      for (const uri of recipients) this.#insertPending.run(uri, message.seq);
    });
  }

  /** Deletes the pending rows, and the messages nobody else waits for. */
  delivered(uri: string, seqs: readonly number[]): void {
    this.#transaction(() => {
      for (const seq of seqs) {
        this.#deletePending.run(uri, seq);
        this.#deleteDone.run(seq, seq);
      }
    });
  }

  /** Closes the database; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #transaction(work: () => void): void {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      work();
      this.#db.exec("COMMIT");
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
  }
}
