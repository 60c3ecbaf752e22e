"""The wait-first policy: receives that expect nothing queued yet wait for readability first.

A receive that asks the kernel while nothing is queued gets "would block": a failing system
call and an exception, then the wait it would have made anyway. In the common shapes of
traffic that is what happens every time: a client reads right after it sent its question
(the peer has yet to read it), a server reads right after it answered (the next request is
yet to come), a UDP socket reads once it has drained what was queued. Such receives wait for
readability first and ask the kernel once woken.

Waiting first is needless when the data comes early (a fast peer, pipelined requests): the
trip through the hub finds the socket readable at once. So the policy is given up after
:attr:`WaitForAnswers.run` such receives in a row, and taken up again only when a receive
finds nothing queued:

- a stream transport (:class:`~greensock.stream.StreamSocket`) applies it to the first
  receive after each send, from the connection's start;
- a datagram transport (:class:`~greensock.datagramsocket.DatagramSocket`) to every receive,
  once one found nothing queued.

This class holds the policy's state for each socket (two fields in the socket's slots) and
its one knob. The two receive paths read the state inline, as a method call per receive
would cost more than the policy saves on small messages.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = ["WaitForAnswers"]


class WaitForAnswers:
    """Mixin of the transports whose receives follow the wait-first policy (module docstring).

    Each transport's ``__init__`` sets the fields it uses: :attr:`_lateAnswers` to
    :attr:`run` where the first receives are expected to find nothing (a new connection's),
    0 where they are not; a stream transport also :attr:`_answerDue`, to False.
    """

    __slots__ = ("_answerDue", "_lateAnswers")

    #: How many receives in a row wait first, at most, before the next asks the kernel at
    #: once (0 turns the policy off). A class-level tunable: set it on this class.
    run: ClassVar[int] = 8

    #: A stream transport sent since its last receive: the next one awaits the peer's answer.
    _answerDue: bool
    #: How many more receives wait first before they ask the kernel at once.
    _lateAnswers: int

    def _foundNothing(self) -> None:
        """A receive found nothing queued: data comes later than reads, so the next
        :attr:`run` receives the policy covers wait first."""
        self._lateAnswers = WaitForAnswers.run
