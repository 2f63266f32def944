"""
A Python Pyro5 server process of the benchmark (started by bench/main.ts, one JSON argument).

- {"mode": "daemon"}: a Pyro5 Daemon (default thread server) serving BenchService as
  "bench.service" (the same object as bench/deno_server.ts);
- {"mode": "ns"}: a Pyro5 name server (memory storage, no broadcast) holding "bench.lookup";
- {"mode": "gateway"}: Pyro5's HTTP gateway (its WSGI app on wsgiref, as pyro5-httpgateway runs
  it) in front of a name server and a daemon serving BenchService as "http.bench"; the printed
  "uri" is the gateway's http://127.0.0.1:PORT/pyro/.

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

    def http_echo(self, message):
        return message

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


def serve_gateway():
    from wsgiref.simple_server import make_server
    from Pyro5.utils import httpgateway
    ns_uri, ns_daemon, _ = nameserver.start_ns(host="127.0.0.1", port=0, enableBroadcast=False)
    threading.Thread(target=ns_daemon.requestLoop, daemon=True).start()
    daemon = Daemon(host="127.0.0.1", port=0)
    uri = daemon.register(BenchService(), SERVICE_ID)
    ns_daemon.nameserver.register("http.bench", str(uri))
    threading.Thread(target=daemon.requestLoop, daemon=True).start()
    Pyro5.config.NS_HOST = "127.0.0.1"
    Pyro5.config.NS_PORT = ns_uri.port
    # What pyro5-httpgateway's main() sets up, with its defaults.
    httpgateway.pyro_app.ns_regex = r"http\."
    httpgateway.pyro_app.cors = "*"
    httpgateway.pyro_app.gateway_key = b""
    server = make_server("127.0.0.1", 0, httpgateway.pyro_app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.socket.getsockname()[:2]
    print(json.dumps({"host": host, "port": port, "uri": "http://%s:%d/pyro/" % (host, port),
                      "pid": os.getpid()}), flush=True)
    while sys.stdin.buffer.read(256):
        pass
    os._exit(0)


def main():
    config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {"mode": "daemon"}
    if config["mode"] == "gateway":
        serve_gateway()
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
