"""
A Python message bus for the benchmark's bus row, built the way Pyro5's messagebus example
builds its bus (examples/messagebus/messagebus/messagebus.py): a MessageBus object in a Pyro5
Daemon (default thread server), a storage of topics, subscribers and pending messages (memory,
or sqlite with the data pickled, one connection per thread), and one sender thread that wakes when
a message arrives, takes every pending message of every topic, and calls each subscriber's
incoming_messages(topic, messages) in turn, then deletes what it sent. Same wire API and message
class dict as pyro-deno's bus. (Unlike the example, the sender cannot miss a wake-up.)

One JSON argument: {"storage": "memory"} or {"storage": "sqlite", "file": PATH}. Listens on
127.0.0.1 (port 0), prints one JSON line {"host", "port", "uri", "pid"}, serves until stdin closes.
"""

import datetime
import json
import os
import pickle
import sqlite3
import sys
import threading
import uuid

from Pyro5.api import Daemon, Proxy, expose, oneway

MESSAGE_CLASS = "Pyro5.utils.messagebus.message"


def message_dict(msgid, created, data):
    return {"__class__": MESSAGE_CLASS, "msgid": msgid, "created": created, "data": data}


class MemoryStorage:
    def __init__(self):
        self.topics = set()
        self.subscribers = {}  # topic -> {uri: proxy}
        self.pending = {}  # topic -> [message dict]

    def add_topic(self, topic):
        self.topics.add(topic)
        self.subscribers.setdefault(topic, {})
        self.pending.setdefault(topic, [])

    def add_subscriber(self, topic, uri):
        self.subscribers[topic][uri] = None

    def remove_subscriber(self, topic, uri):
        self.subscribers.get(topic, {}).pop(uri, None)

    def add_message(self, topic, message):
        if topic not in self.topics:
            raise KeyError(topic)
        if self.subscribers[topic]:
            self.pending[topic].append(message)

    def take_pending(self):
        taken = {t: msgs for t, msgs in self.pending.items() if msgs}
        for t in taken:
            self.pending[t] = []
        return taken, {t: list(s) for t, s in self.subscribers.items() if s}

    def delivered(self, taken):
        pass


class SqliteStorage:
    def __init__(self, file):
        self.file = file
        self.local = threading.local()
        conn = self.conn()
        conn.executescript("""
            CREATE TABLE IF NOT EXISTS Topic (id INTEGER PRIMARY KEY, topic TEXT UNIQUE NOT NULL);
            CREATE TABLE IF NOT EXISTS Message (id TEXT PRIMARY KEY, created TEXT NOT NULL,
                topic INTEGER NOT NULL REFERENCES Topic(id), msgdata BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS Subscription (id INTEGER PRIMARY KEY,
                topic INTEGER NOT NULL REFERENCES Topic(id), subscriber TEXT NOT NULL);
        """)
        conn.commit()

    def conn(self):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = sqlite3.connect(self.file)
        return conn

    def add_topic(self, topic):
        conn = self.conn()
        conn.execute("INSERT OR IGNORE INTO Topic(topic) VALUES (?)", [topic])
        conn.commit()

    def add_subscriber(self, topic, uri):
        conn = self.conn()
        conn.execute("INSERT INTO Subscription(topic, subscriber) "
                     "SELECT id, ? FROM Topic WHERE topic=?", [uri, topic])
        conn.commit()

    def remove_subscriber(self, topic, uri):
        conn = self.conn()
        conn.execute("DELETE FROM Subscription WHERE subscriber=? AND "
                     "topic=(SELECT id FROM Topic WHERE topic=?)", [uri, topic])
        conn.commit()

    def add_message(self, topic, message):
        conn = self.conn()
        row = conn.execute("SELECT id FROM Topic WHERE topic=?", [topic]).fetchone()
        if not row:
            raise KeyError(topic)
        if conn.execute("SELECT EXISTS(SELECT 1 FROM Subscription WHERE topic=?)", [row[0]]).fetchone()[0]:
            conn.execute("INSERT INTO Message(id, created, topic, msgdata) VALUES (?,?,?,?)",
                         [message["msgid"], message["created"], row[0],
                          pickle.dumps(message["data"], pickle.HIGHEST_PROTOCOL)])
        conn.commit()

    def take_pending(self):
        conn = self.conn()
        rows = conn.execute("SELECT t.topic, m.id, m.created, m.msgdata FROM Message m "
                            "JOIN Topic t ON t.id=m.topic ORDER BY m.rowid").fetchall()
        taken = {}
        for topic, msgid, created, data in rows:
            taken.setdefault(topic, []).append(message_dict(msgid, created, pickle.loads(data)))
        subs = {}
        for topic, uri in conn.execute("SELECT t.topic, s.subscriber FROM Subscription s "
                                       "JOIN Topic t ON t.id=s.topic").fetchall():
            subs.setdefault(topic, []).append(uri)
        return taken, subs

    def delivered(self, taken):
        conn = self.conn()
        conn.executemany("DELETE FROM Message WHERE id=?",
                         [[m["msgid"]] for msgs in taken.values() for m in msgs])
        conn.commit()


@expose
class MessageBus:
    def __init__(self, storage):
        self.storage = storage
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self.proxies = {}
        threading.Thread(target=self._sender, daemon=True).start()

    def add_topic(self, topic):
        with self.lock:
            self.storage.add_topic(topic)

    def topics(self):
        with self.lock:
            return set(self.storage.topics) if hasattr(self.storage, "topics") else set()

    def send(self, topic, data):
        now = datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%S.%f")
        with self.lock:
            self.storage.add_message(topic, message_dict(str(uuid.uuid4()), now, data))
            self.wake.notify()

    @oneway
    def send_no_ack(self, topic, data):
        self.send(topic, data)

    def subscribe(self, topic, subscriber):
        uri = str(subscriber._pyroUri)
        with self.lock:
            self.storage.add_topic(topic)
            self.storage.add_subscriber(topic, uri)

    def unsubscribe(self, topic, subscriber):
        with self.lock:
            self.storage.remove_subscriber(topic, str(subscriber._pyroUri))

    def _sender(self):
        while True:
            with self.lock:
                taken, subs = self.storage.take_pending()
                while not taken:
                    self.wake.wait()
                    taken, subs = self.storage.take_pending()
            for topic, messages in taken.items():
                for uri in subs.get(topic, []):
                    proxy = self.proxies.get(uri)
                    if proxy is None:
                        proxy = self.proxies[uri] = Proxy(uri)
                    try:
                        proxy.incoming_messages(topic, messages)
                    except Exception as x:  # as the example: a failing subscriber is dropped
                        print("dropping", uri, x, file=sys.stderr)
                        with self.lock:
                            self.storage.remove_subscriber(topic, uri)
            with self.lock:
                self.storage.delivered(taken)


def main():
    config = json.loads(sys.argv[1])
    storage = SqliteStorage(config["file"]) if config["storage"] == "sqlite" else MemoryStorage()
    daemon = Daemon(host="127.0.0.1", port=0)
    uri = daemon.register(MessageBus(storage), "Pyro.MessageBus")
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
