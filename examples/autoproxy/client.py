"""Pyro5's autoproxy client, taking the factory's URI from the command line."""
import sys

import Pyro5.api

factory = Pyro5.api.Proxy(sys.argv[1])
print("Creating things.")
thing1 = factory.createSomething(1)
thing2 = factory.createSomething(2)
thing3 = factory.createSomething(3)
print(repr(thing1))
print("Speaking stuff (see output on server).")
thing1.speak("I am the first (python)")
thing2.speak("I am second (python)")
thing3.speak("I am last then... (python)")
