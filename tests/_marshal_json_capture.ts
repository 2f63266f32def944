/**
 * Test support: asks the real Python Pyro5 (the peer) what its marshal and json serializers write
 * for Python expressions, so the tables in `marshal_test.ts` and `json_test.ts` can be checked
 * against it live (their hex columns were captured with this very script).
 *
 * Values are rebuilt in Python before dumping so that they are fresh run-time objects (as in a
 * real Pyro5 call), not code constants: strings are copied (dict keys made of name characters
 * interned, as Python interns literals, attribute and keyword names), ints and floats recreated,
 * containers rebuilt keeping their sharing.
 *
 * @module
 */
import { peerEnv } from "./_peer.ts";

/** One expression to dump in Python. */
export interface PyCase {
  /** Python expression; for a call, a tuple `(objectId, method, args, kwargs)`. */
  py: string;
  /** Dump as a call (`dumpsCall`) instead of a value (`dumps`). */
  call?: boolean;
  /** Dump the value as evaluated (code constants, interned literals), not rebuilt fresh. */
  literal?: boolean;
}

/** What Python produced for one case: hex bytes, or the exception it raised. */
export type PyResult = { hex: string } | { error: string };

/** Python source of `fresh(value, memo)`: rebuilds a value as fresh run-time objects. */
export const PY_FRESH = String.raw`
import sys, math
def name_like(s):
    return s != "" and all(c.isascii() and (c.isalnum() or c == "_") for c in s)

def fresh(v, memo, key=False):
    t = type(v)
    if t is str:
        s = v.encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass")
        return sys.intern(s) if key and name_like(s) else s
    if t is int:
        return -(-v)
    if t is float:
        return float.fromhex(v.hex()) if not math.isnan(v) else float("nan")
    if t in (complex, bytes):
        if id(v) not in memo:
            memo[id(v)] = complex(v.real, v.imag) if t is complex else bytes(bytearray(v))
        return memo[id(v)]
    if isinstance(v, BaseException):
        e = t(*[fresh(a, memo) for a in v.args])
        for k, x in vars(v).items():
            setattr(e, k, fresh(x, memo))
        return e
    if t in (list, tuple, dict, set, frozenset):
        if id(v) in memo:
            return memo[id(v)]
        if t is list:
            r = []
            memo[id(v)] = r
            r.extend(fresh(x, memo) for x in v)
        elif t is dict:
            r = {}
            memo[id(v)] = r
            for k, x in v.items():
                r[fresh(k, memo, True)] = fresh(x, memo)
        else:
            r = t(fresh(x, memo) for x in v)
            memo[id(v)] = r
        return r
    return v
`;

const SCRIPT = PY_FRESH + String.raw`
import sys, json, math, uuid, datetime
import Pyro5.api, Pyro5.core, Pyro5.errors, Pyro5.client
from Pyro5.serializers import MarshalSerializer, JsonSerializer

serializer = MarshalSerializer() if sys.argv[1] == "marshal" else JsonSerializer()
env = {"nan": float("nan"), "inf": float("inf"), "Pyro5": Pyro5, "uuid": uuid, "datetime": datetime}
out = []
for case in json.load(sys.stdin):
    try:
        value = eval(case["py"], env)
        if case.get("call"):
            obj, method, args, kwargs = value
            memo = {}
            obj = fresh(obj, memo)
            method = sys.intern(fresh(method, memo))
            args = tuple(fresh(a, memo) for a in args)
            kwargs = {sys.intern(fresh(k, memo)): fresh(x, memo) for k, x in kwargs.items()}
            data = serializer.dumpsCall(obj, method, args, kwargs)
        elif case.get("literal"):
            data = serializer.dumps(value)
        else:
            x = fresh(value, {})
            data = serializer.dumps(x)
        out.append({"hex": data.hex()})
    except Exception as e:
        out.append({"error": type(e).__name__ + ": " + str(e)})
print(json.dumps(out))
`;

/**
 * Runs a Python script with the peer on its path, JSON in on stdin, JSON out on stdout.
 *
 * @param script the Python source
 * @param input sent as JSON on stdin
 * @param args command line arguments of the script
 * @returns the parsed output (installs the peer first; throws when that fails)
 */
export async function runPython(
  script: string,
  input: unknown,
  args: string[] = [],
): Promise<unknown> {
  const child = new Deno.Command("python3", {
    args: ["-c", script, ...args],
    env: await peerEnv(),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(input)));
  await writer.close();
  const out = await child.output();
  if (!out.success) {
    throw new Error(`python failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/**
 * Runs the cases through Python Pyro5's serializer.
 *
 * @param serializer "marshal" or "json"
 * @param cases the expressions
 * @returns one result per case
 */
export async function capturePython(
  serializer: "marshal" | "json",
  cases: readonly PyCase[],
): Promise<PyResult[]> {
  return await runPython(SCRIPT, cases, [serializer]) as PyResult[];
}

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += b.toString(16).padStart(2, "0");
  return text;
}

/** Bytes of lowercase hex. */
export function fromHex(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}
