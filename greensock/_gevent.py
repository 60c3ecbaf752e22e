"""The one module that touches gevent's internals: the kernel socket under every greensock
socket, and the two gevent watchers on it.

Written for gevent 22.10 to 26.x (what ``setup.cfg`` allows). It uses these internals, which
:func:`missing_internals` lists and a test checks, so that a gevent that drops one fails
loudly there rather than mysteriously here:

- ``gevent._hub_primitives.wait_on_socket``: park until a watcher fires, with the socket's
  timeout (the C function gevent's own sockets wait with);
- ``hub.cancel_wait`` and ``hub.cancel_waits_close_and_then``: wake a greenlet parked on a
  watcher with an exception; close the watchers, then the descriptor, once they are woken;
- ``loop.closing_fd`` and ``loop.check``: let other watchers of a descriptor see its close.

Every other module uses this one, or gevent's public API.

gevent's cooperative socket is a general-purpose replacement for the standard one: its
construction and its close run a dozen Python calls that a greensock stream socket never
needs (the file-object machinery, the stand-in object a closed socket becomes...), a
noticeable share of a short connection's cost (the commit that introduced this class measured it).

:class:`KernelSocket` keeps only what the stream sockets use, under the names gevent's
socket has (``hub``, ``timeout``), and its waits are gevent's own, so ``timeout``
(``socket.timeout``), :meth:`KernelSocket.cancelWaits` and a close from another greenlet
(``cancel_wait_ex``) behave exactly as they do on a gevent socket.
"""

from __future__ import annotations

import _socket
import array
from typing import TYPE_CHECKING, Any

from gevent import get_hub

try:
    import fcntl
    import termios
except ImportError:  # Windows
    termios = None  # type: ignore[assignment]
from gevent._hub_primitives import wait_on_socket
from gevent.socket import cancel_wait_ex

__all__ = ["KernelSocket", "NoProgress", "missing_internals"]

#: Added to the type of a new socket where the system can make it non-blocking at once
#: (Linux): one system call fewer per connect than switching it afterwards.
_NONBLOCK: int = getattr(_socket, "SOCK_NONBLOCK", 0)

#: What ``raw`` is once closed: a closed kernel socket, on which every call raises EBADF.
_CLOSED = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
_CLOSED.close()


#: FIONREAD, where the system has it: how many received bytes wait unread in a socket.
_FIONREAD: int | None = getattr(termios, "FIONREAD", None) if termios is not None else None
#: Where FIONREAD writes its answer; shared, as nothing can switch greenlets in between.
_COUNT = array.array("i", [0])


class NoProgress(Exception):
    """The socket's own ``timeout`` (``socketTimeout``) passed during a wait.

    Transports wait with ``sock.wait(watcher, NoProgress)``: a class of greensock's own, so
    that it cannot be confused with a ``socket.timeout`` or a ``TimeoutError`` that a caller
    throws into the wait (``gevent.Timeout(s, TimeoutError)``).
    """


class KernelSocket:
    """A non-blocking kernel socket (:attr:`raw`) with gevent's read and write watchers.

    Methods it does not define (``bind``, ``getsockname``, ``setsockopt``, ``shutdown``...)
    are the kernel socket's own.
    """

    __slots__ = ("__weakref__", "_writeWatcher", "hub", "raw", "readWatcher", "timeout")

    #: ``wait(watcher, timeoutError=None)``: park this greenlet until the watcher fires, at
    #: most ``timeout`` seconds (then *timeoutError*, by default ``socket.timeout``); gevent's
    #: own C function, as its sockets use. ``wait_on_socket`` reads ``timeout`` and ``hub``.
    wait = wait_on_socket

    def __init__(self, sock: Any) -> None:
        if sock.gettimeout() != 0.0:
            sock.setblocking(False)
        fileno = sock.fileno()
        #: The kernel socket itself (non-blocking): the transfers call it directly.
        self.raw = sock
        self.hub = hub = get_hub()
        io = hub.loop.io
        #: The watcher of readability; None once closed.
        self.readWatcher: Any = io(fileno, 1)
        # Made when a send or a connect first has to wait: most sockets never do (the kernel
        # takes small writes at once), and each watcher costs a system call to make.
        self._writeWatcher: Any = None
        #: Seconds a wait may last (None: no bound); gevent's default timeout, as its sockets.
        self.timeout: float | None = _socket.getdefaulttimeout()

    @classmethod
    def open(cls, family: int, kind: int, proto: int = 0) -> KernelSocket:
        """A new socket of *family*, *kind* and *proto* (not inheritable by child processes)."""
        return cls(_socket.socket(family, kind | _NONBLOCK, proto))

    if TYPE_CHECKING:
        # The kernel socket's own, through __getattr__: declared, so that mypy checks this
        # class against the StreamEndpoint protocol (a __getattr__ would satisfy anything).
        family: int

        def getpeername(self) -> Any: ...
        def getsockname(self) -> Any: ...
        def shutdown(self, how: int) -> None: ...
        def listen(self, backlog: int) -> None: ...

    else:

        def __getattr__(self, name: str) -> Any:
            return getattr(self.raw, name)

    def __repr__(self) -> str:
        return f"<KernelSocket fd={self.raw.fileno()}>"

    @property
    def writeWatcher(self) -> Any:
        """The watcher of writability, made on first use; None once closed."""
        watcher = self._writeWatcher
        if watcher is None and self.raw is not _CLOSED:
            watcher = self._writeWatcher = self.hub.loop.io(self.raw.fileno(), 2)
        return watcher

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self.raw is _CLOSED

    def unreadBytes(self) -> int:
        """How many received bytes wait unread in the kernel socket (0 once closed).

        One ``ioctl`` that never raises on an open socket, where a ``recv`` to find out would
        raise BlockingIOError when nothing waits (three times the cost). Without FIONREAD it
        answers 1: "perhaps", and the caller receives to see.
        """
        if _FIONREAD is None:
            return 1
        try:
            fcntl.ioctl(self.raw.fileno(), _FIONREAD, _COUNT)
        except (OSError, ValueError):
            return 0  # closed: nothing can wait in it
        return _COUNT[0]

    def cancelWaits(self, reading: bool, writing: bool) -> None:
        """Throw ``cancel_wait_ex`` into the greenlet parked on the read (*reading*) or write
        (*writing*) watcher, if any, at the hub's next turn."""
        hub = self.hub
        if reading:
            hub.cancel_wait(self.readWatcher, cancel_wait_ex)
        if writing and self._writeWatcher is not None:
            hub.cancel_wait(self._writeWatcher, cancel_wait_ex)

    def accept(self) -> tuple[KernelSocket, Any]:
        """Wait for a connection on this listening socket: (its socket, the peer's sockaddr)."""
        sock = self.raw
        fileno, address = self._retry(sock._accept, self.readWatcher)
        return KernelSocket(_socket.socket(sock.family, sock.type, sock.proto, fileno)), address

    def send(self, data: Any) -> int:
        """Send some of *data*, waiting while the kernel's buffer is full; the count sent."""
        count: int = self._retry(self.raw.send, self.writeWatcher, data)
        return count

    def _retry(self, call: Any, watcher: Any, *args: Any) -> Any:
        """``call(*args)``, parking on *watcher* each time the kernel says it would block."""
        while True:
            try:
                return call(*args)
            except BlockingIOError:
                pass
            self.wait(watcher)

    def close(self) -> None:
        """Close the descriptor; a greenlet waiting on it gets ``cancel_wait_ex``. Idempotent."""
        sock = self.raw
        if sock is _CLOSED:
            return
        self.raw = _CLOSED
        watchers = (self.readWatcher, self._writeWatcher)
        self.readWatcher = self._writeWatcher = None
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


if TYPE_CHECKING:
    from .transport import StreamEndpoint

    def _isStreamEndpoint(sock: KernelSocket) -> StreamEndpoint:
        return sock  # mypy checks KernelSocket against the protocol here


def missing_internals() -> list[str]:
    """The gevent internals this module uses that the installed gevent lacks (none, we hope).

    A test asserts the list is empty: a gevent release that drops one fails there, by name.
    """
    hub = get_hub()
    wanted = {
        "gevent._hub_primitives.wait_on_socket": callable(wait_on_socket),
        "hub.cancel_wait": callable(getattr(hub, "cancel_wait", None)),
        "hub.cancel_waits_close_and_then": callable(
            getattr(hub, "cancel_waits_close_and_then", None)
        ),
        "loop.closing_fd": callable(getattr(hub.loop, "closing_fd", None)),
        "loop.check": callable(getattr(hub.loop, "check", None)),
        "loop.io": callable(getattr(hub.loop, "io", None)),
    }
    return [name for name, present in wanted.items() if not present]
