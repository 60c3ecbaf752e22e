# serve(): a greenlet per connection, a cap on connections, failing handlers, stopping.
import logging

import gevent

from greensock import aSocket, serve

logging.basicConfig(level=logging.ERROR, format="%(name)s: %(message)s")


def handler(socket):
    connection = socket.connection()
    line = connection.input.readUTF8Line(limit=100)
    if line == "fail":
        raise ValueError("a bug in the handler")  # logged with its traceback; serving goes on
    connection.output.writeStringUtf8(f"{line}: served\n")
    connection.output.flush()
    connection.input.readUTF8Line()  # wait for the client to finish (or stop() to close us)


def ask(port, line):
    socket = aSocket().tcp().connect("127.0.0.1", port, timeout=5)
    connection = socket.connection()
    connection.output.writeStringUtf8(line + "\n")
    connection.output.flush()
    return socket, connection.input.readUTF8Line()


server = aSocket().tcp().bind("127.0.0.1", 0)
serving = serve(server, handler, maxConnections=2)
print(ask(server.port, "fail")[1])  # None: the failed handler's socket was closed
first, answer = ask(server.port, "one")
second, _ = ask(server.port, "two")
print(answer, "| active:", serving.activeConnections)  # one: served | active: 2
third = gevent.spawn(ask, server.port, "three")  # waits in the backlog: 2 are served
gevent.sleep(0.2)
print("third answered yet:", third.ready())  # False
first.close()  # a handler finishes, so the third connection is accepted
print(third.get(timeout=5)[1])  # three: served
print("every handler finished by itself:", serving.stop(timeout=0.5))  # False: closed
serving.join(timeout=5)
for socket in (second, third.value[0]):
    socket.close()
