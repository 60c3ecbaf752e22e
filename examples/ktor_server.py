# ktor's socket server sample, ported: each suspending call blocks one greenlet.
# python examples/ktor_server.py [PORT]   (default 9002); Ctrl-C stops it.
import signal
import sys

import gevent

from greensock import SelectorManager, aSocket


def handle(socket):  # launch { ... }: one greenlet per connection
    receive = socket.openReadChannel()
    send = socket.openWriteChannel(autoFlush=True)
    try:
        send.writeStringUtf8("Please enter your name\n")
        while (name := receive.readUTF8Line(limit=1024)) is not None:  # null at EOF
            send.writeStringUtf8(f"Hello, {name}!\n")
    except (OSError, EOFError):  # catch (e: Throwable): a reset, or the selector closed
        pass
    finally:
        socket.close()


port = int(sys.argv[1]) if len(sys.argv) > 1 else 9002
selector = SelectorManager()  # SelectorManager(Dispatchers.IO)
server = aSocket(selector).tcp().bind("127.0.0.1", port)
print(f"listening on {server.localAddress}", flush=True)
gevent.signal_handler(signal.SIGINT, selector.close)  # Ctrl-C closes every socket
for socket in server:  # while (true) { val socket = server.accept() ... }; ends on close
    gevent.spawn(handle, socket)
