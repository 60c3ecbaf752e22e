"""A place where at most one greenlet waits: the blocking primitive of in-memory channels
and of the in-memory pipe's ends.

Each side of a channel has one :class:`ParkingSpot`. The rule "one reader and one writer at a
time" (SPEC section 6) is enforced here, once: a second greenlet that would park on an
occupied spot gets :class:`~greensock.errors.ConcurrentIOException` and the first keeps
waiting.
"""

from __future__ import annotations

from typing import Any

from gevent import Timeout, get_hub
from gevent.hub import Waiter

from .errors import ConcurrentIOException


class ParkingSpot:
    """Holds at most one blocked greenlet until another greenlet calls :meth:`unpark`.

    Wake-ups carry no value: the woken greenlet re-reads the state it waits on, so a
    spurious or early wake-up is harmless and a missed one is impossible as long as the
    state changes before :meth:`unpark` is called.
    """

    __slots__ = ("_waiter", "_what")

    def __init__(self, what: str) -> None:
        self._what = what
        self._waiter: Waiter | None = None

    @property
    def occupied(self) -> bool:
        """True while a greenlet is parked here."""
        return self._waiter is not None

    def park(self, seconds: float | None = None, timeoutError: Any = None) -> None:
        """Block the calling greenlet until :meth:`unpark`, or :meth:`interrupt`, or for at
        most *seconds* (None: no bound), after which *timeoutError* (an exception class or
        instance) is raised.

        Raises ConcurrentIOException if another greenlet is already parked here. A
        ``gevent.Timeout`` or ``kill`` raised while parked leaves the spot free.
        """
        if self._waiter is not None:
            raise ConcurrentIOException(
                f"another greenlet is already blocked {self._what} on this channel"
            )
        waiter = Waiter()
        self._waiter = waiter
        try:
            if seconds is None:
                waiter.get()
            else:
                with Timeout(seconds, timeoutError):
                    waiter.get()
        finally:
            if self._waiter is waiter:
                self._waiter = None

    def unpark(self) -> None:
        """Wake the parked greenlet, if any; it runs at the hub's next turn."""
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            # Waiter.switch must run in the hub; the callback also keeps the caller running.
            get_hub().loop.run_callback(waiter.switch, None)

    def interrupt(self, error: BaseException) -> None:
        """Raise *error* in the greenlet parked here at the hub's next turn, if one is then.

        As gevent's ``hub.cancel_wait`` does for a watcher: whoever is parked when the hub
        gets to it, so that one woken meanwhile by :meth:`unpark` is left alone.
        """
        if self._waiter is not None:
            get_hub().loop.run_callback(self._throwIn, error)

    def _throwIn(self, error: BaseException) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.throw(error)
