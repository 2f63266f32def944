"""Pyro5's call context client, with the server's URI from the command line."""
import sys
import uuid

import Pyro5.api

Pyro5.api.current_context.correlation_id = uuid.uuid4()
print("correlation id set to:", Pyro5.api.current_context.correlation_id.hex)

with Pyro5.api.Proxy(sys.argv[1]) as proxy:
    print("normal call")
    Pyro5.api.current_context.annotations = {"XYZZ": b"custom annotation from python client"}
    result = proxy.echo("hi there - from python")
    print("Annotations in response were: ")
    for key, value in Pyro5.api.current_context.response_annotations.items():
        print("  ", key, "->", bytes(value).decode())
    print("\noneway call")
    proxy.oneway("hi there ONEWAY - from python")
    print("forwarded:", proxy.forward(sys.argv[1], "from python"))
