# A line server: answers "Hello, NAME!" to every line, until Ctrl-C.
# python examples/hello_server.py [PORT]   (default 9002)
import signal
import sys

import gevent

from greensock import aSocket, serve


def greet(socket):
    # One greenlet per connection; serve() closes the socket when this returns.
    connection = socket.connection()
    for name in connection.input.lines(limit=1024):
        connection.output.writeStringUtf8(f"Hello, {name}!\n")
        connection.output.flush()  # nothing is sent before a flush


port = int(sys.argv[1]) if len(sys.argv) > 1 else 9002
server = aSocket().tcp().bind("127.0.0.1", port)
serving = serve(server, greet)
print(f"listening on {server.localAddress}", flush=True)
gevent.signal_handler(signal.SIGINT, serving.stop)  # Ctrl-C: stop accepting, finish
serving.join()  # serve until stopped
