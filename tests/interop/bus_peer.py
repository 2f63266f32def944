"""
Message bus clients as Pyro5's messagebus example writes them (publisher.py, subscriber.py,
subscriber_manual_consume.py and the Message / Subscriber classes of messagebus.py), for the
interop tests against pyro-deno's bus. The bus is found as PYRONAME:Pyro.MessageBus (set
PYRO_NS_HOST / PYRO_NS_PORT). Every message received is printed as one JSON line.

    bus_peer.py publish TOPIC COUNT [noack|mixed] [LABEL]
                                 sends (LABEL, i) for i in range(COUNT) with send, send_no_ack,
                                 or (mixed) send_no_ack for odd i
    bus_peer.py subscribe TOPIC COUNT auto|manual [pattern]
                                 prints "ready URI", then one line per message; after COUNT
                                 messages it unsubscribes, prints "done" and exits
"""
import datetime
import json
import queue
import sys
import threading
import uuid

from Pyro5.api import Daemon, Proxy, SerializerBase, expose

BUS_NAME = "Pyro.MessageBus"
MESSAGE_CLASS = "Pyro5.utils.messagebus.message"


class Message:
    __slots__ = ("msgid", "created", "data")

    def __init__(self, msgid, created, data):
        self.msgid = msgid
        self.created = created
        self.data = data


def message_to_dict(message):
    return {
        "__class__": MESSAGE_CLASS,
        "msgid": str(message.msgid),
        "created": message.created.isoformat(),
        "data": message.data,
    }


def message_from_dict(_classname, d):
    created = datetime.datetime.strptime(d["created"], "%Y-%m-%dT%H:%M:%S.%f")
    return Message(uuid.UUID(d["msgid"]), created, d["data"])


SerializerBase.register_class_to_dict(Message, message_to_dict)
SerializerBase.register_dict_to_class(MESSAGE_CLASS, message_from_dict)


@expose
class Subscriber:
    """As the example's: received messages go to a bounded queue; auto_consume drains it."""

    def __init__(self, auto_consume=True, max_queue_size=5000):
        self.bus = Proxy("PYRONAME:" + BUS_NAME)
        self.received_messages = queue.Queue(maxsize=max_queue_size)
        if auto_consume:
            threading.Thread(target=self._consume_loop, daemon=True).start()

    def incoming_message(self, topic, message):
        self.received_messages.put((topic, message))

    def incoming_messages(self, topic, messages):
        for message in messages:
            self.incoming_message(topic, message)

    def _consume_loop(self):
        while True:
            topic, message = self.received_messages.get()
            self.consume_message(topic, message)

    def consume_message(self, topic, message):
        raise NotImplementedError("subclass should implement this")


def show(topic, message):
    assert isinstance(message, Message), type(message)
    assert isinstance(message.created, datetime.datetime)
    line = {"topic": topic, "msgid": str(message.msgid), "created": message.created.isoformat(),
            "data": message.data}
    print(json.dumps(line), flush=True)


@expose
class Printer(Subscriber):
    def __init__(self, count, on_done, **kwargs):
        self.count = count
        self.seen = 0
        self.on_done = on_done
        super().__init__(**kwargs)

    def consume_message(self, topic, message):
        show(topic, message)
        self.seen += 1
        if self.seen == self.count:
            self.on_done()


def publish(topic, count, mode, label):
    bus = Proxy("PYRONAME:" + BUS_NAME)
    bus.add_topic(topic)
    for i in range(count):
        if mode == "noack" or (mode == "mixed" and i % 2):
            bus.send_no_ack(topic, (label, i))
        else:
            bus.send(topic, (label, i))
    print("published", count, flush=True)


def subscribe(topic, count, mode, pattern):
    done = threading.Event()
    subber = Printer(count, done.set, auto_consume=(mode == "auto"))
    daemon = Daemon(host="127.0.0.1")
    uri = daemon.register(subber)
    subscribe_method = subber.bus.subscribe_pattern if pattern else subber.bus.subscribe
    if mode == "auto":
        # As subscriber.py: subscribe first, then run the request loop in this thread.
        subscribe_method(topic, subber)
        print("ready", uri, flush=True)
        threading.Thread(target=lambda: (done.wait(), daemon.shutdown()), daemon=True).start()
        daemon.requestLoop()
    else:
        # As subscriber_manual_consume.py: the daemon in a thread, our own message loop.
        threading.Thread(target=daemon.requestLoop, daemon=True).start()
        subscribe_method(topic, subber)
        print("ready", uri, flush=True)
        while subber.seen < count:
            got_topic, message = subber.received_messages.get(timeout=60)
            subber.consume_message(got_topic, message)
        daemon.shutdown()
    unsubscribe_method = subber.bus.unsubscribe_pattern if pattern else subber.bus.unsubscribe
    unsubscribe_method(topic, subber)
    print("done", flush=True)


if __name__ == "__main__":
    command, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rest = sys.argv[4:]
    if command == "publish":
        mode = next((r for r in rest if r in ("noack", "mixed")), "ack")
        labels = [r for r in rest if r not in ("noack", "mixed")]
        publish(topic, count, mode, labels[0] if labels else "py")
    elif command == "subscribe":
        subscribe(topic, count, rest[0], "pattern" in rest[1:])
    else:
        raise SystemExit("unknown command " + command)
