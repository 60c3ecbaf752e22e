"""The conformance checks of greensock.testing (SPEC section 10).

Every check passes on every kind of pair ``socketPair`` makes, and fails -- with an
AssertionError that says what broke and gives the seed -- on pairs that break its rule
(``broken_pairs.py``). Whatever the verdict, a check closes every pair it made.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import gevent
import pytest
from broken_pairs import brokenPair
from conftest import skip_if_unavailable

from greensock.testing import (
    PAIR_KINDS,
    checkHalfCloseableStream,
    checkNothingLost,
    checkTwoWayStream,
    socketPair,
)

pytestmark = pytest.mark.timeout(120)

CHECKS = (checkTwoWayStream, checkHalfCloseableStream, checkNothingLost)


def maker(kind: str) -> Callable[[], tuple[Any, Any]]:
    """``socketPair`` of *kind* as a makePair; skips what this machine cannot make."""
    skip_if_unavailable(kind)
    return functools.partial(socketPair, kind)


def recording(makePair: Callable[[], tuple[Any, Any]], made: list[Any]) -> Callable[[], Any]:
    """*makePair* that also keeps every socket it made in *made*."""

    def make() -> tuple[Any, Any]:
        pair = makePair()
        made.extend(pair)
        return pair

    return make


def assertAllClosed(made: list[Any]) -> None:
    assert made, "the check made no pair"
    for sock in made:
        inner = getattr(sock, "inner", sock)  # a broken pair's real socket
        assert inner.awaitClosed(10), f"{inner!r} was left open"


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
@pytest.mark.parametrize("kind", PAIR_KINDS)
def test_every_kind_of_pair_passes_every_check(kind: str, check: Callable[..., None]) -> None:
    made: list[Any] = []
    assert check(recording(maker(kind), made)) is None
    assertAllClosed(made)


#: (broken pair, check that catches it, what its message says, step timeout). The timeout
#: is short where the check notices by a step that never finishes.
CAUGHT = [
    ("drops a byte now and then", checkNothingLost, r"bytes were lost or reordered", 10),
    ("drops a byte now and then", checkTwoWayStream, r"records echoed in order", 2),
    ("reads lose bytes when interrupted", checkNothingLost, r"returned .*, expected", 10),
    ("reads translate what is thrown in", checkNothingLost, r"must come out unchanged", 10),
    ("close() wakes readers with EOF", checkTwoWayStream,
     r"woken by close\(\), (returned|raised) .*expected ClosedReadChannelException", 10),
    ("close() wakes readers with EOF", checkNothingLost, r"expected ClosedReadChannelException",
     10),
    ("close() does not wake a blocked reader", checkTwoWayStream,
     r"close\(\) wakes a blocked reader: did not finish within 2 s", 2),
    ("a second reader waits instead of being refused", checkTwoWayStream,
     r"blocked .* instead of raising ConcurrentIOException", 10),
    ("a second reader waits instead of being refused", checkNothingLost,
     r"(instead of raising|expected) ConcurrentIOException", 10),
    ("the write channel's close() closes the socket", checkHalfCloseableStream,
     r"closed a socket: it must only half-close", 10),
    ("the write channel's close() sends no EOF", checkHalfCloseableStream,
     r"half-closes: did not finish within 2 s", 2),
    ("an interrupted flush loses its bytes", checkNothingLost,
     r"flushes interrupted at random moments: .*(totalBytesWritten|SHA-256)", 10),
    ("flushes swap their halves", checkTwoWayStream, r"records echoed in order", 3),
    ("no back-pressure", checkTwoWayStream, r"never blocked: no back-pressure", 10),
    ("close() drops unflushed bytes", checkTwoWayStream,
     r"close\(\) delivers bytes written before it: .* the peer read", 10),
]


@pytest.mark.parametrize(
    ("name", "check", "message", "timeout"),
    CAUGHT,
    ids=[f"{check.__name__}-{name}" for name, check, _, _ in CAUGHT],
)
def test_a_check_fails_on_a_pair_that_breaks_its_rule(
    name: str, check: Callable[..., None], message: str, timeout: float
) -> None:
    made: list[Any] = []
    with pytest.raises(AssertionError, match=message) as failure:
        check(recording(brokenPair(name), made), timeout=timeout)
    assert re.search(r"\[seed=\d+; pass seed=\d+ to replay\]", str(failure.value))
    assertAllClosed(made)


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("close() wakes readers with EOF", checkTwoWayStream),
        ("the write channel's close() closes the socket", checkHalfCloseableStream),
        ("reads lose bytes when interrupted", checkNothingLost),
    ],
)
def test_broken_memory_pairs_are_caught_too(name: str, check: Callable[..., None]) -> None:
    made: list[Any] = []
    with pytest.raises(AssertionError):
        check(recording(brokenPair(name, "memory"), made), timeout=10)
    assertAllClosed(made)


def test_the_seed_replays_the_same_failure() -> None:
    messages = []
    for _ in range(2):
        with pytest.raises(AssertionError, match=r"seed=12345") as failure:
            checkTwoWayStream(brokenPair("flushes swap their halves", "memory"), seed=12345)
        messages.append(str(failure.value))
    assert messages[0] == messages[1]


def test_a_pair_that_hangs_fails_within_the_step_timeout() -> None:
    def hanging() -> tuple[Any, Any]:
        gevent.sleep(60)
        raise AssertionError("unreachable")

    with gevent.Timeout(10), pytest.raises(AssertionError, match=r"did not finish within 0.5 s"):
        checkHalfCloseableStream(hanging, timeout=0.5)


@pytest.mark.parametrize(
    ("made", "message"),
    [
        (lambda: (object(), object()), r"does not provide ISocket"),
        (lambda: socketPair("memory")[0], r"not a pair of sockets"),
    ],
)
def test_a_maker_of_something_else_than_pairs_of_sockets_fails(
    made: Callable[[], Any], message: str
) -> None:
    with pytest.raises(AssertionError, match=message):
        checkTwoWayStream(made)


def test_makePair_must_be_callable() -> None:
    with pytest.raises(TypeError, match="makePair must be callable"):
        checkNothingLost(socketPair("memory"))  # type: ignore[arg-type]
