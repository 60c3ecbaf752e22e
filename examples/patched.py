# greensock in a monkey-patched program: stdlib sockets and greensock sockets side by side.
from gevent import monkey

monkey.patch_all()  # first, before anything imports socket, ssl or threading

import socket  # noqa: E402 -- after patching, on purpose
import time  # noqa: E402

import gevent  # noqa: E402

from greensock import aSocket, serve  # noqa: E402


def slow_echo(sock):  # a greensock handler
    connection = sock.connection()
    line = connection.input.readUTF8Line()
    gevent.sleep(0.2)  # blocks this greenlet only, as every greensock call does
    connection.output.writeStringUtf8(f"{line}\n")
    connection.output.flush()


def stdlib_client(port, text):  # plain blocking code, cooperative once patched
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(text.encode() + b"\n")
        return client.makefile().readline().strip()


server = aSocket().tcp().bind("127.0.0.1", 0)
with serve(server, slow_echo):
    started = time.monotonic()
    clients = [gevent.spawn(stdlib_client, server.port, f"client {n}") for n in range(3)]
    print([client.get(timeout=5) for client in clients])
    print(f"three 0.2 s answers in {time.monotonic() - started:.1f} s")  # 0.2: concurrent
