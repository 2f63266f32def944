"""
A Python Pyro5 client making many calls (tests/robustness_test.ts).

Usage: python3 load_client.py <uri of TestService> <calls> <serializer>
Prints one JSON line: {"ok": bool, "calls": n, "seconds": elapsed, "error": text}.
"""

import json
import sys
import time

from Pyro5.api import Proxy, config

uri, calls, serializer = sys.argv[1], int(sys.argv[2]), sys.argv[3]
config.SERIALIZER = serializer
result = {"ok": False, "calls": 0, "seconds": 0.0, "error": ""}
start = time.time()
try:
    with Proxy(uri) as proxy:
        proxy._pyroTimeout = 30
        for i in range(calls):
            if proxy.add(i, 1) != i + 1:
                raise AssertionError("wrong result at call %d" % i)
            result["calls"] += 1
    result["ok"] = True
except Exception as x:
    result["error"] = repr(x)
result["seconds"] = time.time() - start
print(json.dumps(result), flush=True)
