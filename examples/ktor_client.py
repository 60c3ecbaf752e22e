# ktor's socket client sample, ported: launch is gevent.spawn, withTimeout gevent.Timeout.
# python examples/ktor_client.py [PORT]   (default 9002), against ktor_server.py
import sys

import gevent

from greensock import SelectorManager, aSocket

port = int(sys.argv[1]) if len(sys.argv) > 1 else 9002
with SelectorManager() as selector:  # selector.close() at the end closes the socket too
    socket = aSocket(selector).tcp().connect("127.0.0.1", port, timeout=5)
    receive = socket.openReadChannel()
    send = socket.openWriteChannel(autoFlush=True)

    def print_replies():  # launch { while (true) { val greeting = receive.readUTF8Line() ...
        while (line := receive.readUTF8Line()) is not None:
            print(line)
        print("Server closed a connection")

    reader = gevent.spawn(print_replies)
    for name in ("Ktor", "gevent"):  # ktor's sample reads names from the console
        send.writeStringUtf8(f"{name}\n")
    send.close()  # half-close: the server's readUTF8Line returns None, and it closes
    with gevent.Timeout(5):  # withTimeout(5_000) { reader.join() }
        reader.get()
