"""Pyro5's resource tracking client, with the URI from argv; --abort exits without freeing."""
import os
import random
import sys

from Pyro5.api import Proxy

with Proxy(sys.argv[1]) as proxy:
    print("currently allocated resources:", proxy.list())
    name1 = hex(random.randint(0, 999999))[-4:]
    name2 = hex(random.randint(0, 999999))[-4:]
    print("allocating resource...", name1)
    proxy.allocate(name1)
    print("allocating resource...", name2)
    proxy.allocate(name2)
    if "--abort" in sys.argv:
        print("aborting without freeing the resources", flush=True)
        os._exit(1)
    print("free resources normally...")
    proxy.free(name1)
    proxy.free(name2)
    print("allocated resources:", proxy.list())
print("done.")
