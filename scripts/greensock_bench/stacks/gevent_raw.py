"""Raw gevent sockets: ``recv_into``/``sendall`` with hand-written line framing (the baseline).

The ``floor`` variant runs the same code on :class:`~.flat_socket.FlatSocket` instead of
gevent's socket class: the least any library on gevent's hub can do per operation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gevent import socket

from .. import workloads_sync
from ..child import Control
from ..framing import LineBuffer
from ..protocol import BACKLOG, CHUNK_SIZE, HOST, Params
from .flat_socket import FlatSocket

#: Makes a socket of a family and a kind: gevent's socket class, or FlatSocket.
SocketMaker = Callable[[int, int], Any]

# One receive buffer for every connection's line reading: recv_into fills it during the
# syscall, and read_line copies the bytes out before this greenlet can switch, so sharing is
# safe within the hub's thread and costs no 64 KiB per connection.
_SCRATCH = memoryview(bytearray(CHUNK_SIZE))


class RawConn:
    """A gevent socket with a line buffer."""

    __slots__ = ("_lines", "_sock", "recv", "send")

    def __init__(self, sock: Any) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._lines = LineBuffer()
        self.recv = sock.recv_into
        self.send = sock.sendall

    def read_line(self) -> bytes | None:
        """The next line, newline included; None at EOF."""
        lines = self._lines
        line = lines.pop()
        while line is None:
            n = self._sock.recv_into(_SCRATCH)
            if not n:
                return lines.rest()
            lines.append(_SCRATCH[:n])
            line = lines.pop()
        return line

    def write_line(self, line: bytes) -> None:
        """Send a line that already ends in a newline."""
        self._sock.sendall(line)

    def shutdown_write(self) -> None:
        """Half-close."""
        self._sock.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        """Close the socket."""
        self._sock.close()


class RawListener:
    """A listening gevent socket."""

    def __init__(self, make: SocketMaker) -> None:
        self._sock = make(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((HOST, 0))
        self._sock.listen(BACKLOG)
        self.port: int = self._sock.getsockname()[1]

    def accept(self) -> RawConn:
        """The next connection."""
        return RawConn(self._sock.accept()[0])


class RawDatagramSocket:
    """A bound gevent UDP socket."""

    def __init__(self, make: SocketMaker, peer_port: int) -> None:
        self._sock = make(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((HOST, 0))
        self.port: int = self._sock.getsockname()[1]
        self._peer = (HOST, peer_port)

    def echo_once(self) -> None:
        """Send one received datagram back."""
        data, address = self._sock.recvfrom(65536)
        self._sock.sendto(data, address)

    def roundtrip(self, payload: bytes) -> None:
        """Send to the peer and wait for the answer."""
        self._sock.sendto(payload, self._peer)
        self._sock.recvfrom(65536)


class RawAdapter:
    """The raw gevent stack, for ``workloads_sync``, on the sockets *make* makes."""

    def __init__(self, make: SocketMaker) -> None:
        self._make = make

    def line(self, text: str) -> bytes:
        """Lines travel as bytes with their newline."""
        return (text + "\n").encode()

    def listen(self) -> RawListener:
        """Listen on 127.0.0.1."""
        return RawListener(self._make)

    def connect(self, port: int) -> RawConn:
        """Connect to 127.0.0.1:``port``."""
        sock = self._make(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.connect((HOST, port))
        except BaseException:
            sock.close()
            raise
        return RawConn(sock)

    def udp_bind(self, peer_port: int = 0) -> workloads_sync.SyncDatagramSocket:
        """A UDP socket on 127.0.0.1."""
        return RawDatagramSocket(self._make, peer_port)


def adapter(variant: str) -> RawAdapter:
    """The adapter of the stack: on gevent's sockets, or on FlatSocket for ``floor``."""
    return RawAdapter(FlatSocket if variant == "floor" else socket.socket)


def main(role: str, params: Params, control: Control, variant: str) -> dict[str, float] | None:
    """Run one side of ``params.workload`` on raw gevent sockets (FlatSocket for ``floor``)."""
    return workloads_sync.main(adapter(variant), role, params, control)
