"""
The Python side of tests/interop/nameserver_sql_interop_test.ts. One mode per run:

  client URI SERIALIZER ACTIONS_JSON  connects to a name server, runs the actions (a JSON list of
                                      ["register", name, uri, [tags]], ["remove", name],
                                      ["set_metadata", name, [tags]]) and prints one JSON line
                                      {"before": VIEW, "after": VIEW}, the name server as seen
                                      before and after the actions, each VIEW
                                      {"names": {name: [uri, sorted tags]},
                                       "yp_all": {tag: sorted names}, "count": n}
  schema FILE                         creates Pyro5's SqlStorage tables in FILE and exits

Only loopback addresses are used.
"""

import json
import sys

import Pyro5.api
import Pyro5.nameserver
from Pyro5 import config


def view(ns):
    names = {name: [str(uri), sorted(tags)] for name, (uri, tags) in ns.list(return_metadata=True).items()}
    tags = sorted({tag for _, tag_list in names.values() for tag in tag_list})
    yp_all = {tag: sorted(ns.yplookup(meta_all=[tag], return_metadata=False)) for tag in tags}
    return {"names": names, "yp_all": yp_all, "count": ns.count()}


def client(uri, serializer, actions):
    config.SERIALIZER = serializer
    with Pyro5.api.Proxy(uri) as ns:
        before = view(ns)
        for action in actions:
            if action[0] == "register":
                ns.register(action[1], action[2], metadata=set(action[3]))
            elif action[0] == "remove":
                ns.remove(action[1])
            elif action[0] == "set_metadata":
                ns.set_metadata(action[1], set(action[2]))
            else:
                raise ValueError("unknown action " + action[0])
        print(json.dumps({"before": before, "after": view(ns)}, sort_keys=True), flush=True)


def main():
    mode = sys.argv[1]
    if mode == "client":
        client(sys.argv[2], sys.argv[3], json.loads(sys.argv[4]))
    elif mode == "schema":
        Pyro5.nameserver.SqlStorage(sys.argv[2])
    else:
        raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main()
