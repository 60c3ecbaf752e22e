"""The harness greensock.testing's conformance checks run in (see :mod:`greensock.testing`).

A :class:`CheckRun` holds what one run of a check shares: its seeded random generator, its
steps (each bounded by ``gevent.Timeout``), and the pairs and greenlets it made, which it
closes and kills at the end whatever happened. The rest are the tools the steps share:
interrupting a call the ways SPEC principle 3 names (:func:`interrupted`), checking that a
second greenlet is refused (:func:`refused`), and end of stream (:func:`expectEnd`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, NoReturn

import gevent
from zope.interface import Invalid
from zope.interface.verify import verifyObject

from .errors import ClosedReceiveChannelException, ConcurrentIOException
from .interfaces import ISocket

__all__ = [
    "INTERRUPTIONS",
    "MAX_DELAY",
    "STEP_TIMEOUT",
    "TEXT",
    "CheckRun",
    "Outcome",
    "abridged",
    "capture",
    "channels",
    "describe",
    "expectEnd",
    "interrupted",
    "randomSize",
    "randomText",
    "refused",
    "runCheck",
]

Pair = tuple[Any, Any]
MakePair = Callable[[], Pair]

#: Seconds any one step of a check may take by default: far more than a conforming pair
#: needs on a loaded machine, so that only a pair that hangs runs out of it.
STEP_TIMEOUT = 30.0

#: Seconds to let other greenlets run and loopback deliver before deciding that a
#: greenlet is blocked. A greenlet that is not blocked never yields, so this only needs to
#: outlast the callbacks and one loopback delivery, not a slow machine.
SETTLE = 0.05

#: Seconds a greenlet may take to stop once killed.
KILL_TIMEOUT = 5.0


class Overdue(BaseException):
    """Thrown into a check when a step outlived its timeout.

    A BaseException, as ``gevent.Timeout`` is: code under test that catches ``Exception``
    must not swallow it.
    """


@dataclass
class Outcome:
    """How a call made in a greenlet of its own ended: its value, or what it raised."""

    value: Any = None
    error: BaseException | None = None


def capture(call: Callable[[], Any]) -> Outcome:
    """Call *call* and return how it ended; an exception is kept, not raised."""
    try:
        return Outcome(value=call())
    except Exception as exc:  # noqa: BLE001 - examined by the check, never lost
        return Outcome(error=exc)


class CheckRun:
    """One run of a check: its seeded random, its bounded steps, and the pairs and greenlets
    it made, all of which it closes and kills at the end, whatever happened."""

    def __init__(self, check: str, makePair: MakePair, seed: int | None, timeout: float) -> None:
        if not callable(makePair):
            raise TypeError(f"makePair must be callable, got {type(makePair).__name__}")
        if seed is None:
            seed = random.SystemRandom().randrange(1 << 32)
        self.check = check
        self.seed = seed
        self.random = random.Random(seed)
        #: Seconds each step may take.
        self.timeout = timeout
        self._makePair = makePair
        self._step = "start"
        self._sockets: list[Any] = []
        self._greenlets: list[gevent.Greenlet] = []

    def __enter__(self) -> CheckRun:
        return self

    def __exit__(
        self,
        excType: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        gevent.killall(self._greenlets, block=True, timeout=KILL_TIMEOUT)
        for sock in self._sockets:
            dispose = getattr(sock, "dispose", None)
            if not callable(dispose):
                continue  # not a socket: makePair was wrong, and the verdict says so
            # A broken close must not hang the clean-up, nor hide the check's verdict.
            with gevent.Timeout(KILL_TIMEOUT, False), contextlib.suppress(Exception):
                dispose()

    def error(self, problem: str) -> AssertionError:
        """The AssertionError this check fails with: the step, *problem* and the seed."""
        return AssertionError(
            f"{self.check}: {self._step}: {problem} "
            f"[seed={self.seed}; pass seed={self.seed} to replay]"
        )

    def fail(self, problem: str) -> NoReturn:
        """Fail the check: raise :meth:`error`."""
        raise self.error(problem)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Run a step bounded in time; a hang or an unexpected error fails the check."""
        self._step = name
        overdue = Overdue()
        try:
            with gevent.Timeout(self.timeout, overdue):
                yield
        except Overdue as exc:
            if exc is not overdue:
                raise
            self.fail(f"did not finish within {self.timeout} s (something never happened)")
        except AssertionError:
            raise
        except Exception as exc:
            raise self.error(f"unexpected {exc!r}") from exc

    def pair(self) -> Pair:
        """A fresh pair from makePair, closed at the end; fail unless it is two ISockets."""
        made = self._makePair()
        try:
            first, second = made
        except (TypeError, ValueError):
            self._sockets.append(made)  # closed at the end, if it is a socket
            self.fail(f"makePair() returned {made!r}, not a pair of sockets")
        self._sockets += [first, second]
        for sock in (first, second):
            try:
                verifyObject(ISocket, sock)
            except Invalid as exc:
                self.fail(f"makePair() returned {sock!r}, which does not provide ISocket: {exc}")
        return first, second

    def spawn(self, call: Callable[[], Any]) -> gevent.Greenlet:
        """Run *call* in a greenlet whose value is its :class:`Outcome`; killed at the end."""
        greenlet = gevent.spawn(capture, call)
        self._greenlets.append(greenlet)
        return greenlet

    def outcome(self, greenlet: gevent.Greenlet) -> Outcome:
        """Wait for a :meth:`spawn` greenlet (bounded by the step) and return its outcome."""
        greenlet.join()
        value = greenlet.value
        if isinstance(value, Outcome):
            return value
        if isinstance(value, BaseException):  # a GreenletExit: it was killed
            return Outcome(error=value)
        raise greenlet.exception  # only something thrown into capture, such as Overdue

    def result(self, greenlet: gevent.Greenlet, what: str) -> Any:
        """The value of a :meth:`spawn` greenlet; fail if it raised."""
        outcome = self.outcome(greenlet)
        if isinstance(outcome.error, AssertionError):
            raise outcome.error
        if outcome.error is not None:
            raise self.error(f"{what} raised {outcome.error!r}") from outcome.error
        return outcome.value

    def blocked(self, greenlet: gevent.Greenlet) -> bool:
        """Give *greenlet* a moment to finish; True if it is still waiting."""
        greenlet.join(SETTLE)
        return not greenlet.dead

    def expectRaises(
        self, greenlet: gevent.Greenlet, expected: type[BaseException], what: str
    ) -> None:
        """Wait for *greenlet*; fail unless its call raised *expected*."""
        outcome = self.outcome(greenlet)
        if not isinstance(outcome.error, expected):
            got = f"raised {outcome.error!r}" if outcome.error else f"returned {outcome.value!r}"
            self.fail(f"{what} {got}, expected {expected.__name__}")


def runCheck(
    check: str,
    steps: Sequence[Callable[[CheckRun], None]],
    makePair: MakePair,
    seed: int | None,
    timeout: float,
) -> None:
    """Run the *steps* of the check named *check*, in order, in one :class:`CheckRun`."""
    with CheckRun(check, makePair, seed, timeout) as run:
        for step in steps:
            step(run)


def randomSize(rng: random.Random, low: int, high: int) -> int:
    """A size from *low* to *high*, spread evenly over the orders of magnitude: a uniform
    draw would almost never be small, and small sizes are where framing bugs hide."""
    return min(high, int(math.exp(rng.uniform(math.log(low), math.log(high + 1)))))


def channels(sock: Any) -> tuple[Any, Any]:
    """Open *sock*'s read and write channels; return them in that order."""
    return sock.openReadChannel(), sock.openWriteChannel()


def describe(data: bytes) -> str:
    """*data* in a failure message: its length and the start of its SHA-256."""
    return f"{len(data)} bytes (SHA-256 {hashlib.sha256(data).hexdigest()[:16]}...)"


def abridged(value: Any) -> str:
    """The repr of *value* in a failure message, cut short when long."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(value)} long)"


def expectEnd(run: CheckRun, channel: Any, who: str) -> None:
    """Fail unless *channel* is at the end of stream, with SPEC's end-of-stream answers."""
    if (count := channel.readAvailable(bytearray(8))) != -1:
        run.fail(f"{who}: readAvailable returned {count} at end of stream, expected -1")
    if (line := channel.readUTF8Line()) is not None:
        run.fail(f"{who}: readUTF8Line returned {line!r} at end of stream, expected None")
    if channel.awaitContent(1):
        run.fail(f"{who}: awaitContent(1) returned True at end of stream")
    try:
        channel.readPacket(1)
    except ClosedReceiveChannelException:
        pass
    else:
        run.fail(f"{who}: readPacket(1) at end of stream did not raise "
                 "ClosedReceiveChannelException")
    if not channel.isClosedForRead:
        run.fail(f"{who}: isClosedForRead is False at end of stream")


def refused(run: CheckRun, intrude: Callable[[], Any], what: str) -> None:
    """Fail unless *intrude*, called while another greenlet is inside a blocking call on
    the same side of a channel, raises ConcurrentIOException at once.

    Called from the check's own greenlet, without a switch in between: the other greenlet
    cannot have finished its call meanwhile. A call that blocks instead is interrupted.
    """
    timer = gevent.Timeout(SETTLE)
    try:
        with timer:
            value = intrude()
    except ConcurrentIOException:
        return
    except gevent.Timeout as exc:
        if exc is not timer:
            raise
        run.fail(f"{what} from a second greenlet blocked while another greenlet was blocked "
                 "on the channel, instead of raising ConcurrentIOException")
    except Exception as exc:  # noqa: BLE001 - the verdict says what it was
        run.fail(f"{what} from a second greenlet while another was blocked on the channel "
                 f"raised {exc!r}, expected ConcurrentIOException")
    run.fail(f"{what} from a second greenlet while another was blocked on the channel "
             f"returned {abridged(value)}, expected ConcurrentIOException")


#: Ways checkNothingLost interrupts a call: ``gevent.Timeout`` (plain, and with an
#: exception of the caller's own), ``kill()`` (plain, and with an exception), and a second
#: greenlet trying the same side while the call is blocked.
INTERRUPTIONS = (
    "gevent.Timeout",
    "gevent.Timeout(TimeoutError)",
    "kill()",
    "kill(OSError)",
    "a second greenlet",
)

#: Longest delay, in seconds, before an interruption: the sender's pace is of that order,
#: so interruptions land before, during and after the arrival of a record's bytes.
MAX_DELAY = 0.003


def interrupted(
    run: CheckRun,
    rng: random.Random,
    call: Callable[[], Any],
    how: str,
    intrude: tuple[Callable[[], Any], str],
) -> Outcome | None:
    """Run *call* and interrupt it *how* after a random delay.

    Returns None when it was interrupted and what was thrown in came out unchanged, and its
    :class:`Outcome` when it completed first (or raised something else). With "a second
    greenlet", *intrude* (a call and its description) is tried while *call* is blocked, and
    must be refused; *call* then completes.
    """
    delay = rng.uniform(0, MAX_DELAY)
    if how.startswith("gevent.Timeout"):
        exception = TimeoutError("thrown in by greensock.testing") if "(" in how else None
        timer = gevent.Timeout(delay, exception)
        thrown: BaseException = timer if exception is None else exception
        try:
            with timer:
                return Outcome(value=call())
        except (gevent.Timeout, Exception) as exc:  # noqa: BLE001 - examined, never lost
            return None if exc is thrown else Outcome(error=exc)
    greenlet = run.spawn(call)
    # Started first (the callbacks run in order): an expired timer may otherwise come back
    # before a new greenlet ever ran, and interrupting a call never made tells nothing.
    gevent.sleep(0)
    if not greenlet.dead:
        # Blocked: interrupt it a random moment later. (One that completed at once needs
        # no delay, which would only slow the check down.)
        gevent.sleep(delay)
    if how == "a second greenlet":
        if not greenlet.dead:
            refused(run, *intrude)
        return run.outcome(greenlet)
    error = OSError(errno.EIO, "thrown in by greensock.testing") if "(" in how else None
    if error is None:
        greenlet.kill(block=True, timeout=KILL_TIMEOUT)
    else:
        greenlet.kill(error, block=True, timeout=KILL_TIMEOUT)
    if not greenlet.dead:
        run.fail(f"a call killed with {how} did not stop within {KILL_TIMEOUT} s")
    outcome = run.outcome(greenlet)
    if error is None:
        throughUnchanged = isinstance(outcome.error, gevent.GreenletExit)
    else:
        throughUnchanged = outcome.error is error
    return None if throughUnchanged else outcome


#: Characters of the lines of checkNothingLost: multi-byte ones make code points split
#: across fragments; no line terminator.
TEXT = "abcdefghijklmnopqrstuvwxyz 0123456789 .,;:!?-_ \u00e9\u00df\u20ac\u0436\u4e2d\U0001f600"


def randomText(rng: random.Random) -> str:
    """A line's text of 1 to 200 characters of :data:`TEXT`."""
    return "".join(rng.choice(TEXT) for _ in range(randomSize(rng, 1, 200)))
