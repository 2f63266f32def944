"""
Pyro5's callback client (client.py), with the server's URI from the command line: it runs a
daemon for the callbacks and waits in its request loop until every worker reported.
"""
import random
import sys

from Pyro5.api import Daemon, Proxy, config, expose

# The request loop must wake up now and then to check its loop condition.
config.COMMTIMEOUT = 0.5

NUM_WORKERS = 5


class CallbackHandler(object):
    workdone = 0

    @expose
    def done(self, number):
        print("callback: worker %d reports work is done!" % number)
        CallbackHandler.workdone += 1


with Daemon(host="127.0.0.1") as daemon:
    callback = CallbackHandler()
    daemon.register(callback)
    print("creating a bunch of workers")
    with Proxy(sys.argv[1]) as server:
        for _ in range(NUM_WORKERS):
            worker = server.addworker(callback)  # provide our callback handler!
            worker.work(random.random() / 5)
    print("waiting for all work complete...")
    daemon.requestLoop(loopCondition=lambda: CallbackHandler.workdone < NUM_WORKERS)
    print("done!")
