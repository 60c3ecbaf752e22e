"""greensock: ktor-style sockets and byte channels (``readUTF8Line``, ``writeStringUtf8``...)."""

from __future__ import annotations

from typing import Any

import greensock
from greensock import Datagram, aSocket

from .. import workloads_sync
from ..child import Control
from ..protocol import BACKLOG, HOST, Params


class GreensockConn:
    """A greensock socket with its read channel and its write channel (autoFlush off).

    Methods on the class, not bound methods kept per connection: with thousands of
    connections every extra object an operation touches is another cache miss.
    """

    __slots__ = ("_reader", "_sock", "_writer")

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._reader = sock.openReadChannel()
        self._writer = sock.openWriteChannel(autoFlush=False)

    def read_line(self) -> str | None:
        """The next line without its terminator; None at EOF."""
        return self._reader.readUTF8Line()  # type: ignore[no-any-return]

    def write_line(self, line: str) -> None:
        """Write the line and its newline, then flush."""
        writer = self._writer
        writer.writeStringUtf8(line + "\n")
        writer.flush()

    def recv(self, buf: bytearray) -> int:
        """Read what is available into *buf*; -1 at EOF."""
        return self._reader.readAvailable(buf)  # type: ignore[no-any-return]

    def send(self, data: bytes) -> None:
        """Write all of *data* (flushed when the buffer fills, or by shutdown_write)."""
        self._writer.writeFully(data)

    def shutdown_write(self) -> None:
        """Closing the write channel flushes it and half-closes the connection."""
        self._writer.close()

    def close(self) -> None:
        """Close the socket."""
        self._sock.close()


class GreensockListener:
    """A greensock server socket."""

    def __init__(self) -> None:
        self._server = aSocket().tcp().bind(HOST, 0, configure={"backlogSize": BACKLOG})
        port = self._server.port
        assert port is not None  # an IP server always has one
        self.port: int = port

    def accept(self) -> GreensockConn:
        """The next connection."""
        return GreensockConn(self._server.accept())


class GreensockDatagramSocket:
    """A bound greensock datagram socket."""

    def __init__(self, peer_port: int) -> None:
        self._sock = aSocket().udp().bind(HOST, 0)
        self.port: int = self._sock.localAddress.port
        self._peer = greensock.InetSocketAddress(HOST, peer_port)

    def echo_once(self) -> None:
        """Send one received datagram back: it carries its sender's address."""
        sock = self._sock
        sock.send(sock.receive())

    def roundtrip(self, payload: bytes) -> None:
        """Send to the peer and wait for the answer."""
        self._sock.send(Datagram(payload, self._peer))
        self._sock.receive()


class GreensockAdapter:
    """The greensock stack, for ``workloads_sync``."""

    def line(self, text: str) -> str:
        """Lines travel as ``str`` without newline (``readUTF8Line`` strips it)."""
        return text

    def listen(self) -> GreensockListener:
        """Listen on 127.0.0.1."""
        return GreensockListener()

    def connect(self, port: int) -> GreensockConn:
        """Connect to 127.0.0.1:``port``."""
        return GreensockConn(aSocket().tcp().connect(HOST, port))

    def udp_bind(self, peer_port: int = 0) -> GreensockDatagramSocket:
        """A datagram socket on 127.0.0.1."""
        return GreensockDatagramSocket(peer_port)


def adapter(variant: str) -> GreensockAdapter:
    """The adapter of the stack (greensock has no variants)."""
    return GreensockAdapter()


def main(role: str, params: Params, control: Control, variant: str) -> dict[str, float] | None:
    """Run one side of ``params.workload`` on greensock."""
    return workloads_sync.main(adapter(variant), role, params, control)
