"""The least a gevent program can run per socket call: the kernel socket and gevent's wait.

:class:`FlatSocket` is what the ``floor`` stack runs the raw gevent adapter on instead of
gevent's socket class: every call is the non-blocking kernel call, and only when the kernel
says it would block, gevent's own C wait on a libev watcher. No timeout bookkeeping, no
``getsockopt`` per send, no Python socket class in between. Any library built on gevent's
hub pays at least this per operation, so its results bound what such a library can reach:
where another stack is ahead of the floor, no gevent library can catch it up.
"""

from __future__ import annotations

import _socket
import errno
import os
from typing import Any

from gevent import get_hub
from gevent._hub_primitives import wait_on_socket
from gevent.socket import cancel_wait_ex

_IN_PROGRESS = (errno.EINPROGRESS, errno.EALREADY)


class FlatSocket:
    """A non-blocking kernel socket with gevent's read watcher (and a write watcher made on
    first need); the methods the raw gevent adapter calls, each a kernel call and a wait.

    Anything it does not define (``bind``, ``listen``, ``setsockopt``...) is the kernel
    socket's own. Each method writes its retry loop out rather than sharing one helper:
    a helper would be one more Python call per operation, the very cost this measures.
    """

    __slots__ = ("_read", "_sock", "_write", "hub", "timeout")

    def __init__(
        self, family: int = _socket.AF_INET, kind: int = _socket.SOCK_STREAM, fileno: Any = None
    ) -> None:
        sock = _socket.socket(family, kind, 0, fileno)
        sock.setblocking(False)
        self._sock = sock
        self.hub = hub = get_hub()
        self._read = hub.loop.io(sock.fileno(), 1)
        self._write: Any = None
        #: What gevent's wait reads: no bound on a wait.
        self.timeout = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def _waitWritable(self) -> None:
        if self._write is None:
            self._write = self.hub.loop.io(self._sock.fileno(), 2)
        wait_on_socket(self, self._write)

    def accept(self) -> tuple[FlatSocket, Any]:
        """The next connection and its peer's address."""
        while True:
            try:
                fileno, address = self._sock._accept()  # type: ignore[attr-defined]
                return FlatSocket(self._sock.family, self._sock.type, fileno), address
            except BlockingIOError:
                pass
            wait_on_socket(self, self._read)

    def connect(self, address: Any) -> None:
        """Connect, waiting for the handshake once the kernel says it is in progress."""
        result = self._sock.connect_ex(address)
        if result in _IN_PROGRESS:
            self._waitWritable()
            result = self._sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_ERROR)
        if result:
            raise OSError(result, os.strerror(result))

    def recv_into(self, buffer: Any) -> int:
        """Receive into *buffer*; 0 at end of stream."""
        while True:
            try:
                count: int = self._sock.recv_into(buffer)
                return count
            except BlockingIOError:
                pass
            wait_on_socket(self, self._read)

    def sendall(self, data: Any) -> None:
        """Send all of *data*."""
        view = memoryview(data)
        while view:
            try:
                view = view[self._sock.send(view) :]
                continue
            except BlockingIOError:
                pass
            self._waitWritable()

    def recvfrom(self, size: int) -> tuple[bytes, Any]:
        """The next datagram and its sender."""
        while True:
            try:
                return self._sock.recvfrom(size)  # type: ignore[no-any-return]
            except BlockingIOError:
                pass
            wait_on_socket(self, self._read)

    def sendto(self, data: Any, address: Any) -> None:
        """Send one datagram."""
        while True:
            try:
                self._sock.sendto(data, address)
                return
            except BlockingIOError:
                pass
            self._waitWritable()

    def close(self) -> None:
        """Close the watchers, then the descriptor (as gevent's own socket does). Idempotent."""
        if self._read is None:
            return
        watchers = [self._read, self._write]
        self._read = self._write = None
        self.hub.cancel_waits_close_and_then(watchers, cancel_wait_ex, self._release, self._sock)

    def _release(self, sock: Any) -> None:
        # A watcher that someone else made on the descriptor gets its last event first.
        if self.hub.loop.closing_fd(sock.fileno()):
            self.hub.loop.run_callback(sock.close)
        else:
            sock.close()
