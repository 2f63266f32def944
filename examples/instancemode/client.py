"""Pyro5's instance mode client, with the daemon's location from the command line."""
import sys

from Pyro5.api import Proxy

location = sys.argv[1]
for mode in ("percall", "session", "single"):
    print("\n-----%s-----" % mode.upper())
    for session in (1, 2, 3):
        with Proxy("PYRO:instance.%s@%s" % (mode, location)) as p:
            ids = [p.msg("hello%d" % session) for _ in range(3)]
            print("%s proxy %d: %s" % (mode, session, " ".join(str(i) for i in ids)))
