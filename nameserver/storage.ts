/**
 * Where the name server keeps its registrations: the {@linkcode NameStorage} contract and the
 * default, volatile {@linkcode MemoryStorage}. The persistent sqlite storage is in
 * `storage_sql.ts`.
 *
 * Every operation is synchronous and atomic: a name server running on one event loop never sees a
 * half-done registration, and the safe (refuse duplicates) registration is one step, not a check
 * followed by a write.
 *
 * @module
 */

/** One name registration as a storage returns it. */
export interface NameRegistration {
  /** The registered name. */
  name: string;
  /** The URI text it maps to. */
  uri: string;
  /** Its metadata tags; empty when none, or when the caller did not ask for them. */
  metadata: Set<string>;
}

/** Which registrations a metadata search wants. */
export type MetadataMatch = "all" | "any";

/**
 * What a name server storage does. Names, URIs and tags arrive already validated.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { MemoryStorage, type NameStorage } from "./storage.ts";
 * const storage: NameStorage = new MemoryStorage();
 * storage.put("a", "PYRO:a@localhost:1", ["x"]);
 * assert(storage.count() === 1);
 * ```
 */
export interface NameStorage {
  /** Number of registrations. */
  count(): number;
  /**
   * The registration of a name, with its metadata.
   * @param name the name
   */
  get(name: string): NameRegistration | undefined;
  /**
   * Whether a name is registered.
   * @param name the name
   */
  has(name: string): boolean;
  /**
   * Registers (or replaces) a name, atomically.
   * @param name the name
   * @param uri the URI text
   * @param metadata its tags (replacing any earlier ones)
   * @param onlyIfAbsent when true, an existing name is left alone
   * @returns false when `onlyIfAbsent` was set and the name already existed, else true
   */
  put(name: string, uri: string, metadata: Iterable<string>, onlyIfAbsent?: boolean): boolean;
  /**
   * Replaces the metadata of an existing name.
   * @param name the name
   * @param metadata the new tags
   * @returns false when the name is unknown
   */
  setMetadata(name: string, metadata: Iterable<string>): boolean;
  /**
   * Removes names, in one atomic step.
   * @param names the names
   * @returns how many existed and were removed
   */
  remove(names: Iterable<string>): number;
  /**
   * The registrations whose name starts with a prefix (all of them for `""`), in registration order.
   * @param prefix the prefix
   * @param withMetadata also fetch the tags
   */
  list(prefix: string, withMetadata: boolean): NameRegistration[];
  /**
   * The registrations that have all, or any, of the given tags, in registration order.
   * @param tags the tags searched for (not empty)
   * @param match "all" or "any"
   * @param withMetadata also fetch the tags
   */
  findByMetadata(
    tags: readonly string[],
    match: MetadataMatch,
    withMetadata: boolean,
  ): NameRegistration[];
  /** Releases the storage; idempotent. */
  close(): void;
}

interface MemoryEntry {
  uri: string;
  metadata: Set<string>;
  /** NameRegistration sequence number: results come in registration order. */
  order: number;
}

/**
 * Volatile storage in a `Map`, with an index from tag to names so that metadata searches do not
 * scan every registration. Stopping the name server forgets everything, as in Pyro5.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { MemoryStorage } from "./storage.ts";
 * const storage = new MemoryStorage();
 * storage.put("printer.1", "PYRO:p1@localhost:5000", ["printer", "color"]);
 * storage.put("printer.2", "PYRO:p2@localhost:5000", ["printer"]);
 * assert(storage.findByMetadata(["color", "printer"], "all", false).length === 1);
 * assert(storage.list("printer.", false).length === 2);
 * ```
 */
export class MemoryStorage implements NameStorage {
  #entries = new Map<string, MemoryEntry>();
  #byTag = new Map<string, Set<string>>();
  #sequence = 0;

  /** Number of registrations. */
  count(): number {
    return this.#entries.size;
  }

  /**
   * The registration of a name.
   * @param name the name
   * @returns a copy of the registration, or undefined
   */
  get(name: string): NameRegistration | undefined {
    const entry = this.#entries.get(name);
    return entry && { name, uri: entry.uri, metadata: new Set(entry.metadata) };
  }

  /**
   * Whether a name is registered.
   * @param name the name
   * @returns true when registered
   */
  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /**
   * Registers or replaces a name.
   * @param name the name
   * @param uri the URI text
   * @param metadata its tags
   * @param onlyIfAbsent leave an existing name alone
   * @returns false when the name existed and `onlyIfAbsent` was set
   */
  put(name: string, uri: string, metadata: Iterable<string>, onlyIfAbsent = false): boolean {
    const existing = this.#entries.get(name);
    if (existing) {
      if (onlyIfAbsent) return false;
      this.#unindex(name, existing.metadata);
      existing.uri = uri;
      existing.metadata = new Set(metadata);
      this.#index(name, existing.metadata);
    } else {
      const entry = { uri, metadata: new Set(metadata), order: this.#sequence++ };
      this.#entries.set(name, entry);
      this.#index(name, entry.metadata);
    }
    return true;
  }

  /**
   * Replaces the tags of a name.
   * @param name the name
   * @param metadata the new tags
   * @returns false when the name is unknown
   */
  setMetadata(name: string, metadata: Iterable<string>): boolean {
    const entry = this.#entries.get(name);
    if (!entry) return false;
    this.#unindex(name, entry.metadata);
    entry.metadata = new Set(metadata);
    this.#index(name, entry.metadata);
    return true;
  }

  /**
   * Removes names.
   * @param names the names
   * @returns how many were removed
   */
  remove(names: Iterable<string>): number {
    let removed = 0;
    for (const name of names) {
      const entry = this.#entries.get(name);
      if (!entry) continue;
      this.#unindex(name, entry.metadata);
      this.#entries.delete(name);
      removed++;
    }
    return removed;
  }

  /**
   * Registrations by name prefix.
   * @param prefix the prefix; `""` for all
   * @param withMetadata include the tags
   * @returns the registrations in registration order
   */
  list(prefix: string, withMetadata: boolean): NameRegistration[] {
    const result: NameRegistration[] = [];
    for (const [name, entry] of this.#entries) {
      if (name.startsWith(prefix)) result.push(this.#registration(name, entry, withMetadata));
    }
    return result;
  }

  /**
   * Registrations by tags, through the tag index.
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
    const sets: Set<string>[] = [];
    for (const tag of new Set(tags)) {
      const names = this.#byTag.get(tag);
      if (names) sets.push(names);
      else if (match === "all") return [];
    }
    if (sets.length === 0) return [];
    const found = new Set<string>();
    if (match === "any") {
      for (const names of sets) for (const name of names) found.add(name);
    } else {
      sets.sort((a, b) => a.size - b.size);
      outer: for (const name of sets[0]) {
        for (let i = 1; i < sets.length; i++) if (!sets[i].has(name)) continue outer;
        found.add(name);
      }
    }
    const entries: [string, MemoryEntry][] = [];
    for (const name of found) entries.push([name, this.#entries.get(name)!]);
    entries.sort((a, b) => a[1].order - b[1].order);
    return entries.map(([name, entry]) => this.#registration(name, entry, withMetadata));
  }

  /** Forgets everything. */
  close(): void {
    this.#entries.clear();
    this.#byTag.clear();
  }

  #registration(name: string, entry: MemoryEntry, withMetadata: boolean): NameRegistration {
    return { name, uri: entry.uri, metadata: withMetadata ? new Set(entry.metadata) : new Set() };
  }

  #index(name: string, tags: Set<string>): void {
    for (const tag of tags) {
      let names = this.#byTag.get(tag);
      if (!names) this.#byTag.set(tag, names = new Set());
      names.add(name);
    }
  }

  #unindex(name: string, tags: Set<string>): void {
    for (const tag of tags) {
      const names = this.#byTag.get(tag);
      if (!names) continue;
      names.delete(name);
      if (names.size === 0) this.#byTag.delete(tag);
    }
  }
}
