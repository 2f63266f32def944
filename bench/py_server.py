"""
A Python Pyro5 server process of the benchmark (started by bench/main.ts, one JSON argument).

- {"mode": "daemon"}: a Pyro5 Daemon (default thread server) serving BenchService as
  "bench.service" (the same object as bench/deno_server.ts);
- {"mode": "ns"}: a Pyro5 name server (memory storage, no broadcast) holding "bench.lookup".

Listens on 127.0.0.1 (port 0), prints one JSON line {"host", "port", "uri", "pid"}, and serves
until its stdin is closed. Needs PYTHONPATH of the Pyro5 peer (scripts/install_peer.sh).
"""

import json
import os
import sys
import threading

import Pyro5
import serpent
from Pyro5 import nameserver
from Pyro5.api import Daemon, expose, oneway

SERVICE_ID = "bench.service"
NS_LOOKUP_NAME = "bench.lookup"


def pattern_bytes(size):
    return (bytes(range(256)) * (size // 256 + 1))[:size]


@expose
class BenchService:
    def __init__(self):
        self._oneways = 0
        self._lock = threading.Lock()
        self._blobs = {}

    def echo(self, value):
        return value

    @oneway
    def ping(self):
        with self._lock:
            self._oneways += 1

    def oneway_count(self):
        return self._oneways

    def reset_count(self):
        with self._lock:
            self._oneways = 0
        return 0

    def upload(self, data):
        if isinstance(data, dict):  # serpent sends bytes as a base64 dict
            data = serpent.tobytes(data)
        return len(data)

    def download(self, size):
        blob = self._blobs.get(size)
        if blob is None:
            blob = self._blobs[size] = pattern_bytes(size)
        return blob

    def iterate(self, count):
        for i in range(count):
            yield i


def main():
    config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {"mode": "daemon"}
    if config["mode"] == "ns":
        uri, daemon, _ = nameserver.start_ns(host="127.0.0.1", port=0, enableBroadcast=False)
        daemon.nameserver.register(NS_LOOKUP_NAME, "PYRO:%s@127.0.0.1:9999" % SERVICE_ID)
    else:
        if config.get("tls"):
            Pyro5.config.SSL = True
            Pyro5.config.SSL_SERVERCERT = config["tls"] + "/server.pem"
            Pyro5.config.SSL_SERVERKEY = config["tls"] + "/server.key"
        daemon = Daemon(host="127.0.0.1", port=0)
        uri = daemon.register(BenchService(), SERVICE_ID)
    threading.Thread(target=daemon.requestLoop, daemon=True).start()
    print(json.dumps({"host": uri.host, "port": uri.port, "uri": str(uri), "pid": os.getpid()}),
          flush=True)
    try:
        while sys.stdin.buffer.read(256):
            pass
    finally:
        daemon.shutdown()
    os._exit(0)


if __name__ == "__main__":
    main()
