"""What every closeable greensock object shares: ``dispose()``, ``with``, ``awaitClosed``."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Any, TypeVar

__all__ = ["Closeable", "SocketLifecycle"]

log = logging.getLogger(__name__)

_C = TypeVar("_C", bound="Closeable")


class Closeable(ABC):
    """An object with ``close()``: ``dispose()`` swallows its errors, ``with`` calls it."""

    __slots__ = ()

    @abstractmethod
    def close(self) -> Any:
        """Close; closing twice is harmless."""

    def dispose(self) -> None:
        """:meth:`close`, swallowing (and logging at debug level) any error."""
        try:
            self.close()
        except Exception:
            log.debug("error while disposing %r", self, exc_info=True)

    def __enter__(self: _C) -> _C:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class SocketLifecycle(Closeable):
    """A socket whose ``socketContext`` job completes when it is closed."""

    __slots__ = ()

    socketContext: Any

    def awaitClosed(self, timeout: float | None = None) -> bool:
        """Block until the socket is fully closed; False if *timeout* seconds passed first.

        The socket's ``socketContext.join``, which checks *timeout*: ValueError for NaN,
        TypeError for what is not a number; a negative one expires at once.
        """
        return bool(self.socketContext.join(timeout))
