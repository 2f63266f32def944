/**
 * The name server object: Pyro5's `Pyro5.nameserver.NameServer` remote interface (method and
 * parameter names as in Pyro5, so Python clients call it unchanged), over a
 * {@linkcode NameStorage}. The class is exposed (`@expose`), so any daemon can serve it;
 * `daemon.ts` does that for a complete name server.
 *
 * Bad input (a name that is not a string, an invalid URI or regex, metadata that is a string or
 * too large...) is refused with a {@linkcode NamingError} whose message follows Pyro5's.
 *
 * @module
 */
import { NamingError, PyroError } from "../errors.ts";
import { expose } from "../server.ts";
import { PyroUri } from "../uri.ts";
import { type PyStringDict, type PyTuple, setDictItem, tuple } from "../serializers/values.ts";
import { pythonRegex } from "./python_regex.ts";
import { MemoryStorage, type NameRegistration, type NameStorage } from "./storage.ts";

/** The name the name server registers itself under (Pyro5's `core.NAMESERVER_NAME`). */
export const NAMESERVER_NAME = "Pyro.NameServer";

/** The metadata tag of the name server's own registration, as Pyro5 sets it. */
export const NAMESERVER_CLASS_TAG = "class:Pyro5.nameserver.NameServer";

/** Size limits on what callers may store; checked on every call. */
export interface NameServerLimits {
  /** Longest name, in UTF-16 code units. */
  maxNameLength: number;
  /** Longest URI text. */
  maxUriLength: number;
  /** Most metadata tags on one registration (or in one search). */
  maxTags: number;
  /** Longest metadata tag. */
  maxTagLength: number;
  /** Longest regex pattern accepted by `list` and `remove`. */
  maxRegexLength: number;
}

/**
 * The default limits.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { DEFAULT_NAMESERVER_LIMITS } from "./name_server.ts";
 * assert(DEFAULT_NAMESERVER_LIMITS.maxTags === 1000);
 * ```
 */
export const DEFAULT_NAMESERVER_LIMITS: Readonly<NameServerLimits> = Object.freeze({
  maxNameLength: 1024,
  maxUriLength: 4096,
  maxTags: 1000,
  maxTagLength: 1024,
  maxRegexLength: 1024,
});

/** Options for a {@linkcode NameServer}. */
export interface NameServerOptions {
  /**
   * Where registrations live.
   * @default {new MemoryStorage()}
   */
  storage?: NameStorage;
  /**
   * Size limits; missing fields take {@linkcode DEFAULT_NAMESERVER_LIMITS}.
   * @default {DEFAULT_NAMESERVER_LIMITS}
   */
  limits?: Partial<NameServerLimits>;
}

const REGEX_CACHE_SIZE = 64;
// deno-lint-ignore no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** Python's truthiness of a decoded value. */
function truthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false) return false;
  if (typeof value === "number") return value !== 0;
  if (typeof value === "bigint") return value !== 0n;
  if (typeof value === "string" || Array.isArray(value) || value instanceof Uint8Array) {
    return value.length > 0;
  }
  if (value instanceof Set || value instanceof Map) return value.size > 0;
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.keys(value).length > 0;
  }
  return true;
}

/** How many parsed URIs a name server keeps; the cache starts over when it is full. */
const PARSED_URIS_KEPT = 4096;

/**
 * Pyro5's name server. Every public method here is part of the remote interface, with Pyro5's
 * names, parameter order and defaults; results use Python's types (the URI of `lookup` is a
 * {@linkcode PyroUri}, `list` and `yplookup` give dicts of name to URI text, or to a
 * `(uri, metadata)` tuple when metadata is asked for).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { NameServer } from "./name_server.ts";
 * const ns = new NameServer();
 * ns.register("example.greeting", "PYRO:obj_1@localhost:5555", false, ["greeter"]);
 * assert(ns.lookup("example.greeting").toString() === "PYRO:obj_1@localhost:5555");
 * assert(Object.keys(ns.yplookup(["greeter"])).length === 1);
 * assert(ns.remove(null, "example.") === 1 && ns.count() === 0);
 * ```
 */
// Each remote method declares Python's parameter names (`@expose({ params })`), so a caller's
// keyword arguments bind to them whatever a bundler does to this source.
@expose
export class NameServer {
  #storage: NameStorage;
  /** Parsed URIs by their text (URIs are immutable): lookups need not parse them again. */
  #parsedUris = new Map<string, PyroUri>();
  #limits: Readonly<NameServerLimits>;
  #regexCache = new Map<string, RegExp>();

  /**
   * Creates a name server over a storage (memory by default).
   *
   * @param options storage and limits
   */
  constructor(options: NameServerOptions = {}) {
    this.#storage = options.storage ?? new MemoryStorage();
    this.#limits = Object.freeze({ ...DEFAULT_NAMESERVER_LIMITS, ...options.limits });
  }

  /** The storage behind this name server (not remotely accessible). */
  get _storage(): NameStorage {
    return this.#storage;
  }

  /**
   * The number of registrations.
   * @returns the count, the name server's own registration included
   */
  @expose({ params: [] })
  count(): number {
    return this.#storage.count();
  }

  /**
   * Looks up a name.
   * @param name the name
   * @param return_metadata also return the metadata
   * @returns the URI, or the tuple `(uri, metadata set)`
   * @throws {NamingError} "unknown name: ..." when not registered
   */
  @expose({ params: ["name", "return_metadata?"] })
  lookup(name: unknown, return_metadata: unknown = false): PyroUri | PyTuple<unknown> {
    const checked = this.#name(name);
    const found = this.#storage.get(checked);
    if (!found) throw new NamingError(`unknown name: ${checked}`);
    const uri = this.#parseUri(found.uri);
    return truthy(return_metadata) ? tuple<unknown>(uri, found.metadata) : uri;
  }

  /**
   * Registers a name for a URI, replacing an earlier registration unless `safe` is set.
   * @param name the name
   * @param uri the URI (text or {@linkcode PyroUri})
   * @param safe refuse a name that is already registered
   * @param metadata a collection of tag strings (not a single string), or null
   * @returns null
   * @throws {NamingError} "name already registered: ..." in safe mode, or beyond the limits
   * @throws {TypeError} for a name, URI or metadata of the wrong type (as Pyro5)
   * @throws {PyroError} "invalid uri" (as Pyro5)
   */
  @expose({ params: ["name", "uri", "safe?", "metadata?"] })
  register(name: unknown, uri: unknown, safe: unknown = false, metadata: unknown = null): null {
    const uriText = this.#uriText(uri);
    const checked = this.#name(name, true);
    const tags = this.#tags(metadata, "metadata");
    if (!this.#storage.put(checked, uriText, tags, truthy(safe))) {
      throw new NamingError(`name already registered: ${checked}`);
    }
    return null;
  }

  /**
   * Replaces the metadata of an existing registration.
   * @param name the name
   * @param metadata a collection of tag strings, or null to clear
   * @returns null
   * @throws {NamingError} "unknown name: ..." when not registered
   */
  @expose({ params: ["name", "metadata"] })
  set_metadata(name: unknown, metadata: unknown): null {
    const checked = this.#name(name);
    const tags = this.#tags(metadata, "metadata");
    if (!this.#storage.setMetadata(checked, tags)) {
      throw new NamingError(`unknown name: ${checked}`);
    }
    return null;
  }

  /**
   * Removes one name, or every name with a prefix, or matching a regex (the name server's own
   * registration is never removed).
   * @param name a name
   * @param prefix a name prefix
   * @param regex a Python regex matched at the start of each name
   * @returns how many registrations were removed
   */
  @expose({ params: ["name?", "prefix?", "regex?"] })
  remove(name: unknown = null, prefix: unknown = null, regex: unknown = null): number {
    const checkedName = this.#optionalString(name, "name");
    const checkedPrefix = this.#optionalString(prefix, "prefix");
    const checkedRegex = this.#optionalString(regex, "regex");
    if (checkedName && checkedName !== NAMESERVER_NAME && this.#storage.has(checkedName)) {
      return this.#storage.remove([checkedName]);
    }
    let names: string[] | undefined;
    if (checkedPrefix) {
      names = this.#storage.list(checkedPrefix, false).map((r) => r.name);
    } else if (checkedRegex) {
      names = this.#matching(checkedRegex, false).map((r) => r.name);
    }
    if (!names) return 0;
    const removable = names.filter((n) => n !== NAMESERVER_NAME);
    this.#storage.remove(removable);
    return removable.length;
  }

  /**
   * Lists registrations, optionally filtered by name prefix or by regex (not both).
   * @param prefix a name prefix
   * @param regex a Python regex matched at the start of each name
   * @param return_metadata give `(uri, metadata)` tuples instead of URI texts
   * @returns a dict of name to URI text (or tuple)
   * @throws {RangeError} for both a prefix and a regex (Python's ValueError, as Pyro5)
   * @throws {NamingError} for an invalid regex
   */
  @expose({ params: ["prefix?", "regex?", "return_metadata?"] })
  list(
    prefix: unknown = null,
    regex: unknown = null,
    return_metadata: unknown = false,
  ): PyStringDict {
    const checkedPrefix = this.#optionalString(prefix, "prefix");
    const checkedRegex = this.#optionalString(regex, "regex");
    if (checkedPrefix && checkedRegex) {
      throw new RangeError("you can only filter on one thing at a time");
    }
    const withMetadata = truthy(return_metadata);
    const found = checkedRegex
      ? this.#matching(checkedRegex, withMetadata)
      : this.#storage.list(checkedPrefix ?? "", withMetadata);
    return this.#dict(found, withMetadata);
  }

  /**
   * Yellow-pages lookup: registrations having all (`meta_all`) or any (`meta_any`) of the tags.
   * @param meta_all tags that must all be present
   * @param meta_any tags of which one must be present
   * @param return_metadata give `(uri, metadata)` tuples instead of URI texts
   * @returns a dict of name to `(uri, metadata)` tuple (or URI text)
   * @throws {RangeError} for both `meta_all` and `meta_any` (Python's ValueError, as Pyro5)
   */
  @expose({ params: ["meta_all?", "meta_any?", "return_metadata?"] })
  yplookup(
    meta_all: unknown = null,
    meta_any: unknown = null,
    return_metadata: unknown = true,
  ): PyStringDict {
    if (truthy(meta_all) && truthy(meta_any)) {
      throw new RangeError("you can't use meta_all or meta_any at the same time");
    }
    const withMetadata = truthy(return_metadata);
    if (truthy(meta_all)) {
      const tags = this.#tags(meta_all, "metadata_all");
      return this.#dict(this.#storage.findByMetadata(tags, "all", withMetadata), withMetadata);
    }
    if (truthy(meta_any)) {
      const tags = this.#tags(meta_any, "metadata_any");
      return this.#dict(this.#storage.findByMetadata(tags, "any", withMetadata), withMetadata);
    }
    return {};
  }

  /**
   * Does nothing: lets clients check that the name server answers.
   * @returns null
   */
  @expose({ params: [] })
  ping(): null {
    return null;
  }

  #dict(found: NameRegistration[], withMetadata: boolean): PyStringDict {
    const result: PyStringDict = {};
    for (const r of found) {
      setDictItem(result, r.name, withMetadata ? tuple<unknown>(r.uri, r.metadata) : r.uri);
    }
    return result;
  }

  #matching(pattern: string, withMetadata: boolean): NameRegistration[] {
    const regex = this.#regex(pattern);
    return this.#storage.list("", withMetadata).filter((r) => regex.test(r.name));
  }

  #regex(pattern: string): RegExp {
    let regex = this.#regexCache.get(pattern);
    if (regex) return regex;
    if (pattern.length > this.#limits.maxRegexLength) {
      throw new NamingError(`invalid regex: longer than ${this.#limits.maxRegexLength} characters`);
    }
    regex = pythonRegex(pattern);
    if (this.#regexCache.size >= REGEX_CACHE_SIZE) {
      this.#regexCache.delete(this.#regexCache.keys().next().value!);
    }
    this.#regexCache.set(pattern, regex);
    return regex;
  }

  #name(name: unknown, registering = false): string {
    if (typeof name !== "string") throw new TypeError("name must be a str");
    if (registering) {
      if (name.length === 0) throw new NamingError("name must not be empty");
      if (name.length > this.#limits.maxNameLength) {
        throw new NamingError(`name too long: more than ${this.#limits.maxNameLength} characters`);
      }
      if (CONTROL_CHARS.test(name)) throw new NamingError("name contains control characters");
      if (!name.isWellFormed()) throw new NamingError("name contains a lone surrogate");
    }
    return name;
  }

  #optionalString(value: unknown, what: string): string | null {
    if (value === null || value === undefined) return null;
    if (typeof value !== "string") throw new TypeError(`${what} must be a str`);
    return value;
  }

  #uriText(uri: unknown): string {
    let text: string;
    if (uri instanceof PyroUri) text = uri.toString();
    else if (typeof uri === "string") text = uri;
    else throw new TypeError("only URIs or strings can be registered");
    if (text.length > this.#limits.maxUriLength) {
      throw new NamingError(`uri too long: more than ${this.#limits.maxUriLength} characters`);
    }
    this.#parseUri(text);
    return text;
  }

  #parseUri(text: string): PyroUri {
    const known = this.#parsedUris.get(text);
    if (known !== undefined) return known;
    try {
      const uri = new PyroUri(text);
      if (this.#parsedUris.size >= PARSED_URIS_KEPT) this.#parsedUris.clear();
      this.#parsedUris.set(text, uri);
      return uri;
    } catch (error) {
      if (error instanceof PyroError || error instanceof TypeError) {
        throw new PyroError("invalid uri", { cause: error }); // as Pyro5's URI class says
      }
      throw error;
    }
  }

  #tags(metadata: unknown, what: string): string[] {
    if (!truthy(metadata)) return [];
    if (typeof metadata === "string") {
      throw new TypeError(`${what} should not be a str, but another iterable (set, list, etc)`);
    }
    if (!Array.isArray(metadata) && !(metadata instanceof Set)) {
      throw new TypeError(`${what} must be a set, list or tuple of strings`);
    }
    const tags = new Set<string>();
    for (const tag of metadata) {
      if (typeof tag !== "string") throw new TypeError(`${what} tags must be strings`);
      if (tag.length > this.#limits.maxTagLength) {
        throw new NamingError(
          `${what} tag too long: more than ${this.#limits.maxTagLength} characters`,
        );
      }
      if (!tag.isWellFormed()) throw new NamingError(`${what} tag contains a lone surrogate`);
      tags.add(tag);
      if (tags.size > this.#limits.maxTags) {
        throw new NamingError(`too many ${what} tags: more than ${this.#limits.maxTags}`);
      }
    }
    return [...tags];
  }
}
