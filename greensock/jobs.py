"""Jobs (SPEC section 7): completion state, and the pump greenlets behind attachFor*."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import gevent
from gevent.event import Event
from zope.interface import implementer

from .errors import ClosedChannelException, ClosedWriteChannelException
from .interfaces import IJob, IReaderJob, IWriterJob
from .timeouts import checked_timeout

__all__ = ["CompletionHandler", "Job", "PumpJob", "ReaderJob", "WriterJob"]

log = logging.getLogger(__name__)

CompletionHandler = Callable[[BaseException | None], Any]


@implementer(IJob)
class Job:
    """A unit of work that completes once, normally (cause None) or with a cause.

    Runs no code of its own: whoever owns it calls :meth:`_complete`. ``socketContext`` is
    one; *onCancel* is what :meth:`cancel` asks the owner to do (close the socket).

    As in ktor, a job that completes with a cause (it failed, or was cancelled) counts as
    cancelled. A job cancelled without a cause completes with a ``gevent.GreenletExit``, the
    greenlet world's CancellationException.
    """

    def __init__(self, onCancel: Callable[[BaseException | None], Any] | None = None) -> None:
        self._onCancel = onCancel
        self._completed = False
        self._cancelled = False
        self._cause: BaseException | None = None
        #: What cancel() was given (a GreenletExit when nothing): the completion cause.
        self._cancelCause: BaseException | None = None
        self._handlers: list[CompletionHandler] = []
        # Created on the first join only: most jobs are never joined.
        self._event: Event | None = None

    def __repr__(self) -> str:
        state = "cancelled" if self._cancelled else "completed" if self._completed else "active"
        return f"<{type(self).__name__} {state}>"

    @property
    def isActive(self) -> bool:
        """True until the job completes."""
        return not self._completed

    @property
    def isCompleted(self) -> bool:
        """True once the job completed, normally, with an error or by cancellation."""
        return self._completed

    @property
    def isCancelled(self) -> bool:
        """True once :meth:`cancel` was called, or the job completed with an error (ktor)."""
        return self._cancelled

    def _complete(self, cause: BaseException | None = None) -> bool:
        """Complete the job and run its handlers; False if it was already complete.

        A cancelled job completes with its cancellation cause, whatever *cause* says.
        """
        if self._completed:
            return False
        if self._cancelCause is not None:
            cause = self._cancelCause
        self._completed = True
        # Never called now (cancel does nothing once complete); the owner's callback would
        # keep a cycle through the owner alive until the cyclic collector ran.
        self._onCancel = None
        self._cancelled = cause is not None
        self._cause = cause
        if self._event is not None:
            self._event.set()
        handlers, self._handlers = self._handlers, []
        for handler in handlers:
            self._runHandler(handler)
        return True

    def _runHandler(self, handler: CompletionHandler) -> None:
        try:
            handler(self._cause)
        except Exception:
            # One faulty handler must not stop the others nor the completion itself.
            log.exception("completion handler %r of %r failed", handler, self)

    def join(self, timeout: float | None = None) -> bool:
        """Block until the job completes; False if *timeout* seconds passed first.

        ValueError for a NaN *timeout*, TypeError for one that is not a number (even on a
        completed job: the call is wrong either way); a negative one expires at once.
        """
        timeout = checked_timeout(timeout)
        if self._completed:
            return True
        if self._event is None:
            self._event = Event()
        return bool(self._event.wait(timeout))

    def cancel(self, cause: BaseException | None = None) -> None:
        """Cancel the job: its owner stops the work and the job completes as cancelled.

        Handlers get *cause*, or a ``gevent.GreenletExit`` without one. Idempotent; no effect
        on a completed job. Returns without waiting for the owner to wind down.
        """
        if self._completed or self._cancelled:
            return
        self._cancelled = True
        self._cancelCause = cause if cause is not None else gevent.GreenletExit()
        if self._onCancel is not None:
            self._onCancel(cause)
        else:
            self._complete()

    def invokeOnCompletion(self, handler: CompletionHandler) -> None:
        """Call ``handler(cause)`` on completion (cause None when normal); at once if done."""
        if not callable(handler):
            raise TypeError(f"handler must be callable, got {type(handler).__name__}")
        if self._completed:
            self._runHandler(handler)
        else:
            self._handlers.append(handler)


class PumpJob(Job):
    """A job that runs *work* in its own greenlet (``self.greenlet``) and owns *channel*.

    Cancelling kills the greenlet and fails the channel with the cause.
    """

    def __init__(self, work: Callable[[], Any], channel: Any) -> None:
        super().__init__(onCancel=self._stop)
        self.channel = channel
        self.greenlet = gevent.spawn(self._run, work)

    def _run(self, work: Callable[[], Any]) -> None:
        try:
            work()
        except gevent.GreenletExit:
            pass  # killed by cancel(): completes with the cancellation cause
        except Exception as exc:  # noqa: BLE001 - the job's cause, seen by its handlers
            # The channel's other user must not wait for a pump that is gone. After cancel()
            # the work may fail first with the channel's failure: the job still completes
            # with the cancellation cause (_complete sees to it).
            self._failChannel(exc)
            self._complete(exc)
            return
        self._complete()

    def _failChannel(self, cause: BaseException) -> None:
        """Fail :attr:`channel` so that its other user sees *cause*."""
        self.channel.cancel(cause)

    def _stop(self, cause: BaseException | None) -> None:
        # The channel's other user gets a ClosedChannelException, never a GreenletExit: raised
        # in their greenlet, that would end it silently.
        self._failChannel(
            cause if cause is not None else ClosedChannelException("the job was cancelled")
        )
        self.greenlet.kill(block=False)
        if self.greenlet.dead:
            self._complete()


@implementer(IWriterJob)
class WriterJob(PumpJob):
    """Pumps bytes from a socket into :attr:`channel` (``attachForReading``)."""

    def _failChannel(self, cause: BaseException) -> None:
        self.channel.close(cause)


@implementer(IReaderJob)
class ReaderJob(PumpJob):
    """Pumps bytes from :attr:`channel` out to a socket (``attachForWriting``)."""

    def stopTakingRest(self) -> bytes:
        """The socket closes: stop pumping, and return what :attr:`channel` still held.

        As in ktor, closing the socket closes the attached channel normally: what was written
        to it goes out with the socket's last bytes (the caller sends what this returns),
        later writes to it raise ClosedWriteChannelException.
        """
        if self.isCompleted:
            return b""
        channel = self.channel
        rest = b""
        try:
            channel.close()
            if channel.availableForRead > 0:
                rest = bytes(channel.readPacket(channel.availableForRead))
        except Exception as exc:  # noqa: BLE001 - a failed channel has nothing left to send
            log.debug("%r: could not take the attached channel's bytes: %s", self, exc)
        self.cancel(ClosedWriteChannelException("the socket was closed"))
        return rest
