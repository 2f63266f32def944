"""
A Python Pyro5 test server for the Deno proxy (tests/interop/python_daemon_test.ts).

Usage: python3 -u pyro_server.py
Prints "uri: PYRO:thing@127.0.0.1:<port>" once it serves, then serves until shutdown() is called.
"""

import threading
import time

from Pyro5 import errors
from Pyro5.api import Daemon, expose, oneway
from Pyro5.callcontext import current_context


class CustomError(Exception):
    pass


CustomError.__module__ = "testmodule"  # __main__ would be refused: double underscores


@expose
class Sub:
    def name(self):
        return "sub object"


@expose
class Thing:
    def __init__(self, daemon):
        self._daemon = daemon
        self._value = 1
        self._closed_streams = 0
        self._oneway_done = 0
        self._lock = threading.Lock()
        self._sub = Sub()
        daemon.register(self._sub, "sub")

    def echo(self, value):
        return value

    def add(self, a, b):
        return a + b

    def keywords(self, a, b=2, **rest):
        return [a, b, rest]

    def types(self):
        return {
            "none": None, "bool": True, "int": 42, "big": 2**70, "float": 2.5,
            "integral_float": 2.0, "str": "ünïcødé", "list": [1, [2]], "tuple": (1, 2),
            "dict": {"nested": {"x": 1}},
        }

    def bytes_value(self):
        return b"\x00\x01\xff"

    def set_value(self):
        return {1, 2, 3}

    def complex_value(self):
        return complex(1.5, -2)

    def count(self, n):
        for i in range(n):
            yield i

    def endless(self):
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            with self._lock:
                self._closed_streams += 1

    def closed_streams(self):
        return self._closed_streams

    def fail(self):
        raise ValueError("python says no")

    def fail_key(self):
        raise KeyError("missing")

    def fail_naming(self):
        raise errors.NamingError("unknown name")

    def fail_custom(self):
        raise CustomError("custom trouble", 7)

    def slow(self, seconds):
        time.sleep(seconds)
        return "done"

    @oneway
    def oneway_slow(self, seconds):
        time.sleep(seconds)
        with self._lock:
            self._oneway_done += 1

    def oneway_done(self):
        return self._oneway_done

    def get_sub(self):
        return self._sub

    def annotations(self):
        current_context.response_annotations["XPYR"] = b"from python"
        return {k: bytes(v).decode() for k, v in current_context.annotations.items()}

    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, value):
        self._value = value

    @property
    def readonly(self):
        return "fixed"

    def _private(self):
        return "hidden"

    @oneway
    def shutdown(self):
        self._daemon.shutdown()


def main():
    daemon = Daemon(host="127.0.0.1", port=0)
    uri = daemon.register(Thing(daemon), "thing")
    print("uri:", uri, flush=True)
    daemon.requestLoop()
    daemon.close()


if __name__ == "__main__":
    main()
