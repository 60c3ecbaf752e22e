"""The kernel socket under a TCP or Unix stream socket, and the two gevent watchers on it.

gevent's cooperative socket is a general-purpose replacement for the standard one: its
construction and its close run a dozen Python calls that a greensock stream socket never
needs (the file-object machinery, the stand-in object a closed socket becomes...): about
5 µs per socket on the benchmark machine, a tenth of a whole connect, exchange and close.

:class:`KernelSocket` keeps only what the stream sockets use, under the names gevent's
socket gives them (``_sock``, ``_read_event``, ``_write_event``, ``hub``, ``timeout``,
``_wait``), so the transfer code talks to it as it would to gevent's: the waits are
gevent's own, so ``timeout`` (``socket.timeout``), ``hub.cancel_wait`` and a close from
another greenlet (``cancel_wait_ex``) behave exactly as they do on a gevent socket.
Datagram sockets keep gevent's socket: one per program, not one per connection.
"""

from __future__ import annotations

import _socket
import array
from typing import Any

from gevent import get_hub

try:
    import fcntl
    import termios
except ImportError:  # Windows
    termios = None  # type: ignore[assignment]
from gevent._hub_primitives import wait_on_socket
from gevent.socket import cancel_wait_ex

__all__ = ["WAIT_FIRST_RUN", "KernelSocket", "NoProgress", "unread_bytes"]

#: Receives that wait for data before asking the kernel: a stream socket's receives right
#: after it sent, from the start; a UDP socket's, once one found nothing queued. A client
#: awaiting its answer, or a server between requests, finds nothing every time: asking
#: first would cost a failing system call and an exception each time. Every
#: WAIT_FIRST_RUN + 1-th such receive asks at once again, so a socket whose data is there by
#: then goes back to plain reads after at most that many needless trips through the hub.
WAIT_FIRST_RUN = 8

#: Added to the type of a new socket where the system can make it non-blocking at once
#: (Linux): one system call fewer per connect than switching it afterwards.
_NONBLOCK: int = getattr(_socket, "SOCK_NONBLOCK", 0)

#: What ``_sock`` is once closed: a closed kernel socket, on which every call raises EBADF.
_CLOSED = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
_CLOSED.close()


#: FIONREAD, where the system has it: how many received bytes wait unread in a socket.
_FIONREAD: int | None = getattr(termios, "FIONREAD", None) if termios is not None else None
#: Where FIONREAD writes its answer; shared, as nothing can switch greenlets in between.
_COUNT = array.array("i", [0])


def unread_bytes(sock: Any) -> int:
    """How many received bytes wait unread in the kernel socket *sock* (0 once closed).

    One ``ioctl`` that never raises on an open socket, where a ``recv`` to find out would
    raise BlockingIOError when nothing waits (three times the cost). Without FIONREAD it
    answers 1: "perhaps", and the caller receives to see.
    """
    if _FIONREAD is None:
        return 1
    try:
        fcntl.ioctl(sock.fileno(), _FIONREAD, _COUNT)
    except (OSError, ValueError):
        return 0  # closed: nothing can wait in it
    return _COUNT[0]


class NoProgress(Exception):
    """The socket's own ``timeout`` (``socketTimeout``) passed during a wait.

    Transports wait with ``sock._wait(watcher, NoProgress)``: a class of greensock's own, so
    that it cannot be confused with a ``socket.timeout`` or a ``TimeoutError`` that a caller
    throws into the wait (``gevent.Timeout(s, TimeoutError)``).
    """


class KernelSocket:
    """A non-blocking kernel socket (``_sock``) with gevent's read and write watchers.

    Methods it does not define (``bind``, ``getsockname``, ``setsockopt``, ``shutdown``...)
    are the kernel socket's own.
    """

    __slots__ = ("__weakref__", "_read_event", "_sock", "_writeWatcher", "hub", "timeout")

    #: ``_wait(watcher)``: park this greenlet until the watcher fires, at most ``timeout``
    #: seconds (then ``socket.timeout``); gevent's own C function, as its sockets use.
    _wait = wait_on_socket

    def __init__(self, sock: Any) -> None:
        if sock.gettimeout() != 0.0:
            sock.setblocking(False)
        fileno = sock.fileno()
        self._sock = sock
        self.hub = hub = get_hub()
        io = hub.loop.io
        self._read_event: Any = io(fileno, 1)
        # Made when a send or a connect first has to wait: most sockets never do (the kernel
        # takes small writes at once), and each watcher costs a system call to make.
        self._writeWatcher: Any = None
        #: Seconds a wait may last (None: no bound); gevent's default timeout, as its sockets.
        self.timeout: float | None = _socket.getdefaulttimeout()

    @classmethod
    def open(cls, family: int, kind: int, proto: int = 0) -> KernelSocket:
        """A new socket of *family*, *kind* and *proto* (not inheritable by child processes)."""
        return cls(_socket.socket(family, kind | _NONBLOCK, proto))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def __repr__(self) -> str:
        return f"<KernelSocket fd={self._sock.fileno()}>"

    @property
    def _write_event(self) -> Any:
        """The write watcher, made on first use; None once closed."""
        watcher = self._writeWatcher
        if watcher is None and self._sock is not _CLOSED:
            watcher = self._writeWatcher = self.hub.loop.io(self._sock.fileno(), 2)
        return watcher

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._sock is _CLOSED

    def accept(self) -> tuple[KernelSocket, Any]:
        """Wait for a connection on this listening socket: (its socket, the peer's sockaddr)."""
        sock = self._sock
        fileno, address = self._retry(sock._accept, self._read_event)
        return KernelSocket(_socket.socket(sock.family, sock.type, sock.proto, fileno)), address

    def send(self, data: Any) -> int:
        """Send some of *data*, waiting while the kernel's buffer is full; the count sent."""
        count: int = self._retry(self._sock.send, self._write_event, data)
        return count

    def _retry(self, call: Any, watcher: Any, *args: Any) -> Any:
        """``call(*args)``, parking on *watcher* each time the kernel says it would block."""
        while True:
            try:
                return call(*args)
            except BlockingIOError:
                pass
            self._wait(watcher)

    def close(self) -> None:
        """Close the descriptor; a greenlet waiting on it gets ``cancel_wait_ex``. Idempotent."""
        sock = self._sock
        if sock is _CLOSED:
            return
        self._sock = _CLOSED
        watchers = (self._read_event, self._writeWatcher)
        self._read_event = self._writeWatcher = None
        # Waiters are woken (and the watchers closed) on the hub's next turn when there are
        # any; the descriptor stays open until then, so that its number cannot be reused
        # under a watcher still registered for it.
        self.hub.cancel_waits_close_and_then(watchers, cancel_wait_ex, self._release, sock)

    def _release(self, sock: Any) -> None:
        # Watchers that others made on the descriptor (gevent.select...) get a last event
        # first, when the loop says it has some; ours are closed already.
        loop = self.hub.loop
        if not loop.closing_fd(sock.fileno()):
            sock.close()
            return
        check = loop.check()

        def closeLater() -> None:
            check.stop()
            check.close()
            sock.close()

        check.start(closeLater)
