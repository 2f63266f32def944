"""Exercises an echo server (ours or Pyro5's) from a real Python Pyro5 client.

usage: echo_client.py URI SERIALIZER
Prints one line per check ("ok NAME" or "FAIL NAME: detail") and exits 1 when any check failed.
"""
import datetime
import decimal
import math
import sys
import time
import uuid

import Pyro5.api
import Pyro5.errors
from Pyro5 import serializers

uri, serializer_name = sys.argv[1], sys.argv[2]
Pyro5.config.SERIALIZER = serializer_name
serializer = serializers.serializers[serializer_name]
failures = 0


def report(name, ok, detail=""):
    global failures
    if ok:
        print("ok", name, flush=True)
    else:
        failures += 1
        print("FAIL", name + ":", detail, flush=True)


def same(a, b):
    """Equal and of the same type, all the way down; an integral float may come back as int."""
    if isinstance(b, float) and isinstance(a, int) and not isinstance(a, bool):
        return float(a) == b and b.is_integer()
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


VALUES = {
    "none": None,
    "bools": [True, False],
    "small ints": [0, 1, -1, 255, 2**31, -2**31 - 1],
    "big ints": [2**53 + 1, 2**63, -2**64, 2**70],
    "floats": [1.5, -0.25, 1e300, 1e-300, 0.1 + 0.2],
    "integral float": 2.0,
    "special floats": [float("inf"), float("-inf")],
    "complex": complex(1.5, -2),
    "str": "hello \u20ac \U0001F600 'quotes' \"double\" \\ \n\t\x00",
    "empty str": "",
    "bytes": bytes(range(256)),
    "bytearray": bytearray(b"\x00\x01xyz"),
    "list": [1, "two", 3.5, None],
    "tuple": (1, "two", (3, (4,))),
    "empty tuple": (),
    "set": {1, 2, 3},
    "frozenset": frozenset({"a", "b"}),
    "dict str keys": {"a": 1, "b": [2, 3], "c": {"d": None}},
    "dict int keys": {1: "one", 2: "two"},
    "dict tuple keys": {(1, 2): "pair", (3,): "single"},
    "nested": {"list": [{"x": (1, 2)}, [[[]]]], "n": -7},
    "decimal": decimal.Decimal("3.14159"),
    "uuid": uuid.UUID(int=12345),
    "datetime": datetime.datetime(2024, 2, 29, 13, 45, 1, 123000),
    "date": datetime.date(2024, 2, 29),
}

proxy = Pyro5.api.Proxy(uri)

for name, value in VALUES.items():
    try:
        local = serializer.loads(serializer.dumps(value))
    except Exception:
        continue  # this serializer cannot carry it, in Python either
    try:
        remote = proxy.echo(value)
    except Exception as x:
        report("echo " + name, False, repr(x))
        continue
    report("echo " + name, same(remote, local), "%r != %r" % (remote, local))

try:
    proxy.nan()
    nan = proxy.nan()
    report("nan", isinstance(nan, float) and math.isnan(nan), repr(nan))
    report("inf", proxy.inf() == float("inf"), "")
except Exception as x:
    report("nan/inf", False, repr(x))

for method, text in (("error", "this is the generated error from echoserver echo() method"),
                     ("error_with_text", "the message of the error")):
    try:
        getattr(proxy, method)()
        report(method, False, "no exception")
    except ValueError as x:
        tb = "".join(Pyro5.errors.get_pyro_traceback())
        report(method, str(x) == text and "Remote traceback" in tb and "ValueError" in tb, repr(x) + tb)
    except Exception as x:
        report(method, False, repr(x))

start = time.time()
result = proxy.oneway_echo("hi")
report("oneway_echo returns at once", result is None and time.time() - start < 1.0, repr(result))
start = time.time()
proxy.oneway_slow()
report("oneway_slow does not wait", time.time() - start < 1.0, "%.2fs" % (time.time() - start))
report("call after oneway_slow is not delayed", proxy.echo(5) == 5 and time.time() - start < 1.5,
       "%.2fs" % (time.time() - start))

report("generator", list(proxy.generator()) == ["one", "two", "three"], "")

# Python's marshal proxy cannot send batches or attribute access itself (it sends kwargs=None,
# which its own marshal dumpsCall rejects), so those checks need another serializer.
marshal_client = serializer_name == "marshal"
if not marshal_client:
    batch = Pyro5.api.BatchProxy(proxy)
    for i in range(100):
        batch.echo(i)
    results = list(batch())
    report("batch of 100", results == list(range(100)), repr(results[:5]))

report("dunder allowed", proxy.__dunder__() == "should be allowed (dunder)", "")
try:
    proxy._pyroInvoke("_private", (), {})
    report("private refused", False, "no exception")
except (AttributeError, Pyro5.errors.SecurityError) as x:
    report("private refused", "private" in str(x), repr(x))

if not marshal_client:
    report("attribute get", proxy.verbose is False, "")
    proxy.verbose = True
    report("attribute set", proxy.verbose is True, "")
    proxy.verbose = False

# A proxy travels as its state (URI, metadata, handshake, serializer) and comes back the same;
# the echo server inspects it for its log line on the way (issue 11).
other = Pyro5.api.Proxy("PYRO:other@localhost:1")
other._pyroSerializer = "json"
other._pyroHandshake = {"token": 1}
other._pyroMethods, other._pyroAttrs, other._pyroOneway = {"m1", "m2"}, {"at"}, {"m2"}
echoed = proxy.echo(other)
report("echo(proxy)", isinstance(echoed, Pyro5.api.Proxy)
       and (echoed._pyroUri, echoed._pyroSerializer, echoed._pyroHandshake) == (other._pyroUri, "json", {"token": 1})
       and (echoed._pyroMethods, echoed._pyroAttrs, echoed._pyroOneway) == ({"m1", "m2"}, {"at"}, {"m2"}),
       repr(echoed))
echoed = proxy.echo(Pyro5.api.Proxy("PYRONAME:some.name"))
report("echo(PYRONAME proxy)", str(echoed._pyroUri) == "PYRONAME:some.name", repr(echoed))
echoed = proxy.echo(proxy)
report("echo(connected proxy to itself)", echoed._pyroUri == proxy._pyroUri
       and echoed._pyroMethods == proxy._pyroMethods and echoed.echo(7) == 7, repr(echoed))
echoed._pyroRelease()
report("oneway_echo(proxy)", proxy.oneway_echo(other) is None, "")
# Python's marshal serializer converts only top-level proxies in call arguments.
if not marshal_client:
    proxy.verbose = True
    echoed = proxy.echo([other, {"k": other}])
    report("echo(proxies in containers)", [echoed[0]._pyroUri, echoed[1]["k"]._pyroUri] == [other._pyroUri] * 2,
           repr(echoed))
    proxy.verbose = False

slow = Pyro5.api.Proxy(uri)
slow._pyroTimeout = 0.5
start = time.time()
try:
    slow.slow()
    report("timeout on slow", False, "no timeout")
except Pyro5.errors.TimeoutError:
    report("timeout on slow", time.time() - start < 2.0, "%.2fs" % (time.time() - start))
slow._pyroTimeout = None
report("proxy usable after timeout", slow.echo("again") == "again", "")
slow._pyroRelease()
proxy._pyroRelease()
sys.exit(1 if failures else 0)
