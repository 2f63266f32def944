"""
The Python Pyro5 side of tests/interop/calling_interop_test.ts: the calling model (auto proxies,
callbacks, instance modes, call context, blobs, reconnects, retries) across Python and Deno.

Usage:
  python3 -u calling_peer.py server [port] [commtimeout]
      Serves the objects below; prints "location: 127.0.0.1:<port>", then serves until killed.
  python3 -u calling_peer.py client <location of the Deno daemon> <serializer>
      Runs the checks against the Deno daemon's objects; prints one JSON line per check.
  python3 -u calling_peer.py reconnect <uri> <serializer>
      Calls, then waits for a line on stdin (the daemon was restarted), then reconnects and
      calls again; prints JSON lines.
  python3 -u calling_peer.py retry <uri> <serializer>
      Calls with and without MAX_RETRIES against a daemon that drops idle connections.
"""

import json
import sys
import threading
import time
import traceback
import uuid

from Pyro5 import errors, serializers
from Pyro5.api import (Daemon, Proxy, SerializedBlob, behavior, callback, config, expose,
                       oneway, register_dict_to_class)
from Pyro5.callcontext import current_context

results = []


def report(name, fn):
    try:
        detail = fn()
        print(json.dumps({"name": name, "ok": True, "detail": repr(detail)}), flush=True)
    except Exception:
        print(json.dumps({"name": name, "ok": False, "detail": traceback.format_exc()}), flush=True)


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


# ---------------------------------------------------------------- objects served by Python

@expose
class Thingy:
    def __init__(self, number):
        self.number = number

    def speak(self, message):
        return "Thingy %d says: %s" % (self.number, message)

    def getNumber(self):
        return self.number


@expose
class Factory:
    def createSomething(self, number):
        thing = Thingy(number)
        self._pyroDaemon.register(thing)
        return thing

    def useThing(self, thing, message):
        with thing:
            return thing.speak(message)


@expose
class Worker:
    def __init__(self):
        self.kept = []

    def work(self, listener, steps):
        with listener:
            for i in range(1, steps + 1):
                listener.progress(i)
        return "worked %d steps" % steps

    def apply(self, fn, *args):
        with fn:
            return fn.__call__(*args)

    def provoke(self, listener):
        try:
            listener.explode()
            return "no error"
        except Exception as x:
            return "%s: %s" % (type(x).__name__, x)

    def keep(self, listener):
        self.kept.append(listener)
        return len(self.kept)

    def notifyKept(self, message):
        outcomes = []
        for listener in self.kept:
            listener._pyroClaimOwnership()
            try:
                outcomes.append(listener.progress(message))
            except Exception as x:
                outcomes.append("%s: %s" % (type(x).__name__, x))
        return outcomes

    @oneway
    def later(self, listener, message):
        time.sleep(0.02)
        listener._pyroClaimOwnership()
        with listener:
            listener.progress(message)


def annotation_text(annotations):
    return {k: bytes(v).decode() for k, v in annotations.items()}


@expose
class ContextProbe:
    def describe(self):
        current_context.response_annotations["XPYR"] = b"from python"
        return {
            "correlation": current_context.correlation_id.hex,
            "annotations": annotation_text(current_context.annotations),
        }

    def forward(self, uri):
        # A Python proxy sends the thread's current correlation id: the incoming one.
        with Proxy(uri) as other:
            return other.describe()


@expose
class Counted:
    created = 0

    def __init__(self):
        Counted.created += 1
        self.ident = Counted.created

    def msg(self):
        return self.ident


@behavior(instance_mode="single")
@expose
class Single(Counted):
    pass


@behavior(instance_mode="session")
@expose
class Session(Counted):
    pass


@behavior(instance_mode="percall")
@expose
class PerCall(Counted):
    pass


@behavior(instance_mode="single")
@expose
class Dispatcher:
    """Pyro5's blob-dispatch example: forwards blobs without deserializing them."""
    def __init__(self):
        self.listeners = {}

    def register(self, topic, listener):
        self.listeners.setdefault(topic, []).append(listener)

    def process_blob(self, blob):
        listeners = self.listeners.get(blob.info, [])
        for listener in listeners:
            listener._pyroClaimOwnership()
            listener.process_blob(blob)
        return len(listeners)


@expose
class Calc:
    def __init__(self):
        self.order = []

    def add(self, a, b):
        return a + b

    def record(self, i, seconds):
        time.sleep(seconds)
        self.order.append(i)
        return i

    def recorded(self):
        order, self.order = self.order, []
        return order

    def correlation(self):
        return current_context.correlation_id.hex


def serve(port, commtimeout):
    if commtimeout:
        config.COMMTIMEOUT = commtimeout
    daemon = Daemon(host="127.0.0.1", port=port)
    daemon.register(Factory(), "factory")
    daemon.register(Worker(), "worker")
    daemon.register(ContextProbe(), "probe")
    daemon.register(Single, "single")
    daemon.register(Session, "session")
    daemon.register(PerCall, "percall")
    daemon.register(Dispatcher, "dispatcher")
    daemon.register(Calc(), "calc")
    print("location:", daemon.locationStr, flush=True)
    daemon.requestLoop()


# ---------------------------------------------------------------- Python client of a Deno daemon

class Listener:
    def __init__(self):
        self.seen = []

    @expose
    def progress(self, step):
        self.seen.append(step)
        return "got %s" % step

    @expose
    @callback
    def explode(self):
        raise ValueError("python callback exploded")


CUSTOM = "blobtest.CustomData"


class BlobListener:
    def __init__(self):
        self.received = []

    @expose
    def process_blob(self, blob):
        message = blob._data
        if message.serializer_id == 3:
            # Pyro5's deserialized() unpacks json's call dict as if it were a tuple (its keys):
            # read the arguments slot the way it is meant.
            data = serializers.serializers_by_id[3].loads(message.data)["params"]
        else:
            data = blob.deserialized()
        self.received.append((blob.info, data))
        return "ok"


def client(location, serializer):
    config.SERIALIZER = serializer
    uri = lambda name: "PYRO:%s@%s" % (name, location)  # noqa: E731
    # Our own daemon, for callbacks, in a background thread.
    own = Daemon(host="127.0.0.1")
    threading.Thread(target=own.requestLoop, daemon=True).start()
    register_dict_to_class(CUSTOM, lambda name, d: {"custom": d["value"]})

    def own_object(obj):
        # Pyro5's marshal serializer has no auto proxies: send an explicit proxy there.
        own.register(obj)
        return own.proxyFor(obj) if serializer == "marshal" else obj

    def autoproxy():
        with Proxy(uri("factory")) as factory:
            thing = factory.createSomething(3)
            expect(isinstance(thing, Proxy), repr(thing))
            with thing:
                expect(thing.speak("hi") == "Thingy 3 says: hi", "speak")
            many = factory.createMany(2)["things"]
            expect([t.getNumber() for t in many] == [1, 2], "many")
            return repr(thing)
    report("autoproxy: a Deno factory's objects arrive as Pyro5 proxies", autoproxy)

    def callbacks():
        listener = Listener()
        ref = own_object(listener)
        with Proxy(uri("worker")) as worker:
            expect(worker.work(ref, 3) == "worked 3 steps", "work")
            expect(listener.seen == [1, 2, 3], listener.seen)
            worker.later(ref, "later")
            for _ in range(200):
                if len(listener.seen) == 4:
                    break
                time.sleep(0.01)
            expect(listener.seen[3] == "later", listener.seen)
            return listener.seen
    report("callbacks: the Deno server calls back into this Python client", callbacks)

    def failing_callback():
        listener = Listener()
        with Proxy(uri("worker")) as worker:
            outcome = worker.provoke(own_object(listener))
            expect(outcome == "ValueError: python callback exploded", outcome)
            return outcome
    report("callbacks: a failing @callback in Python reaches the Deno caller", failing_callback)

    def function_from_deno():
        with Proxy(uri("worker")) as worker:
            add5 = worker.adder(5)
            expect(isinstance(add5, Proxy) and "__call__" in add5._pyroMethods, repr(add5))
            with add5:
                return add5.__call__(37)
    report("function callbacks: a Deno function arrives as a callable Pyro5 proxy",
           lambda: expect(function_from_deno() == 42, "not 42") or 42)

    def callable_object():
        with Proxy(uri("adder")) as adder:
            return adder.__call__(20, 22)
    report("callable objects: __call__ is exposed by the Deno daemon",
           lambda: expect(callable_object() == 42, "not 42") or 42)

    def instance_modes():
        seen = {}
        for mode in ("percall", "session", "single"):
            ids = []
            for _ in range(2):
                with Proxy(uri(mode)) as p:
                    ids.append([p.msg()[0] for _ in range(3)])
            seen[mode] = ids
        p1, p2 = seen["percall"]
        expect(len(set(p1 + p2)) == 6, seen)
        s1, s2 = seen["session"]
        expect(len(set(s1)) == 1 and len(set(s2)) == 1 and s1[0] != s2[0], seen)
        g1, g2 = seen["single"]
        expect(len(set(g1 + g2)) == 1, seen)
        return seen
    report("instance modes: single, session, percall seen from Python", instance_modes)

    def correlation_and_annotations():
        ident = uuid.uuid4()
        current_context.correlation_id = ident
        current_context.annotations = {"XYZZ": b"from python"}
        try:
            with Proxy(uri("probe")) as probe:
                described = probe.describe()
                expect(described["correlation"] == ident.hex, (described, ident.hex))
                expect(described["annotations"] == {"XYZZ": "from python"}, described)
                response = annotation_text(current_context.response_annotations)
                expect(response == {"XRES": "from method", "DDAA": "set by the daemon"}, response)
                # The Deno method calls another Deno object: the id travels on.
                forwarded = probe.forward(uri("probe2"))
                expect(forwarded["correlation"] == ident.hex, forwarded)
                return described
        finally:
            current_context.correlation_id = None
            current_context.annotations = {}
    report("call context: correlation id and annotations, Python to Deno and back",
           correlation_and_annotations)

    def generated_correlation():
        with Proxy(uri("probe")) as probe:
            first = probe.describe()["correlation"]
            second = probe.describe()["correlation"]
            expect(uuid.UUID(first).version == 4 and first != second, (first, second))
            return first
    report("call context: the Deno daemon makes a correlation id when there is none",
           generated_correlation)

    def blobs():
        listener = BlobListener()
        with Proxy(uri("dispatcher")) as dispatcher:
            topic = "topic-" + serializer
            dispatcher.register(topic, own_object(listener))
            payload = {"__class__": CUSTOM, "value": [1, "two"]}
            expected = {"custom": [1, "two"]}
            if serializer == "marshal":
                # Pyro5's marshal dumpsCall iterates the blob's data: give it a sequence.
                payload = expected = [1, "two"]
            count = dispatcher.process_blob(SerializedBlob(topic, payload))
            expect(count == 1, count)
            expect(listener.received == [(topic, expected)], listener.received)
            return listener.received
    report("SerializedBlob: Python -> Deno dispatcher -> Python listener, undecoded", blobs)

    own.shutdown()


def reconnect(target, serializer):
    config.SERIALIZER = serializer
    proxy = Proxy(target)
    report("reconnect: first call", lambda: proxy.add(1, 2))
    print(json.dumps({"name": "waiting", "ok": True, "detail": ""}), flush=True)
    sys.stdin.readline()

    def after_restart():
        try:
            proxy.add(2, 3)
            raise AssertionError("the old connection still worked")
        except errors.ConnectionClosedError:
            pass
        proxy._pyroReconnect()
        return proxy.add(3, 4)
    report("reconnect: after the daemon restarted on the same port",
           lambda: expect(after_restart() == 7, "not 7") or 7)


def retry(target, serializer):
    config.SERIALIZER = serializer
    config.COMMTIMEOUT = 0

    def without():
        config.MAX_RETRIES = 0
        with Proxy(target) as proxy:
            proxy.add(1, 1)
            time.sleep(0.5)  # the daemon drops the idle connection meanwhile
            try:
                proxy.add(2, 2)
                raise AssertionError("no error")
            except errors.ConnectionClosedError as x:
                return repr(x)
    report("retry: without MAX_RETRIES the dropped connection is an error", without)

    def with_retries():
        with Proxy(target) as proxy:
            proxy._pyroMaxRetries = 2
            proxy.add(1, 1)
            time.sleep(0.5)
            return proxy.add(2, 2)
    report("retry: with _pyroMaxRetries the call goes through",
           lambda: expect(with_retries() == 4, "not 4") or 4)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "server":
        serve(int(sys.argv[2]) if len(sys.argv) > 2 else 0,
              float(sys.argv[3]) if len(sys.argv) > 3 else 0.0)
    elif mode == "client":
        client(sys.argv[2], sys.argv[3])
    elif mode == "reconnect":
        reconnect(sys.argv[2], sys.argv[3])
    elif mode == "retry":
        retry(sys.argv[2], sys.argv[3])
