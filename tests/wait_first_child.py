"""A child process for tests/test_wait_first.py: one client exchanging lines or datagrams with
an echo server in the same process, with greensock's public API only.

``python wait_first_child.py tcp|udp ROUNDS RUN`` sets ``WaitForAnswers.run`` to RUN, prints
``client <port>`` (the client's local port, for the parent to pick its system calls out of
a trace), makes ROUNDS exchanges, and prints ``done``.
"""

from __future__ import annotations

import sys

import gevent

from greensock import Datagram, aSocket
from greensock.waitfirst import WaitForAnswers

LOCAL = "127.0.0.1"


def lines(rounds: int) -> None:
    tcp = aSocket().tcp()
    server = tcp.bind(LOCAL, 0)
    client = tcp.connect(LOCAL, server.port)
    accepted = server.accept(timeout=5)
    print("client", client.localAddress.port, flush=True)

    def echo() -> None:
        connection = accepted.connection()
        while (line := connection.input.readUTF8Line()) is not None:
            connection.output.writeStringUtf8(line + "\n")
            connection.output.flush()

    echoing = gevent.spawn(echo)
    reader, writer = client.openReadChannel(), client.openWriteChannel()
    for index in range(rounds):
        writer.writeStringUtf8(f"line {index}\n")
        writer.flush()
        assert reader.readUTF8Line() == f"line {index}"
    writer.close()
    echoing.join(timeout=5)
    client.close()
    server.close()


def datagrams(rounds: int) -> None:
    udp = aSocket().udp()
    server = udp.bind(LOCAL, 0)
    client = udp.connect(server.localAddress)
    print("client", client.localAddress.port, flush=True)

    def echo() -> None:
        for datagram in server.incoming:
            server.send(Datagram(datagram.packet, datagram.address))

    echoing = gevent.spawn(echo)
    for index in range(rounds):
        client.send(Datagram(b"%d" % index, server.localAddress))
        assert client.receive(timeout=5).packet == b"%d" % index
    server.close()
    echoing.join(timeout=5)
    client.close()


if __name__ == "__main__":
    kind, rounds, run = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    WaitForAnswers.run = run
    with gevent.Timeout(20):
        (lines if kind == "tcp" else datagrams)(rounds)
    print("done", flush=True)
