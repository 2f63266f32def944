#!/usr/bin/env python3
"""Generates the golden vectors of pyro-deno from the real Python Pyro5 5.15.

Writes tests/testdata/values.json (values and calls through the four serializers) and
tests/testdata/messages.json (wire messages made and parsed by Pyro5.protocol).

Usage:  python3 scripts/gen_vectors.py

The script re-executes itself with PYTHONHASHSEED=0 (set and dict-key iteration order must be
reproducible), TZ=UTC (msgpack's datetime extension uses local time) and the peer's PYTHONPATH
(from scripts/install_peer.sh) when they are missing, so two runs give identical files.

Every Python value is written as a "tag", a small JSON object; tests/_support.ts turns tags into
TypeScript values. The tag format is described in tests/testdata/README.md.
"""

import array
import base64
import datetime
import decimal
import json
import marshal
import os
import struct
import subprocess
import sys
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTDATA = os.path.join(ROOT, "tests", "testdata")


def _ensure_environment():
    """Re-executes the script with a fixed hash seed, UTC time zone and the peer on the path."""
    env = dict(os.environ)
    changed = False
    if env.get("PYTHONHASHSEED") != "0":
        env["PYTHONHASHSEED"] = "0"
        changed = True
    if env.get("TZ") != "UTC":
        env["TZ"] = "UTC"
        changed = True
    try:
        import Pyro5  # noqa: F401
    except ImportError:
        installer = os.path.join(ROOT, "scripts", "install_peer.sh")
        out = subprocess.run(["bash", installer], check=True, capture_output=True, text=True)
        site = out.stdout.strip().splitlines()[-1]
        env["PYTHONPATH"] = site + os.pathsep + env.get("PYTHONPATH", "")
        changed = True
    if changed:
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


_ensure_environment()

import msgpack  # noqa: E402
import Pyro5  # noqa: E402
import Pyro5.api  # noqa: E402,F401  (registers URI, Proxy, Daemon with the serializers)
from Pyro5 import callcontext, client, config, core, errors, protocol  # noqa: E402
from Pyro5.serializers import SerializerBase, serializers  # noqa: E402

SERIALIZER_NAMES = ("serpent", "marshal", "json", "msgpack")
TRACEBACK = ["Traceback (most recent call last):\n", "  File \"x.py\", line 1, in <module>\n",
             "ZeroDivisionError: division by zero\n"]


# ---------------------------------------------------------------------------------------------
# Test classes, the same ones tests/_support.ts and tests/interop/reencode.py know.

class Point:
    """A user class that travels through register_class_to_dict / register_dict_to_class."""

    def __init__(self, x, y):
        self.x = x
        self.y = y


def point_to_dict(point):
    return {"__class__": "testsupport.Point", "x": point.x, "y": point.y}


def point_from_dict(_classname, data):
    return Point(data["x"], data["y"])


class Thing:
    """A user class nobody registered: it goes out as vars() + __class__, and comes back refused."""

    def __init__(self):
        self.a = 1
        self.b = "two"


Thing.__module__ = "vectors"
SerializerBase.register_class_to_dict(Point, point_to_dict)
SerializerBase.register_dict_to_class("testsupport.Point", point_from_dict)


# ---------------------------------------------------------------------------------------------
# Tags: JSON descriptions of Python values.

def b64(data):
    return base64.b64encode(bytes(data)).decode("ascii")


def js_iso(dt):
    """A datetime as JavaScript's Date.toISOString() writes it (naive datetimes taken as UTC)."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def is_serpent_bytes_dict(value):
    return (type(value) is dict and len(value) == 2 and value.get("encoding") == "base64"
            and isinstance(value.get("data"), str))


def tag(value, decoded=False, serpent=False):
    """The tag of a Python value.

    decoded: the value is what a decoder produced (dates become "datetime" tags as a TypeScript
    Date sees them). serpent: apply the serpent conveniences our decoder has (base64 byte dicts
    become bytes).
    """
    def sub(v):
        return tag(v, decoded, serpent)

    t = type(value)
    if value is None:
        return {"t": "none"}
    if t is bool:
        return {"t": "bool", "v": value}
    if t is int:
        return {"t": "int", "v": str(value)}
    if t is float:
        return {"t": "float", "v": repr(value)}
    if t is complex:
        return {"t": "complex", "re": repr(value.real), "im": repr(value.imag)}
    if t is str:
        return {"t": "str", "v": value}
    if t in (bytes, bytearray, memoryview):
        return {"t": "bytes", "v": b64(value)}
    if t is list:
        return {"t": "list", "v": [sub(x) for x in value]}
    if t is tuple:
        return {"t": "tuple", "v": [sub(x) for x in value]}
    if t is set:
        return {"t": "set", "v": [sub(x) for x in value]}
    if t is frozenset:
        return {"t": "frozenset", "v": [sub(x) for x in value]}
    if t is dict:
        if serpent and is_serpent_bytes_dict(value):
            return {"t": "bytes", "v": b64(base64.b64decode(value["data"]))}
        return {"t": "dict", "v": [[sub(k), sub(v)] for k, v in value.items()]}
    if isinstance(value, core.URI):
        return {"t": "uri", "v": str(value)}
    if isinstance(value, client.Proxy):
        state = value.__getstate__()
        return {"t": "proxy", "uri": state[0], "oneway": list(state[1]), "methods": list(state[2]),
                "attrs": list(state[3]), "handshake": sub(state[4]), "serializer": state[5]}
    if isinstance(value, core._ExceptionWrapper):
        return {"t": "exwrap", "error": sub(value.exception)}
    if isinstance(value, BaseException):
        attrs = dict(vars(value))
        traceback = attrs.pop("_pyroTraceback", None)
        if traceback is not None:
            traceback = [str(line) for line in traceback]
        return {"t": "error", "cls": type(value).__module__ + "." + type(value).__name__,
                "args": [sub(a) for a in value.args], "attrs": sub(attrs), "traceback": traceback}
    if isinstance(value, Point):
        return {"t": "object", "cls": "testsupport.Point", "v": sub({"x": value.x, "y": value.y})}
    if isinstance(value, Thing):
        return {"t": "object", "cls": "vectors.Thing", "v": sub(dict(vars(value)))}
    if t is datetime.datetime:
        return {"t": "datetime", "iso": js_iso(value) if decoded else value.isoformat()}
    if t is datetime.date:
        if decoded:
            return {"t": "datetime", "iso": value.isoformat() + "T00:00:00.000Z"}
        return {"t": "date", "iso": value.isoformat()}
    if t is datetime.time:
        return {"t": "time", "iso": value.isoformat()}
    if t is decimal.Decimal:
        return {"t": "decimal", "v": str(value)}
    if t is uuid.UUID:
        return {"t": "uuid", "v": str(value)}
    if t is array.array:
        return {"t": "array", "typecode": value.typecode, "v": [sub(x) for x in value.tolist()]}
    raise TypeError("no tag for %r" % (value,))


# ---------------------------------------------------------------------------------------------
# Marshal canonical form. Python's marshal marks objects whose refcount is above one with
# FLAG_REF (and refers back to them with TYPE_REF), and writes interned strings with their own
# type codes; neither can be predicted from the value alone. The canonical form is the same data
# without references (back-references expanded), with the non-interned string codes, and with set
# elements ordered by their canonical bytes (CPython orders them by their marshalled bytes):
# that is what a TypeScript encoder can produce, and Python reads it as the same value.

_FLAG_REF = 0x80
_INTERNED = {"t": "u", "A": "a", "Z": "z"}


def marshal_canonical(data):
    refs = []
    out, pos = _canonical_object(bytes(data), 0, refs)
    if pos != len(data):
        raise ValueError("trailing marshal data")
    return out


def _canonical_object(data, pos, refs):
    code = data[pos]
    kind = chr(code & ~_FLAG_REF)
    pos += 1
    slot = None
    if code & _FLAG_REF:
        slot = len(refs)
        refs.append(None)
    if kind in "0NFTS.":
        out = kind.encode()
    elif kind == "r":
        (index,) = struct.unpack_from("<I", data, pos)
        pos += 4
        out = refs[index]
        if out is None:
            raise ValueError("recursive marshal reference")
    elif kind == "i":
        out = b"i" + data[pos:pos + 4]
        pos += 4
    elif kind == "g":
        out = b"g" + data[pos:pos + 8]
        pos += 8
    elif kind == "y":
        out = b"y" + data[pos:pos + 16]
        pos += 16
    elif kind == "l":
        (ndigits,) = struct.unpack_from("<i", data, pos)
        size = 4 + 2 * abs(ndigits)
        out = b"l" + data[pos:pos + size]
        pos += size
    elif kind in "stuaA":
        (length,) = struct.unpack_from("<i", data, pos)
        out = _INTERNED.get(kind, kind).encode() + data[pos:pos + 4 + length]
        pos += 4 + length
    elif kind in "zZ":
        length = data[pos]
        out = b"z" + data[pos:pos + 1 + length]
        pos += 1 + length
    elif kind in "([<>)":
        if kind == ")":
            count = data[pos]
            head = b")" + data[pos:pos + 1]
            pos += 1
        else:
            (count,) = struct.unpack_from("<i", data, pos)
            head = kind.encode() + data[pos:pos + 4]
            pos += 4
        items = []
        for _ in range(count):
            item, pos = _canonical_object(data, pos, refs)
            items.append(item)
        if kind in "<>":
            items.sort()
        out = head + b"".join(items)
    elif kind == "{":
        parts = [b"{"]
        while data[pos] != ord("0"):
            key, pos = _canonical_object(data, pos, refs)
            value, pos = _canonical_object(data, pos, refs)
            parts += [key, value]
        pos += 1
        parts.append(b"0")
        out = b"".join(parts)
    else:
        raise ValueError("unexpected marshal type %r" % kind)
    if slot is not None:
        refs[slot] = out
    return out, pos


def _unordered(node):
    """A tag with set elements sorted, for comparing values whose set order may differ."""
    if isinstance(node, list):
        return [_unordered(x) for x in node]
    if isinstance(node, dict):
        result = {k: _unordered(v) for k, v in node.items()}
        if node.get("t") in ("set", "frozenset"):
            result["v"] = sorted(result["v"], key=lambda x: json.dumps(x, sort_keys=True))
        return result
    return node


def same_tag(a, b):
    return _unordered(a) == _unordered(b)


# ---------------------------------------------------------------------------------------------
# The values.

def nested_list(depth):
    value = "bottom"
    for _ in range(depth):
        value = [value]
    return value


def nested_mixed(depth):
    value = 0
    for level in range(depth):
        value = {"level": level, "inner": (value,)} if level % 2 else [value, level]
    return value


def make_exception(cls, *args, traceback=None, **attrs):
    error = cls(*args)
    for key, value in attrs.items():
        setattr(error, key, value)
    if traceback is not None:
        error._pyroTraceback = traceback
    return error


def make_proxy():
    proxy = client.Proxy("PYRO:example.thing@localhost:9999")
    proxy._pyroOneway = {"fire", "forget"}
    proxy._pyroMethods = {"add", "fire", "forget", "echo"}
    proxy._pyroAttrs = {"size"}
    proxy._pyroHandshake = {"secret": 42}
    proxy._pyroSerializer = "serpent"
    return proxy


def value_cases():
    """(name, value, encodable, per-serializer overrides) of every value vector."""
    utc = datetime.timezone.utc
    not_encodable = {"encodable": False}
    cases = [
        ("None", None),
        ("True", True),
        ("False", False),
    ]
    ints = [0, 1, -1, 5, 127, 128, 255, 256, -32, -33, -128, -129, 65535, 65536, -32768, -32769,
            2**31 - 1, 2**31, -2**31, -2**31 - 1, 2**32 - 1, 2**32, 2**53 - 1, 2**53, 2**53 + 1,
            -(2**53 - 1), -2**53, -2**53 - 1, 2**63 - 1, 2**63, -2**63, -2**63 - 1, 2**64 - 1,
            2**64, -2**64, 2**70, -2**70, 10**40, -10**40]
    cases += [("int %d" % n, n) for n in ints]
    floats = [0.0, -0.0, 0.5, -1.5, 2.0, -3.0, 1e16, 1e-5, 1e-7, 0.0001, 123456789.125, 1e300,
              -1e300, 5e-324, 1.7976931348623157e308, 2.0**53, 2.0**64, 0.1 + 0.2, 1 / 3,
              float("nan"), float("inf"), float("-inf")]
    cases += [("float %s" % repr(f), f) for f in floats]
    cases += [
        ("complex 1+2j", complex(1, 2)),
        ("complex -1.5-0.25j", complex(-1.5, -0.25)),
        ("complex 0j", complex(0, 0)),
        ("complex inf imag", complex(1, float("inf"))),
        ("str empty", ""),
        ("str ascii", "hello world"),
        ("str single char", "a"),
        ("str identifier-like", "__class__"),
        ("str quotes single", "it's"),
        ("str quotes double", 'say "hi"'),
        ("str quotes both", "it's \"both\""),
        ("str backslashes", "C:\\path\\to\\file \\n not a newline"),
        ("str whitespace controls", "line1\nline2\r\n\ttab\x0b\x0c"),
        ("str control chars", "".join(chr(c) for c in range(32)) + "\x7f"),
        ("str c1 controls", "\x80\x85\x9f"),
        ("str latin-1", "caf\xe9 na\xefve \xa3\xff \xa0nbsp \xadshy"),
        ("str BMP", "\u4e2d\u6587 \u0391\u03b2\u03b3 \u20ac \u2028\u2029 \ufeff \ue000 \uffff"),
        ("str combining", "e\u0301 a\u0308"),
        ("str astral", "\U0001F600 \U0001F4A9 \U00010348 \U000E0001 \U0010FFFF"),
        ("str unassigned", "\u0378\U0001FFFF"),
        ("str ascii 255", "x" * 255),
        ("str ascii 256", "y" * 256),
        ("str ascii 300", "abc" * 100),
        ("str non-ascii 300", "\xe9\u4e2d\U0001F600" * 100),
        ("str long", "".join(chr(48 + i % 75) for i in range(65600))),
        ("bytes empty", b""),
        ("bytes ascii", b"hello"),
        ("bytes 0..255", bytes(range(256))),
        ("bytes 255", bytes(i % 251 for i in range(255))),
        ("bytes long", bytes((i * 7) % 256 for i in range(65600))),
        ("bytearray", bytearray(b"\x00\x01\xfe\xff")),
        ("list empty", []),
        ("list ints", [1, 2, 3]),
        ("list 15", list(range(15))),
        ("list 16", list(range(16))),
        ("list mixed", [None, True, 1, 2.5, "s", b"b", [1], (2,), {"k": "v"}]),
        ("tuple empty", ()),
        ("tuple one", (1,)),
        ("tuple two", (1, "two")),
        ("tuple nested", ((1, 2), ((3,), ()), [4, (5, 6)])),
        ("set empty", set()),
        ("set ints", {3, 1, 2}),
        ("set strs", {"alpha", "beta", "gamma", "delta"}),
        ("set mixed", {1, "one", 2.5, (1, 2), True is False}),
        ("frozenset empty", frozenset()),
        ("frozenset", frozenset({"x", "y", 3})),
        ("set of frozensets", {frozenset({1, 2}), frozenset()}),
        ("dict empty", {}),
        ("dict str keys", {"a": 1, "b": "two", "c": [3]}),
        ("dict 15", {"k%d" % i: i for i in range(15)}),
        ("dict 16", {"k%d" % i: i for i in range(16)}),
        ("dict int keys", {1: "one", 2: "two", -3: "minus three"}),
        ("dict tuple keys", {(1, 2): "a", (3, "x"): "b"}),
        ("dict mixed keys", {"s": 1, 2: "int", 3.5: "float", True: "bool", b"k": "bytes"}),
        ("dict None key", {None: "none"}),
        ("dict proto key", {"__proto__": {"polluted": True}, "constructor": 1}),
        ("dict nested", {"a": {"b": {"c": [1, {"d": None}]}}, "e": ({"f": (1,)},)}),
        ("dict class key look-alike", {"data": "AAE=", "encoding": "base64"}),
        ("dict float nan class", {"__class__": "float", "value": "nan"}),
        ("nested lists 50", nested_list(50)),
        ("nested mixed 50", nested_mixed(50)),
        ("datetime naive", datetime.datetime(2020, 1, 2, 3, 4, 5, 125000), False,
         {"msgpack": {"encodable": True}}),
        ("datetime naive no fraction", datetime.datetime(1999, 12, 31, 23, 59, 59), False,
         {"msgpack": {"encodable": True}}),
        ("datetime aware utc", datetime.datetime(2020, 1, 2, 3, 4, 5, 125000, tzinfo=utc), True,
         {"marshal": not_encodable, "msgpack": not_encodable}),
        ("datetime aware utc no fraction", datetime.datetime(2021, 6, 7, 8, 9, 10, tzinfo=utc),
         True, {"marshal": not_encodable, "msgpack": not_encodable}),
        ("datetime microseconds", datetime.datetime(2020, 1, 2, 3, 4, 5, 123456), False),
        ("date", datetime.date(2020, 1, 2), False),
        ("time", datetime.time(3, 4, 5, 6), False),
        ("decimal", decimal.Decimal("3.14159265358979323846264338327950288"), False),
        ("uuid", uuid.UUID("12345678-1234-5678-1234-567812345678"), False),
        ("array int", array.array("i", [1, -2, 3]), False),
        ("array unicode", array.array("u", "text"), False),
        ("uri PYRO tcp", core.URI("PYRO:example.thing@localhost:9999")),
        ("uri PYRO ipv6", core.URI("PYRO:obj_1@[::1]:51234")),
        ("uri PYRO unix socket", core.URI("PYRO:thing@./u:/tmp/pyro.sock")),
        ("uri PYRONAME", core.URI("PYRONAME:example.greeting")),
        ("uri PYRONAME location", core.URI("PYRONAME:example.greeting@nshost:5555")),
        ("uri PYROMETA", core.URI("PYROMETA:meta.a,meta.b,meta.c@nshost")),
        ("uri in list", [core.URI("PYRO:a@h:1"), core.URI("PYRO:b@h:2")], True,
         {"marshal": not_encodable}),
        ("NamingError", errors.NamingError("unknown name: foo")),
        ("CommunicationError no args", errors.CommunicationError()),
        ("SerializeError traceback", make_exception(errors.SerializeError, "bad data",
                                                    traceback=TRACEBACK)),
        ("ValueError args", ValueError("bad value", 42, None)),
        ("ZeroDivisionError traceback", make_exception(ZeroDivisionError, "division by zero",
                                                      traceback=TRACEBACK)),
        ("KeyError attributes", make_exception(KeyError, "missing", code=7, detail={"x": [1]})),
        ("custom exception class", make_exception(type("InsufficientFunds", (Exception,),
                                                       {"__module__": "bank"}), "broke")),
        ("error in list", [ValueError("inner")], True, {"marshal": not_encodable}),
        ("proxy", make_proxy()),
        ("exception wrapper", core._ExceptionWrapper(make_exception(
            TypeError, "wrong type", traceback=TRACEBACK))),
        ("registered class", Point(1, [2.5, "y"])),
        ("unregistered class", Thing(), False),
        ("dict of class objects", {"p": Point(0, 0), "u": core.URI("PYRO:x@h:1")}, True,
         {"marshal": not_encodable}),
    ]
    result = []
    for case in cases:
        name, value = case[0], case[1]
        encodable = case[2] if len(case) > 2 else True
        overrides = case[3] if len(case) > 3 else {}
        result.append((name, value, encodable, overrides))
    return result


def exception_entry(error):
    """How a Python exception is recorded: its class name (module-qualified outside builtins and
    Pyro5.errors) and its message."""
    cls = type(error)
    name = cls.__name__
    if cls.__module__ not in ("builtins", "Pyro5.errors"):
        name = cls.__module__ + "." + name
    return {"error": name, "message": str(error)}


def tolerant_loads(ser, data, classname):
    """Decodes with a stand-in class for an exception class Pyro5 does not know: what a decoder
    that keeps unknown remote exceptions (as ours does, with RemoteError) yields."""
    module, _, short = classname.rpartition(".")
    standin = type(short, (Exception,), {"__module__": module})
    SerializerBase.register_dict_to_class(
        classname, lambda _name, d: SerializerBase.make_exception(standin, d))
    try:
        return ser.loads(data)
    finally:
        SerializerBase.unregister_dict_to_class(classname)


def msgpack_lenient_loads(data):
    """Pyro5's msgpack loads without strict_map_key: what a tolerant decoder yields."""
    ser = serializers["msgpack"]
    return msgpack.unpackb(data, raw=False, object_hook=ser.object_hook, ext_hook=ser.ext_hook,
                           strict_map_key=False)


def serializer_entry(name, value):
    ser = serializers[name]
    try:
        data = ser.dumps(value)
    except Exception as error:  # Pyro5 refuses the value: record how
        return exception_entry(error)
    entry = {"data": b64(data)}
    if name == "marshal":
        canonical = marshal_canonical(data)
        if not same_tag(tag(marshal.loads(canonical)), tag(marshal.loads(data))):
            raise AssertionError("marshal canonical form differs: %r" % (value,))
        if canonical != data:
            entry["canonical"] = b64(canonical)
    try:
        entry["decoded"] = tag(ser.loads(data), decoded=True, serpent=(name == "serpent"))
    except Exception as error:
        entry["loadsError"] = exception_entry(error)
        unknown = "unsupported serialized class: "
        if isinstance(error, errors.SerializeError) and str(error).startswith(unknown) \
                and b"__exception__" in data:
            classname = str(error)[len(unknown):]
            entry["decoded"] = tag(tolerant_loads(ser, data, classname), decoded=True,
                                   serpent=(name == "serpent"))
            entry["note"] = "Pyro5 refuses unknown exception classes; decoded is the " \
                            "tolerant result (a RemoteError in TypeScript)"
        if name == "msgpack" and isinstance(error, ValueError):
            try:
                entry["decoded"] = tag(msgpack_lenient_loads(data), decoded=True)
                entry["note"] = "Pyro5 refuses non-str map keys (strict_map_key); " \
                                "decoded is the tolerant result"
            except Exception:
                pass
    return entry


def value_vectors():
    vectors = []
    for name, value, encodable, overrides in value_cases():
        case = {"name": name, "value": tag(value), "encodable": encodable, "serializers": {}}
        for ser_name in SERIALIZER_NAMES:
            entry = serializer_entry(ser_name, value)
            entry.update(overrides.get(ser_name, {}))
            case["serializers"][ser_name] = entry
        vectors.append(case)
    return vectors


# ---------------------------------------------------------------------------------------------
# Calls.

def call_cases():
    """(name, objectId, method, vargs, kwargs, encodable) of every call vector."""
    return [
        ("no args", "example.thing", "ping", (), {}, True),
        ("mixed args", "example.thing", "echo",
         (1, "two", 3.5, None, True, [1, 2], {"k": "v"}, (7, 8)), {}, True),
        ("kwargs", "example.thing", "configure", ("a",),
         {"x": 1, "y": [1, 2], "z": {"n": None}, "w": 2.0}, True),
        ("list args", "Pyro.Daemon", "get_metadata", ["example.thing"], {}, True),
        ("None kwargs", "example.thing", "__getattr__", ("size",), None, False),
        ("bytes arg", "example.thing", "store", (b"\x00\x01\xff",), {}, True),
        ("uri and error args", "example.thing", "relay",
         (core.URI("PYRO:x@h:1"), ValueError("bad")), {"u": core.URI("PYRONAME:n")}, True),
        ("registered class arg", "example.thing", "draw", (Point(3, 4),), {}, True),
        ("big numbers", "example.thing", "compute", (2**64, -2**63 - 1, 1e300, -0.0), {}, True),
        ("unicode names", "obj.\u00e9\u4e2d", "m\u00e9thode", ("\U0001F600",), {"cl\u00e9": 1},
         True),
    ]


def call_tag(obj, method, vargs, kwargs, serpent=False, decoded=False):
    return {"objectId": obj, "method": method, "args": tag(vargs, decoded, serpent),
            "kwargs": tag(kwargs, decoded, serpent)}


def contains_ext(value):
    if isinstance(value, msgpack.ExtType):
        return True
    if isinstance(value, (list, tuple)):
        return any(contains_ext(v) for v in value)
    if isinstance(value, dict):
        return any(contains_ext(v) for v in value.values())
    return False


def call_entry(name, obj, method, vargs, kwargs):
    ser = serializers[name]
    try:
        data = ser.dumpsCall(obj, method, vargs, kwargs)
    except Exception as error:
        return exception_entry(error)
    entry = {"data": b64(data)}
    if name == "marshal":
        canonical = marshal_canonical(data)
        if canonical != data:
            entry["canonical"] = b64(canonical)
    try:
        d_obj, d_method, d_vargs, d_kwargs = ser.loadsCall(data)
    except Exception as error:
        entry["loadsError"] = exception_entry(error)
        return entry
    if name == "msgpack" and (contains_ext(d_vargs) or contains_ext(d_kwargs)):
        # Pyro5's msgpack loadsCall forgets the ext_hook: Python sees ExtType objects there.
        full = ser.loads(data)
        d_vargs, d_kwargs = full[2], full[3]
        entry["note"] = "Pyro5's msgpack loadsCall has no ext_hook (Python sees ExtType); " \
                        "decoded uses the ext hook of loads"
    entry["decoded"] = call_tag(d_obj, d_method, d_vargs, d_kwargs, serpent=(name == "serpent"),
                                decoded=True)
    return entry


def call_vectors():
    vectors = []
    for name, obj, method, vargs, kwargs, encodable in call_cases():
        case = {"name": name, "value": call_tag(obj, method, vargs, kwargs),
                "encodable": encodable, "serializers": {}}
        for ser_name in SERIALIZER_NAMES:
            case["serializers"][ser_name] = call_entry(ser_name, obj, method, vargs, kwargs)
        vectors.append(case)
    return vectors


# ---------------------------------------------------------------------------------------------
# Wire messages.

CORRELATION_ID = uuid.UUID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")


def pseudo_random_bytes(count, seed=12345):
    """Deterministic incompressible-looking bytes (a linear congruential generator)."""
    out = bytearray()
    state = seed
    for _ in range(count):
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        out.append((state >> 16) & 0xFF)
    return bytes(out)


def message_cases():
    """(name, type, flags, seq, serializer id, payload, annotations, compression, corr id)."""
    serpent = serializers["serpent"]
    handshake = serpent.dumps({"handshake": "hello", "object": "example.thing"})
    call = serializers["json"].dumpsCall("example.thing", "echo", ("hi",), {})
    result = serializers["marshal"].dumps([1, 2, 3])
    long_text = ("The quick brown fox jumps over the lazy dog. " * 6).encode()
    error = serpent.dumps(ValueError("nope"))
    ann = {"CORR": b"\x01\x02\x03\x04", "HMAC": bytes(range(32)), "XTRA": b""}
    m = protocol
    return [
        ("connect", m.MSG_CONNECT, 0, 1, 1, handshake, {}, False, None),
        ("connect-ok", m.MSG_CONNECTOK, 0, 1, 1, serpent.dumps({"meta": "data"}), {}, False, None),
        ("connect-fail", m.MSG_CONNECTFAIL, 0, 1, 1, serpent.dumps("refused"), {}, False, None),
        ("invoke", m.MSG_INVOKE, 0, 2, 3, call, {}, False, None),
        ("invoke oneway", m.MSG_INVOKE, m.FLAGS_ONEWAY, 3, 3, call, {}, False, None),
        ("invoke batch", m.MSG_INVOKE, m.FLAGS_BATCH, 4, 3, call, {}, False, None),
        ("invoke keep serialized", m.MSG_INVOKE, m.FLAGS_KEEPSERIALIZED, 5, 3, call, {}, False,
         None),
        ("result", m.MSG_RESULT, 0, 2, 2, result, {}, False, None),
        ("result exception", m.MSG_RESULT, m.FLAGS_EXCEPTION, 6, 1, error, {}, False, None),
        ("result item stream", m.MSG_RESULT, m.FLAGS_ITEMSTREAMRESULT, 7, 2, result, {}, False,
         None),
        ("ping", m.MSG_PING, 0, 0, 42, b"ping", {}, False, None),
        ("empty payload", m.MSG_RESULT, 0, 1, 1, b"", {}, False, None),
        ("seq 0", m.MSG_INVOKE, 0, 0, 1, b"x", {}, False, None),
        ("seq 65535", m.MSG_INVOKE, 0, 65535, 1, b"x", {}, False, None),
        ("all flags but compressed", m.MSG_RESULT, 0x7D, 9, 4, b"flags", {}, False, None),
        ("compressed flag on input cleared", m.MSG_RESULT, m.FLAGS_COMPRESSED, 10, 1, b"small",
         {}, True, None),
        ("corr id flag without context", m.MSG_INVOKE, m.FLAGS_CORR_ID, 11, 1, b"x", {}, False,
         None),
        ("annotations", m.MSG_INVOKE, 0, 12, 1, call, ann, False, None),
        ("one annotation", m.MSG_RESULT, 0, 13, 4, b"", {"ABCD": b"annotation"}, False, None),
        ("correlation id", m.MSG_INVOKE, 0, 14, 3, call, {}, False, CORRELATION_ID),
        ("correlation id and annotations", m.MSG_RESULT, m.FLAGS_EXCEPTION, 15, 1, error, ann,
         False, CORRELATION_ID),
        ("payload 100 not compressed", m.MSG_RESULT, 0, 16, 1, long_text[:100], {}, True, None),
        ("payload 101 compressed", m.MSG_RESULT, 0, 17, 1, long_text[:101], {}, True, None),
        ("long payload uncompressed", m.MSG_RESULT, 0, 18, 1, long_text, {}, False, None),
        ("long payload compressed", m.MSG_RESULT, 0, 19, 1, long_text, {}, True, None),
        ("incompressible payload compressed", m.MSG_RESULT, 0, 20, 4, pseudo_random_bytes(300),
         {}, True, None),
        ("compressed with annotations and corr id", m.MSG_INVOKE, m.FLAGS_ONEWAY, 21, 2,
         long_text, ann, True, CORRELATION_ID),
    ]


def sending_message(mtype, flags, seq, ser_id, payload, annotations, compression, corr_id):
    config.COMPRESSION = compression
    callcontext.current_context.correlation_id = corr_id
    try:
        return protocol.SendingMessage(mtype, flags, seq, ser_id, payload, annotations)
    finally:
        config.COMPRESSION = False
        callcontext.current_context.correlation_id = None


def received_fields(data):
    """Parses bytes as Pyro5's recv_stub does, returning the message fields or the error."""
    size = protocol._header_size
    try:
        protocol.ReceivingMessage.validate(data[:6])
        msg = protocol.ReceivingMessage(data[:size])
        msg.add_payload(data[size:])
    except Exception as error:
        return {"error": exception_entry(error)}
    return {"fields": {
        "type": msg.type, "flags": msg.flags, "seq": msg.seq, "serializerId": msg.serializer_id,
        "dataSize": msg.data_size, "annotationsSize": msg.annotations_size,
        "annotations": {k: b64(v) for k, v in msg.annotations.items()},
        "correlationId": bytes(msg.corr_id).hex(), "data": b64(msg.data),
    }}


def message_vectors():
    sent = []
    outputs = {}
    for name, mtype, flags, seq, ser_id, payload, anns, compression, corr in message_cases():
        msg = sending_message(mtype, flags, seq, ser_id, payload, anns, compression, corr)
        outputs[name] = msg.data
        sent.append({
            "name": name,
            "input": {"type": mtype, "flags": flags, "seq": seq, "serializerId": ser_id,
                      "payload": b64(payload), "annotations": {k: b64(v) for k, v in anns.items()},
                      "compression": compression,
                      "correlationId": corr.bytes.hex() if corr else None},
            "output": b64(msg.data),
            "outputFlags": msg.flags,
        })
    too_large = None
    max_size = config.MAX_MESSAGE_SIZE
    config.MAX_MESSAGE_SIZE = 50
    try:
        sending_message(protocol.MSG_RESULT, 0, 1, 1, b"x" * 51, {}, False, None)
    except Exception as error:
        too_large = exception_entry(error)
    finally:
        config.MAX_MESSAGE_SIZE = max_size
    sent.append({"name": "too large", "maxMessageSize": 50,
                 "input": {"type": protocol.MSG_RESULT, "flags": 0, "seq": 1, "serializerId": 1,
                           "payload": b64(b"x" * 51), "annotations": {}, "compression": False,
                           "correlationId": None},
                 "error": too_large})

    received = []
    for name in ("connect", "ping", "annotations", "correlation id and annotations",
                 "long payload compressed", "incompressible payload compressed",
                 "compressed with annotations and corr id", "all flags but compressed",
                 "seq 65535", "empty payload"):
        data = outputs[name]
        received.append({"name": name, "data": b64(data), **received_fields(data)})
    good = outputs["invoke"]
    broken = [
        ("bad tag", b"PYRX" + good[4:]),
        ("bad version", good[:4] + (501).to_bytes(2, "big") + good[6:]),
        ("bad magic", good[:38] + b"\x00\x00" + good[40:]),
        ("payload shorter than header says", good[:-1]),
        ("payload longer than header says", good + b"!"),
        ("bad compressed data", bytes(_with_flags(good, protocol.FLAGS_COMPRESSED))),
    ]
    for name, data in broken:
        received.append({"name": name, "data": b64(data), **received_fields(data)})
    return sent, received


def _with_flags(message, flags):
    data = bytearray(message)
    data[8:10] = (int.from_bytes(data[8:10], "big") | flags).to_bytes(2, "big")
    return data


# ---------------------------------------------------------------------------------------------

def write_json(filename, content):
    path = os.path.join(TESTDATA, filename)
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        json.dump(content, out, indent=1, ensure_ascii=True)
        out.write("\n")
    return path


def main():
    assert Pyro5.__version__.startswith("5.15"), Pyro5.__version__
    assert msgpack.version[0] == 1, msgpack.version
    os.makedirs(TESTDATA, exist_ok=True)
    config.COMPRESSION = False
    config.SERPENT_BYTES_REPR = False
    values = {"pyro5": Pyro5.__version__, "msgpack": ".".join(map(str, msgpack.version)),
              "python": "%d.%d" % sys.version_info[:2],
              "cases": value_vectors(), "calls": call_vectors()}
    sent, received = message_vectors()
    messages = {"pyro5": Pyro5.__version__, "protocolVersion": protocol.PROTOCOL_VERSION,
                "headerSize": protocol._header_size, "zlibLevel": 4, "compressAbove": 100,
                "sent": sent, "received": received}
    for path in (write_json("values.json", values), write_json("messages.json", messages)):
        print("wrote", os.path.relpath(path, ROOT), file=sys.stderr)
    print("values: %d cases, %d calls; messages: %d sent, %d received"
          % (len(values["cases"]), len(values["calls"]), len(sent), len(received)), file=sys.stderr)


if __name__ == "__main__":
    main()
