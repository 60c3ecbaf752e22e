"""SelectorManager: the owner of every socket built through it, bound to one OS thread's hub."""

from __future__ import annotations

import weakref
from typing import Any

import gevent
from zope.interface import implementer

from .errors import ClosedChannelException
from .interfaces import ISelectorManager
from .lifecycle import Closeable

__all__ = ["SelectorManager", "default_selector"]

#: One shared receive buffer per manager (so per OS thread): a socket read channel receives
#: into it and copies out at once, with no greenlet switch in between, so sharing is safe
#: and an idle connection holds no receive buffer of its own.
SCRATCH_SIZE = 65536


@implementer(ISelectorManager)
class SelectorManager(Closeable):
    """Owns the sockets built through it; bound to the gevent hub of the thread that made it.

    :meth:`close` closes every one of them (greenlets blocked on them wake with
    ClosedChannelException) and makes later ``connect``/``bind`` through it raise
    ClosedChannelException. Use from another OS thread raises RuntimeError. Usable as a
    context manager (``with SelectorManager() as selector:`` closes it on exit). Neither
    making nor closing one blocks; ``aSocket()`` without a selector uses the calling
    thread's default one.
    """

    def __init__(self) -> None:
        # Weakly: the default selectors are values of a WeakKeyDictionary keyed by hub, and a
        # strong reference would keep every finished thread's hub (and selector) alive.
        self._hub = weakref.ref(gevent.get_hub())
        self._sockets: dict[int, Any] = {}
        #: Greenlets building a socket (resolving, connecting): close() wakes them.
        self._builders: set[Any] = set()
        self._closed = False
        self._scratch = memoryview(bytearray(SCRATCH_SIZE))

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<SelectorManager {state}, {len(self._sockets)} sockets>"

    @property
    def isClosed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def _checkThread(self) -> None:
        """Raise RuntimeError unless called from the OS thread whose hub this manager uses."""
        if gevent.get_hub() is not self._hub():
            raise RuntimeError(
                "this SelectorManager belongs to the gevent hub of another OS thread; "
                "create a SelectorManager (or use aSocket()) in the thread that uses the sockets"
            )

    def _checkUsable(self) -> None:
        """Raise unless this manager may build sockets from the calling thread."""
        # One test for the common case: every connect and bind comes through here.
        if self._closed or gevent.get_hub() is not self._hub():
            self._checkThread()
            raise ClosedChannelException("the SelectorManager is closed")

    def _startBuilding(self) -> Any:
        """Check that this manager may build a socket now (see :meth:`_checkUsable`), and let
        :meth:`close` interrupt the calling greenlet, which this returns, until it is taken
        out of ``_builders`` again."""
        self._checkUsable()
        caller = gevent.getcurrent()
        self._builders.add(caller)
        return caller

    def _stopBuilding(self, caller: Any) -> None:
        """*caller* is done building: :meth:`close` leaves it alone from now on."""
        self._builders.discard(caller)

    def _interrupt(self, caller: Any) -> None:
        if caller in self._builders:
            self._builders.discard(caller)
            caller.throw(ClosedChannelException("the SelectorManager was closed"))

    def _register(self, sock: Any) -> None:
        """Own *sock*; ClosedChannelException if this manager was closed meanwhile."""
        if self._closed:
            raise ClosedChannelException("the SelectorManager is closed")
        self._sockets[id(sock)] = sock

    def _unregister(self, sock: Any) -> None:
        self._sockets.pop(id(sock), None)

    def close(self) -> None:
        """Close every socket built through this manager; later connect/bind raise.

        Greenlets connecting through it wake with ClosedChannelException too. Raises
        RuntimeError from another OS thread. Closing twice is harmless.
        """
        self._checkThread()
        self._closed = True
        for caller in list(self._builders):
            gevent.get_hub().loop.run_callback(self._interrupt, caller)
        for sock in list(self._sockets.values()):
            sock.close()


_defaults: weakref.WeakKeyDictionary[Any, SelectorManager] = weakref.WeakKeyDictionary()
#: The default selector default_selector() returned last, weakly: a finished thread's must go.
_latest: weakref.ref[SelectorManager] | None = None


def default_selector() -> SelectorManager:
    """The default SelectorManager of the calling OS thread (a new one if it was closed).

    Keyed by the thread's gevent hub rather than a thread-local, which monkey-patching
    would make greenlet-local.
    """
    global _latest
    hub = gevent.get_hub()
    # Most programs have one thread: the last answer, checked, spares the weak dictionary
    # its weak reference per lookup, on every aSocket().
    selector = _latest() if _latest is not None else None
    if selector is not None and selector._hub() is hub and not selector._closed:
        return selector
    selector = _defaults.get(hub)
    if selector is None or selector._closed:
        selector = _defaults[hub] = SelectorManager()
    _latest = weakref.ref(selector)
    return selector
