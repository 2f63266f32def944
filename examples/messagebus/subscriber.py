"""
A Python Pyro5 subscriber, written as Pyro5's messagebus example writes them (a Subscriber that
queues incoming messages, a thread that consumes them): the forecasts of one city.

    python3 examples/messagebus/subscriber.py [CITY] [COUNT]

The bus is found through the name server (PYRO_NS_HOST, PYRO_NS_PORT); this process's daemon
binds PYRO_HOST (default localhost).
"""
import datetime
import queue
import sys
import threading
import uuid

from Pyro5.api import Daemon, Proxy, SerializerBase, expose


class Message:
    """A message as the bus sends it (class name Pyro5.utils.messagebus.message)."""

    def __init__(self, msgid, created, data):
        self.msgid = msgid
        self.created = created
        self.data = data


def message_from_dict(_classname, d):
    created = datetime.datetime.strptime(d["created"], "%Y-%m-%dT%H:%M:%S.%f")
    return Message(uuid.UUID(d["msgid"]), created, d["data"])


SerializerBase.register_dict_to_class("Pyro5.utils.messagebus.message", message_from_dict)


@expose
class Subber:
    def __init__(self, count):
        self.bus = Proxy("PYRONAME:Pyro.MessageBus")
        self.received_messages = queue.Queue(maxsize=5000)
        self.count = count
        self.done = threading.Event()
        threading.Thread(target=self._consume, daemon=True).start()

    def incoming_message(self, topic, message):
        self.received_messages.put((topic, message))

    def incoming_messages(self, topic, messages):
        for message in messages:
            self.incoming_message(topic, message)

    def _consume(self):
        seen = 0
        while seen < self.count:
            topic, message = self.received_messages.get()
            print("GOT", topic, message.created.isoformat(), message.data, flush=True)
            seen += 1
        self.done.set()


city = sys.argv[1] if len(sys.argv) > 1 else "Amsterdam"
count = int(sys.argv[2]) if len(sys.argv) > 2 else sys.maxsize
topic = "weather." + city.lower()
subber = Subber(count)
daemon = Daemon()
daemon.register(subber)
subber.bus.subscribe(topic, subber)
print("Subscribed to", topic, flush=True)
threading.Thread(target=lambda: (subber.done.wait(), daemon.shutdown()), daemon=True).start()
daemon.requestLoop()
subber.bus.unsubscribe(topic, subber)
