"""
A Python Pyro5 client process of the benchmark (started by bench/main.ts with one JSON argument,
the same ClientConfig as bench/deno_client.ts, mode "pyro"). Runs the asked workloads one after
another and prints one JSON line per workload: {"workload", "ops", "seconds", "rate"} (plus
"p50Us"/"p99Us" for "small"), {"workload", "na"} or {"workload", "error"}.
Needs PYTHONPATH of the Pyro5 peer (scripts/install_peer.sh).
"""

import json
import math
import sys
import time

import Pyro5
import serpent
from Pyro5.api import BatchProxy, Proxy, locate_ns

MB = 1e6
ITERATOR_ITEMS = 10**9
NS_LOOKUP_NAME = "bench.lookup"
# The same value as SMALL_VALUE in bench/_common.ts.
SMALL_VALUE = {
    "name": "benchmark",
    "id": 12345,
    "ratio": 0.5,
    "active": True,
    "tags": ["red", "green", "blue"],
    "nested": {"x": 1, "y": -2},
    "nothing": None,
}


def not_applicable(workload, serializer):
    if serializer == "json" and workload in ("upload", "download"):
        return "json cannot carry bytes"
    if serializer == "marshal" and workload == "batch":
        return "Python Pyro5's marshal client cannot send batches (None kwargs)"
    return None


# Operations between clock reads for workloads of microseconds per operation.
FAST_STRIDE = 16
# Every how many calls of workload "small" a latency is taken.
LATENCY_SAMPLE = 8


def timed(ms, op, stride=1):
    """Runs op until ms have passed (at least once), reading the clock after every stride runs;
    returns (operations, seconds)."""
    start = time.perf_counter()
    end = start + ms / 1000
    ops = 0
    while True:
        for _ in range(stride):
            ops += op()
        if time.perf_counter() >= end:
            return ops, time.perf_counter() - start


def quantile(values, q):
    if not values:
        return float("nan")
    rank = min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))
    return values[rank]


def as_bytes(data):
    return serpent.tobytes(data) if isinstance(data, dict) else data


def rate(workload, ops, seconds, per_mb=False):
    value = ops / MB / seconds if per_mb else ops / seconds
    return {"workload": workload, "ops": ops, "seconds": seconds, "rate": value}


def wait_for_oneways(proxy, expected, limit_s):
    deadline = time.perf_counter() + limit_s
    last = -1
    while True:
        count = proxy.oneway_count()
        if count == expected or (expected < 0 and count == last):
            return count
        if time.perf_counter() > deadline:
            return count
        last = count
        time.sleep(0.02 if expected < 0 else 0.001)


def run(config, workload):
    uri = config.get("uri")
    duration = config["durationMs"]
    warmup = config["warmupMs"]
    bulk = int(config.get("bulkBytes") or 10 * MB)
    if workload == "small":
        with Proxy(uri) as proxy:
            proxy._pyroBind()
            timed(warmup, lambda: (proxy.echo(SMALL_VALUE), 1)[1], FAST_STRIDE)
            latencies = []
            clock = time.perf_counter
            calls = [0]

            def once():
                calls[0] += 1
                if calls[0] % LATENCY_SAMPLE:
                    proxy.echo(SMALL_VALUE)
                    return 1
                t0 = clock()
                proxy.echo(SMALL_VALUE)
                latencies.append((clock() - t0) * 1e6)
                return 1

            ops, seconds = timed(duration, once, FAST_STRIDE)
            latencies.sort()
            result = rate(workload, ops, seconds)
            result["p50Us"] = quantile(latencies, 0.5)
            result["p99Us"] = quantile(latencies, 0.99)
            return result
    if workload == "connect":
        def once():
            with Proxy(uri) as proxy:
                proxy.echo(SMALL_VALUE)
            return 1

        timed(warmup, once)
        return rate(workload, *timed(duration, once))
    if workload == "oneway":
        with Proxy(uri) as proxy:
            proxy._pyroBind()
            timed(warmup, lambda: (proxy.ping(), 1)[1], FAST_STRIDE)
            wait_for_oneways(proxy, -1, 30)
            proxy.reset_count()
            start = time.perf_counter()
            sent, _ = timed(duration, lambda: (proxy.ping(), 1)[1], FAST_STRIDE)
            counted = wait_for_oneways(proxy, sent, 30)
            return rate(workload, counted, time.perf_counter() - start)
    if workload == "batch":
        size = int(config.get("batchSize") or 100)
        with Proxy(uri) as proxy:
            proxy._pyroBind()

            def once():
                with BatchProxy(proxy) as batch:
                    for _ in range(size):
                        batch.echo(SMALL_VALUE)
                    n = sum(1 for _ in batch())
                if n != size:
                    raise RuntimeError("batch gave %d results" % n)
                return size

            timed(warmup, once)
            return rate(workload, *timed(duration, once))
    if workload == "upload":
        data = (bytes(range(256)) * (bulk // 256 + 1))[:bulk]
        with Proxy(uri) as proxy:
            proxy._pyroBind()

            def once():
                n = proxy.upload(data)
                if n != bulk:
                    raise RuntimeError("upload: server got %d bytes" % n)
                return bulk

            timed(min(warmup, 1), once)
            return rate(workload, *timed(duration, once), per_mb=True)
    if workload == "download":
        with Proxy(uri) as proxy:
            proxy._pyroBind()

            def once():
                data = as_bytes(proxy.download(bulk))
                if len(data) != bulk:
                    raise RuntimeError("download: wrong data")
                return bulk

            timed(min(warmup, 1), once)
            return rate(workload, *timed(duration, once), per_mb=True)
    if workload == "iterator":
        with Proxy(uri) as proxy:
            proxy._pyroBind()
            stream = proxy.iterate(ITERATOR_ITEMS)
            timed(warmup, lambda: (next(stream), 1)[1], FAST_STRIDE)
            result = rate(workload, *timed(duration, lambda: (next(stream), 1)[1], FAST_STRIDE))
            stream.close()
            return result
    if workload == "ns":
        with locate_ns(config["nsHost"], config["nsPort"]) as ns:
            lookup = lambda: (ns.lookup(NS_LOOKUP_NAME), 1)[1]  # noqa: E731
            timed(warmup, lookup, FAST_STRIDE)
            return rate(workload, *timed(duration, lookup, FAST_STRIDE))
    raise ValueError("unknown workload " + workload)


def main():
    config = json.loads(sys.argv[1])
    serializer = config["serializer"]
    Pyro5.config.SERIALIZER = serializer
    if config.get("tls"):
        Pyro5.config.SSL = True
        Pyro5.config.SSL_CACERTS = config["tls"] + "/ca.pem"
    for workload in config.get("workloads", []):
        reason = not_applicable(workload, serializer)
        if reason:
            result = {"workload": workload, "na": reason}
        else:
            try:
                result = run(config, workload)
            except Exception as error:  # reported, the next workload still runs
                result = {"workload": workload, "error": "%s: %s" % (type(error).__name__, error)}
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
