#!/usr/bin/env python3
"""Re-encoding peer for tests/interop/reencode_test.ts.

Reads frames on stdin, decodes each payload with Python Pyro5's serializer, encodes the result
again with the same serializer and answers with one frame on stdout, until stdin ends.

Request frame:  u32 big-endian length of the rest | u8 serializer id | u8 mode | payload
                mode 0: a value (loads, then dumps)
                mode 1: a call (loadsCall, then dumpsCall)
Reply frame:    u32 big-endian length of the rest | u8 status | body
                status 0: body is the re-encoded payload
                status 1: body is UTF-8 "ExceptionClass: message" of what Python raised

The user class testsupport.Point is registered both ways, as in scripts/gen_vectors.py.
Needs the peer on PYTHONPATH (tests/_peer.ts provides it).
"""

import struct
import sys

import Pyro5.api  # noqa: F401  (registers URI, Proxy, Daemon with the serializers)
from Pyro5.serializers import SerializerBase, serializers_by_id

MODE_VALUE = 0
MODE_CALL = 1
STATUS_OK = 0
STATUS_ERROR = 1


class Point:
    """The Python side of the TypeScript TestObject "testsupport.Point"."""

    def __init__(self, x, y):
        self.x = x
        self.y = y


SerializerBase.register_class_to_dict(
    Point, lambda p: {"__class__": "testsupport.Point", "x": p.x, "y": p.y})
SerializerBase.register_dict_to_class(
    "testsupport.Point", lambda _name, d: Point(d["x"], d["y"]))


def read_exactly(stream, count):
    """Reads count bytes, or returns None at a clean end of input."""
    chunks = []
    remaining = count
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            if remaining == count:
                return None
            raise EOFError("input ended inside a frame")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def reencode(serializer_id, mode, payload):
    serializer = serializers_by_id[serializer_id]
    if mode == MODE_VALUE:
        return serializer.dumps(serializer.loads(payload))
    if mode == MODE_CALL:
        obj, method, vargs, kwargs = serializer.loadsCall(payload)
        return serializer.dumpsCall(obj, method, vargs, kwargs)
    raise ValueError("unknown mode %d" % mode)


def error_name(error):
    cls = type(error)
    if cls.__module__ in ("builtins", "Pyro5.errors"):
        return cls.__name__
    return cls.__module__ + "." + cls.__name__


def main():
    stdin = sys.stdin.buffer
    stdout = sys.stdout.buffer
    while True:
        head = read_exactly(stdin, 4)
        if head is None:
            return
        (length,) = struct.unpack(">I", head)
        frame = read_exactly(stdin, length)
        if frame is None or length < 2:
            raise EOFError("truncated frame")
        try:
            status, body = STATUS_OK, reencode(frame[0], frame[1], frame[2:])
        except Exception as error:  # every failure goes back to the test as an error frame
            status = STATUS_ERROR
            body = ("%s: %s" % (error_name(error), error)).encode("utf-8", "replace")
        stdout.write(struct.pack(">IB", len(body) + 1, status) + body)
        stdout.flush()


if __name__ == "__main__":
    main()
