"""Pyro5's user session client (threads), with the daemon's location from argv, no prompts."""
import sys
import threading

import Pyro5.api

location = sys.argv[1]
SESSION = "PYRO:example.usersession.sessiondb@" + location
SINGLETON = "PYRO:example.usersession.singletondb@" + location


def get_user_token():
    return "user123"


class DbAccessor(threading.Thread):
    def __init__(self, uri):
        super(DbAccessor, self).__init__()
        self.uri = uri
        self.daemon = True

    def run(self):
        proxy = Pyro5.api.Proxy(self.uri)
        for i in range(3):
            try:
                Pyro5.api.current_context.annotations = {"USER": get_user_token().encode("utf-8")}
                proxy.store("number", 100 + i)
                num = proxy.retrieve("number")
                print("[%s] num=%s" % (self.name, num), flush=True)
            except Exception as x:
                print("[%s] %s" % (self.name, x), flush=True)


for title, uri in (("Session-Bound", SESSION), ("Singleton", SINGLETON)):
    print("\n***** Sequential access using multiple proxies on the %s Database..." % title)
    with Pyro5.api.Proxy(uri) as p1, Pyro5.api.Proxy(uri) as p2:
        Pyro5.api.current_context.annotations = {"USER": get_user_token().encode("utf-8")}
        p1.store("number", 42)
        p1.retrieve("number")
        p2.store("number", 43)
        p2.retrieve("number")

for title, uri in (("Session-Bound", SESSION), ("Singleton", SINGLETON)):
    print("\n***** Multiple concurrent proxies on the %s Database..." % title, flush=True)
    t1 = DbAccessor(uri)
    t2 = DbAccessor(uri)
    t1.start()
    t2.start()
    t1.join()
    t2.join()
