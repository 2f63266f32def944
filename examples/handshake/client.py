"""Pyro5's handshake client, with the URI and the secret from the command line."""
import sys

from Pyro5.api import Proxy
from Pyro5.errors import CommunicationError


class CustomHandshakeProxy(Proxy):
    def _pyroValidateHandshake(self, response):
        print("Proxy received handshake response data: ", response)


with CustomHandshakeProxy(sys.argv[1]) as proxy:
    proxy._pyroHandshake = sys.argv[2]
    print("connecting...")
    try:
        proxy._pyroBind()
        proxy.ping()
        print("Connection ok!")
    except CommunicationError as x:
        print("Connection refused:", x)
print("done.")
