"""
A real Python Pyro5 client exercising a Deno daemon (tests/interop/python_client_test.ts).

Usage: python3 pyro_client.py <uri of TestService> <serializer>

Runs every check and prints one JSON line per check: {"name", "ok", "detail"}.
The daemon must serve tests/_support_rpc.ts's TestService under the given URI.
"""

import datetime
import json
import math
import sys
import time
import traceback
import uuid

from Pyro5 import errors
from Pyro5.api import BatchProxy, Proxy, config
from Pyro5.callcontext import current_context

URI, SERIALIZER = sys.argv[1], sys.argv[2]
config.SERIALIZER = SERIALIZER
HAS_BYTES = SERIALIZER != "json"  # Pyro5's json serializer cannot send bytes
# Pyro5's marshal serializer cannot encode a call whose kwargs are None, which is what its proxy
# sends for attribute access and batches: those fail on the Python side before anything is sent.
HAS_NONE_KWARGS = SERIALIZER != "marshal"

checks = []


def check(name):
    def register(fn):
        checks.append((name, fn))
        return fn
    return register


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def same(a, b):
    """Equal values of the same types; an integral float may come back as an int."""
    if isinstance(b, float) and isinstance(a, int) and not isinstance(a, bool):
        return float(a) == b
    if isinstance(b, float) and math.isnan(b):
        return isinstance(a, float) and math.isnan(a)
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def roundtrip_expectation(value):
    """What a Python Pyro5 peer gets back for a value in this serializer."""
    if SERIALIZER in ("json", "msgpack"):
        if isinstance(value, (tuple, set, frozenset)):
            return [roundtrip_expectation(v) for v in value]
        if isinstance(value, list):
            return [roundtrip_expectation(v) for v in value]
        if isinstance(value, dict):
            return {(str(k) if SERIALIZER == "json" else k): roundtrip_expectation(v)
                    for k, v in value.items()}
    if SERIALIZER == "serpent" and isinstance(value, bytes):
        return {"data": __import__("base64").b64encode(value).decode(), "encoding": "base64"}
    if isinstance(value, list):
        return [roundtrip_expectation(v) for v in value]
    if isinstance(value, tuple):
        return tuple(roundtrip_expectation(v) for v in value)
    if isinstance(value, dict):
        return {k: roundtrip_expectation(v) for k, v in value.items()}
    return value


VALUES = [
    None, True, False, 0, 1, -1, 255, 2**31, -(2**31) - 1, 2**53, 2**63, 2**64 + 1, -(2**70),
    0.5, -2.75e-10, 1e300, float("inf"), float("-inf"), float("nan"),
    "", "hello", "ünïcødé ✓ 𝄞", "quote ' \" \\ \n \t \x00",
    [], [1, [2, [3, "deep"]]], (), (1, "two", 3.0), {}, {"a": 1, "b": {"c": [1, 2]}},
    [None, True, {"x": (1, 2)}],
]
if SERIALIZER != "msgpack":  # Python's msgpack refuses non-str map keys when decoding
    VALUES.append({1: "int key", 2: "two"})
if SERIALIZER != "json":
    VALUES.append(complex(1.5, -2))
if HAS_BYTES:
    VALUES += [b"", b"\x00\x01\xff", bytearray(b"abc")]
if SERIALIZER in ("serpent", "marshal"):
    VALUES += [{1, 2, 3}]
if SERIALIZER == "marshal":
    VALUES += [frozenset({4, 5})]


@check("metadata from the connect handshake")
def _(p):
    p._pyroBind()
    expect({"echo", "add", "generator", "slow", "__dunder__"} <= p._pyroMethods, p._pyroMethods)
    expect(p._pyroAttrs == {"value", "readonly", "counter"}, p._pyroAttrs)
    expect(p._pyroOneway == {"onewayRecord", "onewaySlow"}, p._pyroOneway)
    expect("_private" not in p._pyroMethods, "private method exposed")


@check("values round-trip")
def _(p):
    for value in VALUES:
        got = p.echo(value)
        want = roundtrip_expectation(value)
        if isinstance(value, bytearray):
            want = roundtrip_expectation(bytes(value))
        if isinstance(value, (set, frozenset)):
            expect(isinstance(got, (set, frozenset)) and set(got) == value, f"{value!r} -> {got!r}")
            continue
        expect(same(got, want), f"{value!r} came back as {got!r}, expected {want!r}")


@check("datetime and uuid")
def _(p):
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    expect(p.echo(ident) == str(ident), p.echo(ident))
    moment = datetime.datetime(2020, 1, 2, 3, 4, 5, 123000)
    if SERIALIZER in ("serpent", "json"):
        expect(p.echo(moment) == moment.isoformat(), p.echo(moment))
    elif SERIALIZER == "msgpack":  # a naive datetime travels as a timestamp (TZ=UTC here)
        expect(p.echo(moment) == moment, p.echo(moment))


@check("sync, async, varargs and kwargs methods")
def _(p):
    expect(p.add(40, 2) == 42, "add")
    expect(p.asyncAdd(40, 2) == 42, "asyncAdd")
    expect(list(p.echoArgs(1, 2, 3)) == [1, 2, 3], p.echoArgs(1, 2, 3))
    got = p.echoKeywords(1, sep=",")
    expect(list(got) == [1, {"sep": ","}], got)
    expect(list(p.echoKeywords(first=0)) == [0, {}], "echoKeywords(first=0)")
    expect(p.half(4) == 2.0 and isinstance(p.half(4), float), repr(p.half(4)))
    expect(p.__dunder__() == "should be allowed (dunder)", "dunder")


@check("keyword arguments bind to the Deno method's parameters by name")
def _(p):
    expect(p.setTarget(celsius=21) == "target set to 21 C", p.setTarget(celsius=21))
    expect(p.setTarget(unit="F", celsius=70) == "target set to 70 F", "unit and celsius")
    expect(p.setTarget(3, unit="K") == "target set to 3 K", "positional and keyword")
    bad = [
        (lambda: p.setTarget(celsius=1, x=2),
         "TestService.setTarget() got an unexpected keyword argument 'x'"),
        (lambda: p.setTarget(unit="F"),
         "TestService.setTarget() missing 1 required positional argument: 'celsius'"),
        (lambda: p.setTarget(1, celsius=2),
         "TestService.setTarget() got multiple values for argument 'celsius'"),
        (lambda: p.setTarget(1, "C", 3, unit="F"),
         "TestService.setTarget() takes from 2 to 3 positional arguments but 4 were given"),
        (lambda: p.echoArgs(1, sep=","),
         "TestService.echoArgs() got an unexpected keyword argument 'sep'"),
    ]
    for call, message in bad:
        try:
            call()
            raise AssertionError("no error: " + message)
        except TypeError as x:
            expect(str(x) == message, str(x))
    expect(p.setTarget(5) == "target set to 5 C", "the connection still works")


@check("errors with remote traceback")
def _(p):
    try:
        p.fail("it broke")
        raise AssertionError("no error")
    except ValueError as x:
        expect(str(x) == "it broke", str(x))
        remote = "".join(errors.get_pyro_traceback())
        expect("Remote traceback:" in remote, remote)
        expect("TestService.fail" in remote and "ValueError: it broke" in remote, remote)
        expect(x._pyroTraceback[0] == "Traceback (most recent call last):\n", x._pyroTraceback)
    try:
        p.failTyped()
        raise AssertionError("no error")
    except TypeError as x:
        expect(str(x) == "wrong type", str(x))
    try:
        p.failPyro()
        raise AssertionError("no error")
    except errors.NamingError as x:
        expect(str(x) == "no such name", str(x))
    try:
        p.failAsync("later")
        raise AssertionError("no error")
    except ValueError as x:
        expect(str(x) == "later", str(x))
    try:
        p.failCustom()
        raise AssertionError("no error")
    except errors.SerializeError as x:
        # Pyro5 cannot rebuild exception classes of unknown modules.
        expect("mymodule.InsufficientFunds" in str(x), str(x))
    expect(p.add(1, 1) == 2, "connection unusable after errors")


@check("private, unexposed and unknown names are refused")
def _(p):
    try:
        p._private()
        raise AssertionError("no error")
    except AttributeError as x:
        expect("no exposed attribute or method '_private'" in str(x), str(x))
    for name, text in [("_private", "attempt to access private attribute '_private'"),
                       ("onewayCalls", "attempt to access unexposed attribute 'onewayCalls'"),
                       ("nothing", "object has no attribute 'nothing'")]:
        try:
            p._pyroInvoke(name, (), {})
            raise AssertionError("no error")
        except AttributeError as x:
            expect(text in str(x), str(x))


@check("oneway calls do not wait")
def _(p):
    start = time.time()
    expect(p.onewaySlow(1) is None, "oneway returned a value")
    expect(p.onewayRecord("from python") is None, "oneway returned a value")
    expect(p.echo("next") == "next", "echo")
    expect(time.time() - start < 0.5, f"oneway blocked for {time.time() - start:.2f}s")


@check("generators stream")
def _(p):
    expect(list(p.generator(5)) == [0, 1, 2, 3, 4], "generator")
    expect(list(p.asyncGenerator(3)) == ["item0", "item1", "item2"], "asyncGenerator")
    expect(list(p.listValues()) == ["a", "b", "c"], "listValues")
    stream = p.endless()
    expect([next(stream), next(stream), next(stream)] == [0, 1, 2], "endless")
    stream.close()
    failing = p.failingGenerator()
    expect(next(failing) == 1, "failingGenerator first item")
    try:
        next(failing)
        raise AssertionError("no error")
    except ValueError as x:
        expect(str(x) == "generator broke", str(x))
    expect(p.echo("after streams") == "after streams", "echo after streams")


@check("batch of 100")
def _(p):
    if not HAS_NONE_KWARGS:
        return
    batch = BatchProxy(p)
    for i in range(100):
        batch.add(i, 1)
    expect(list(batch()) == list(range(1, 101)), "batch results")
    batch.echo("first")
    batch.fail("batch broke")
    batch.echo("never")
    results = batch()
    expect(next(results) == "first", "first batch result")
    try:
        next(results)
        raise AssertionError("no error")
    except ValueError as x:
        expect(str(x) == "batch broke", str(x))
    batch.setTarget(celsius=5)
    batch.setTarget(unit="F")
    batch.echo("never")
    results = batch()
    expect(next(results) == "target set to 5 C", "keyword arguments in a batch")
    try:
        next(results)
        raise AssertionError("no error")
    except TypeError as x:
        expect("missing 1 required positional argument: 'celsius'" in str(x), str(x))
    batch.onewayRecord("batched")
    expect(batch(oneway=True) is None, "oneway batch")


@check("attributes get and set")
def _(p):
    if not HAS_NONE_KWARGS:
        try:
            p.value
            raise AssertionError("marshal attribute access unexpectedly worked")
        except AttributeError:
            return  # Pyro5's own marshal limitation (kwargs None), see above
    p.value = 12
    expect(p.value == 12, p.value)
    p.value = 7
    expect(p.value == 7, p.value)
    expect(p.readonly == "fixed", p.readonly)
    try:
        p.readonly = "changed"
        raise AssertionError("no error")
    except AttributeError as x:
        expect("unexposed or unknown remote attribute 'readonly'" in str(x), str(x))
    p.counter = 100
    expect(p.increment() == 101 and p.counter == 101, "counter accessor")


@check("annotations both ways")
def _(p):
    current_context.annotations = {"XTST": b"from python"}
    try:
        context = p.context()
    finally:
        current_context.annotations = {}
    expect(context["annotations"] == {"XTST": "from python"}, context)
    expect(bytes(current_context.response_annotations["XRES"]) == b"response",
           current_context.response_annotations)


@check("timeout on a slow method, then usable again")
def _(p):
    p._pyroTimeout = 0.5
    start = time.time()
    try:
        p.slow(3)
        raise AssertionError("no timeout")
    except errors.TimeoutError:
        pass
    elapsed = time.time() - start
    expect(0.4 < elapsed < 2.0, f"timeout after {elapsed:.2f}s")
    p._pyroTimeout = None
    expect(p.echo("after timeout") == "after timeout", "echo after timeout")


@check("Pyro.Daemon object")
def _(p):
    with Proxy(URI.replace("PYRO:service@", "PYRO:Pyro.Daemon@")) as daemon:
        expect(daemon.ping() is None, "ping")
        expect("service" in daemon.registered(), daemon.registered())
        expect(daemon.info().startswith("Pyro.Daemon bound on "), daemon.info())
        meta = daemon.get_metadata("service")
        expect(set(meta["attrs"]) == {"value", "readonly", "counter"}, meta)
        expect(set(meta["oneway"]) == {"onewayRecord", "onewaySlow"}, meta)
        try:
            daemon.get_metadata("nothing")
            raise AssertionError("no error")
        except errors.DaemonError as x:
            expect(str(x) == "unknown object", str(x))


@check("unknown object is rejected at connect")
def _(p):
    with Proxy(URI.replace("PYRO:service@", "PYRO:no.such.object@")) as other:
        try:
            other._pyroBind()
            raise AssertionError("no error")
        except errors.CommunicationError as x:
            expect(str(x).endswith("rejected: unknown object"), str(x))


def main():
    with Proxy(URI) as p:
        for name, fn in checks:
            try:
                fn(p)
                result = {"name": name, "ok": True, "detail": ""}
            except Exception:
                result = {"name": name, "ok": False, "detail": traceback.format_exc()}
                p._pyroRelease()
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
