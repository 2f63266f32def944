"""
The Python side of tests/interop/nameserver_interop_test.ts. One mode per run:

  client HOST PORT SERIALIZER PREFIX name server API calls; prints one JSON result
  daemon HOST PORT NAME TAG          serves an Echo object registered in the name server under
                                     NAME with metadata TAG; prints "READY <uri>", runs until
                                     stdin closes
  proxies HOST PORT NAME TAG         calls Echo through PYRONAME and PYROMETA proxies; prints JSON
  locate                             locate_ns() as configured by PYRO_* variables; prints JSON
  nameserver                         a Pyro5 name server on 127.0.0.1 (free port) with a broadcast
                                     responder on 127.0.0.1 (free port); prints
                                     "READY <ns uri> <bc port>", runs until stdin closes

Only loopback addresses are used.
"""

import json
import sys
import threading

import Pyro5.api
import Pyro5.errors
import Pyro5.nameserver
from Pyro5 import config


def jsonable(value):
    if isinstance(value, (set, frozenset)):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, (list, tuple)):
        items = [jsonable(v) for v in value]
        # metadata travels as a list with json and msgpack: order it like a set
        return sorted(items) if items and all(isinstance(v, str) for v in items) and isinstance(value, list) else items
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, Pyro5.api.URI):
        return "URI:" + str(value)
    return value


def error_of(call):
    try:
        call()
    except Exception as x:
        return [type(x).__name__, str(x)]
    return None


def client(host, port, serializer, prefix):
    config.SERIALIZER = serializer
    out = {}
    with Pyro5.api.locate_ns(host, int(port)) as ns:
        p = prefix
        ns.register(p + "office", "PYRO:obj_office@localhost:5001", metadata={"printer", "color"})
        ns.register(p + "lab", Pyro5.api.URI("PYRO:obj_lab@localhost:5002"), safe=True, metadata=["printer"])
        ns.register(p + "scanner", "PYRO:obj_scan@localhost:5003")
        out["lookup"] = jsonable(ns.lookup(p + "office"))
        out["lookup_meta"] = jsonable(ns.lookup(p + "office", return_metadata=True))
        out["lookup_type"] = type(ns.lookup(p + "lab")).__name__
        out["list_prefix"] = jsonable(ns.list(prefix=p))
        out["list_regex"] = jsonable(ns.list(regex=p.replace(".", r"\.") + r"(lab|scan.*)$", return_metadata=True))
        out["yp_all"] = jsonable(ns.yplookup(meta_all=["printer", "color"]))
        out["yp_any"] = jsonable(ns.yplookup(meta_any={"color", "nothing"}, return_metadata=False))
        out["yp_ns"] = jsonable(ns.yplookup(meta_all=["class:Pyro5.nameserver.NameServer"], return_metadata=False))
        out["safe"] = error_of(lambda: ns.register(p + "lab", "PYRO:x@localhost:1", safe=True))
        ns.set_metadata(p + "scanner", {"scanner"})
        out["after_setmeta"] = jsonable(ns.lookup(p + "scanner", return_metadata=True))
        out["setmeta_unknown"] = error_of(lambda: ns.set_metadata(p + "nope", ["x"]))
        out["unknown"] = error_of(lambda: ns.lookup(p + "nope"))
        out["bad_regex"] = error_of(lambda: ns.list(regex="(unclosed"))
        out["bad_name"] = error_of(lambda: ns.register(123, "PYRO:x@localhost:1"))
        out["bad_uri"] = error_of(lambda: ns.register(p + "x", "no uri"))
        out["bad_meta"] = error_of(lambda: ns.register(p + "x", "PYRO:x@localhost:1", metadata="abc"))
        out["big_meta"] = error_of(lambda: ns.register(p + "x", "PYRO:x@localhost:1", metadata=["t%d" % i for i in range(5000)]))
        ns.remove(p + "x")  # Python's name server accepts any amount of metadata
        out["both_filters"] = error_of(lambda: ns.list(prefix="a", regex="b"))
        out["kwarg_typo"] = error_of(lambda: ns.lookup(p + "lab", return_meta=True))
        out["kwarg_missing"] = error_of(lambda: ns.register(name=p + "y"))
        out["kwarg_twice"] = error_of(lambda: ns.lookup(p + "lab", name=p + "lab"))
        out["yp_both"] = error_of(lambda: ns.yplookup(meta_all=["a"], meta_any=["b"]))
        ns.register(name=p + "kw", uri="PYRO:obj_kw@localhost:5004", safe=True, metadata=["kw"])
        out["kwarg_register"] = jsonable(ns.lookup(name=p + "kw", return_metadata=True))
        out["kwarg_list"] = jsonable(ns.list(prefix=p + "k", regex=None, return_metadata=False))
        out["kwarg_remove"] = ns.remove(prefix=None, name=p + "kw")
        out["ping"] = ns.ping()
        out["count_before"] = ns.count()
        out["remove_name"] = ns.remove(p + "office")
        out["remove_prefix"] = ns.remove(prefix=p + "la")
        out["remove_regex"] = ns.remove(regex=p.replace(".", r"\.") + ".*")
        out["remove_self"] = ns.remove("Pyro.NameServer")
        out["count_after"] = ns.count()
    print(json.dumps(out))


@Pyro5.api.expose
class Echo:
    def echo(self, value):
        return value

    def whoami(self):
        return "python"


def daemon(host, port, name, tag):
    with Pyro5.api.Daemon(host="127.0.0.1") as d:
        uri = d.register(Echo())
        with Pyro5.api.locate_ns(host, int(port)) as ns:
            ns.register(name, uri, metadata={tag})
        print("READY", uri, flush=True)
        threading.Thread(target=lambda: (sys.stdin.read(), d.shutdown()), daemon=True).start()
        d.requestLoop()


def proxies(host, port, name, tag):
    out = {}
    with Pyro5.api.Proxy("PYRONAME:%s@%s:%s" % (name, host, port)) as p:
        out["pyroname"] = p.echo([1, "two"])
        out["pyroname_who"] = p.whoami()
    with Pyro5.api.Proxy("PYROMETA:%s@%s:%s" % (tag, host, port)) as p:
        out["pyrometa"] = p.echo("meta")
    out["resolve"] = str(Pyro5.api.resolve("PYRONAME:%s@%s:%s" % (name, host, port)))
    out["missing"] = error_of(lambda: Pyro5.api.resolve("PYRONAME:no.such.name@%s:%s" % (host, port)))
    out["missing_meta"] = error_of(lambda: Pyro5.api.resolve("PYROMETA:no.such.tag@%s:%s" % (host, port)))
    print(json.dumps(out))


def locate():
    out = {}
    with Pyro5.api.locate_ns() as ns:
        out["uri"] = str(ns._pyroUri)
        out["count"] = ns.count()
    print(json.dumps(out))


def nameserver():
    ns_uri, ns_daemon, _ = Pyro5.nameserver.start_ns(host="127.0.0.1", port=0)
    bc = Pyro5.nameserver.BroadcastServer(ns_uri, bchost="127.0.0.1", bcport=0)
    bc.runInThread()
    print("READY", ns_uri, bc.getPort(), flush=True)

    def stop():
        sys.stdin.read()
        ns_daemon.shutdown()

    threading.Thread(target=stop, daemon=True).start()
    ns_daemon.requestLoop()
    bc.close()


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    {"client": client, "daemon": daemon, "proxies": proxies, "locate": locate, "nameserver": nameserver}[mode](*args)
