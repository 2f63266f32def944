"""A Python Pyro5 client of the soak: for DURATION seconds, connects through the name server,
calls, iterates an item stream and takes callbacks, disconnecting after every round; prints
one JSON line {"rounds", "errors", "first_error"} at the end.

    python3 _python_client.py NS_HOST NS_PORT DURATION [PAUSE_MS]
"""
import json
import random
import sys
import threading
import time

import Pyro5.api
import Pyro5.errors


class Callback:
    @Pyro5.api.expose
    @Pyro5.api.callback
    def ping(self, i):
        return i * 2


def main():
    host, port, duration = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    pause = float(sys.argv[4]) / 1000 if len(sys.argv) > 4 else 0
    daemon = Pyro5.api.Daemon(host="127.0.0.1")
    threading.Thread(target=daemon.requestLoop, daemon=True).start()
    rounds = errors = 0
    first_error = None
    end = time.time() + duration
    while time.time() < end:
        try:
            callback = Callback()
            daemon.register(callback)
            serializer = random.choice(["serpent", "json", "marshal", "msgpack"])
            Pyro5.config.SERIALIZER = serializer
            with Pyro5.api.Proxy("PYRONAME:soak.service@%s:%d" % (host, port)) as proxy:
                proxy._pyroTimeout = 10
                payload = "x" * random.choice([1, 100, 10000])
                assert proxy.echo(payload) == payload
                assert list(proxy.numbers(20)) == list(range(20))
                # An explicit proxy: Pyro5 turns a registered object into one by itself only
                # with serpent.
                assert proxy.notify(daemon.proxyFor(callback), 3) == 6
            daemon.unregister(callback)
            rounds += 1
            time.sleep(pause)
        except Exception as e:  # counted and reported, the soak goes on
            errors += 1
            first_error = first_error or "%s: %s" % (type(e).__name__, e)
            time.sleep(0.5)
    daemon.shutdown()
    print(json.dumps({"rounds": rounds, "errors": errors, "first_error": first_error}))


main()
