# Talks to hello_server.py, prints its answers, and exits.
# python examples/hello_client.py [PORT]   (default 9002)
import sys

from greensock import aSocket

port = int(sys.argv[1]) if len(sys.argv) > 1 else 9002
with aSocket().tcp().connect("127.0.0.1", port, timeout=5) as socket:
    connection = socket.connection()
    for name in ("Ktor", "gevent"):
        connection.output.writeStringUtf8(name + "\n")
        connection.output.flush()
        print(connection.input.readUTF8Line())  # Hello, Ktor! then Hello, gevent!
