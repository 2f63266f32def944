"""Python Pyro5 over TLS, for tests/tls_test.ts. Pyro5 reads PYRO_SSL* from the environment.

  tls_peer.py client URI MESSAGE  -> calls echo(MESSAGE), checking the daemon's certificate in
                                     _pyroValidateHandshake as Pyro5's ssl example does; prints
                                     one JSON line: {"ok": result} or {"error": class, "message": text}
  tls_peer.py server              -> serves an echo object (PYRO:tls.echo@localhost:port); with
                                     SSL_REQUIRECLIENTCERT, validateHandshake checks the client's
                                     certificate subject; prints the URI, then one JSON line per
                                     client certificate seen; stops when stdin closes
"""
import json
import sys
import threading

import Pyro5.api
import Pyro5.errors
from Pyro5 import config


def subject_of(cert):
    return {k: v for rdn in cert.get("subject", ()) for (k, v) in rdn}


def check_cert(cert, who):
    if not cert:
        raise Pyro5.errors.CommunicationError(who + " cert missing")
    subject = subject_of(cert)
    if subject.get("organizationName") != "Razorvine.net":
        raise Pyro5.errors.CommunicationError(who + " cert not for Razorvine.net")
    return subject


SEEN = {}


class CheckingProxy(Pyro5.api.Proxy):
    def _pyroValidateHandshake(self, response):
        SEEN["server"] = check_cert(self._pyroConnection.getpeercert(), "server")


class Echo:
    @Pyro5.api.expose
    def echo(self, message):
        return message


class CheckingDaemon(Pyro5.api.Daemon):
    def validateHandshake(self, conn, data):
        if config.SSL_REQUIRECLIENTCERT:
            subject = check_cert(conn.getpeercert(), "client")
            print(json.dumps({"client_subject": subject}), flush=True)
        return super().validateHandshake(conn, data)


def client(uri, message):
    try:
        with CheckingProxy(uri) as proxy:
            proxy._pyroTimeout = 5
            result = proxy.echo(message)
            print(json.dumps({"ok": result, "server_subject": SEEN["server"]}), flush=True)
    except Exception as x:
        print(json.dumps({"error": type(x).__name__, "message": str(x)}), flush=True)


def server():
    daemon = CheckingDaemon(host="localhost")
    uri = daemon.register(Echo(), "tls.echo")
    print(uri, flush=True)
    threading.Thread(target=daemon.requestLoop, daemon=True).start()
    sys.stdin.read()
    daemon.shutdown()


if __name__ == "__main__":
    if sys.argv[1] == "client":
        client(sys.argv[2], sys.argv[3])
    else:
        server()
