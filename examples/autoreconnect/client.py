"""Pyro5's autoreconnect client (PYRO uri), with the URI and a number of calls from argv."""
import sys
import time

import Pyro5.api
import Pyro5.errors

uri = sys.argv[1]
calls = float(sys.argv[2]) if len(sys.argv) > 2 else float("inf")
pause = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
obj = Pyro5.api.Proxy(uri)
done = 0
while done < calls:
    print("call...", flush=True)
    try:
        obj.method(42)
        done += 1
        time.sleep(pause)
    except Pyro5.errors.CommunicationError:  # ConnectionClosedError is one
        print("Connection lost. REBINDING...", flush=True)
        print("(restart the server now)", flush=True)
        obj._pyroReconnect()
print("done", flush=True)
