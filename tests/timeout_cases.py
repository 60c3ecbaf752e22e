"""Bad ``timeout=`` values at every public call, run by test_bad_input.py in a process of its own.

A NaN that reaches gevent's timers stops every timer of the thread for good (and the call
given it waits forever), so a greensock that let one through would hang or poison the test
process itself: these cases run here instead, one after the other, and print one JSON line
each. The test process reads them with a bounded wait; a case that hangs is the last one
announced by a ``{"start": name}`` line without its result.

``python timeout_cases.py nan`` gives each call ``float("nan")`` and reports what it raised,
whether ``gevent.sleep`` and ``gevent.Timeout`` still fire afterwards, and whether the
object is still usable. ``python timeout_cases.py edges`` (run with ``GEVENT_LOOP=libuv``
by the tests, warnings made errors) gives a negative and an infinite timeout to each call,
which that loop cannot take as they are (a warning for the first, OverflowError for the
second).
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import gevent

from greensock import ByteChannel, Datagram, aSocket

LOCAL = "127.0.0.1"
NAN = float("nan")
#: Seconds any step that should succeed may take (generous: the machine may be loaded).
WAIT = 10.0


def report(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def timers_fire() -> bool:
    """Whether a gevent.sleep returns and a gevent.Timeout fires (they hang if the heap broke)."""
    gevent.sleep(0.01)
    try:
        with gevent.Timeout(0.01):
            gevent.sleep(WAIT)
    except gevent.Timeout:
        return True
    return False


class World:
    """Every kind of object with a timeout=, over loopback."""

    def __init__(self) -> None:
        self.tcp = aSocket().tcp()
        self.udp = aSocket().udp()
        self.server = self.tcp.bind(LOCAL, 0)
        self.client, self.accepted = self.pair()
        self.datagrams = self.udp.bind(LOCAL, 0)
        self.sender = self.udp.connect(self.datagrams.localAddress)
        self.job = self.accepted.attachForReading(ByteChannel())

    def pair(self) -> tuple[Any, Any]:
        client = self.tcp.connect(LOCAL, self.server.port, timeout=WAIT)
        return client, self.server.accept(timeout=WAIT)

    def server_usable(self) -> bool:
        client, accepted = self.pair()
        client.close()
        accepted.close()
        return True

    def datagrams_usable(self) -> bool:
        self.sender.send(Datagram(b"ping", self.datagrams.localAddress))
        return bool(self.datagrams.receive(timeout=WAIT).packet == b"ping")

    def stream_usable(self, client: Any, accepted: Any) -> bool:
        output = client.openWriteChannel()
        output.writeStringUtf8("still plain\n")
        output.flush()
        return bool(accepted.openReadChannel().readUTF8Line() == "still plain")

    def tls_case(self, timeout: Any) -> tuple[Callable[[], Any], Callable[[], bool | None]]:
        """``tls()``; usable: still open and plain, nothing sent, when the call refused the
        value. A handshake that timed out is SPEC section 10's business (test_tls.py): None."""
        client, accepted = self.pair()
        if timeout == timeout:
            return lambda: client.tls(timeout=timeout), lambda: None
        return (
            lambda: client.tls(timeout=timeout),
            lambda: not client.isClosed and self.stream_usable(client, accepted),
        )

    def connection_tls_case(
        self, timeout: Any
    ) -> tuple[Callable[[], Any], Callable[[], bool | None]]:
        """``connection.tls()`` (STARTTLS); usable as for ``tls()``."""
        client, accepted = self.pair()
        connection = client.connection()

        def usable() -> bool:
            connection.output.writeStringUtf8("still plain\n")
            connection.output.flush()
            line = accepted.openReadChannel().readUTF8Line()
            return not client.isClosed and line == "still plain"

        if timeout == timeout:
            return lambda: connection.tls(timeout=timeout), lambda: None
        return lambda: connection.tls(timeout=timeout), usable

    def cases(self, timeout: Any) -> dict[str, tuple[Callable[[], Any], Callable[[], bool | None]]]:
        """Each call given *timeout*, and a check that what it was called on still works."""
        udp_open = lambda: not self.datagrams.isClosed and self.datagrams_usable()  # noqa: E731
        return {
            "connect": (
                lambda: self.tcp.connect(LOCAL, self.server.port, timeout=timeout),
                self.server_usable,
            ),
            "accept": (lambda: self.server.accept(timeout=timeout), self.server_usable),
            "receive": (lambda: self.datagrams.receive(timeout=timeout), self.datagrams_usable),
            "incoming.receive": (
                lambda: self.datagrams.incoming.receive(timeout=timeout),
                self.datagrams_usable,
            ),
            "tls": self.tls_case(timeout),
            "connection.tls": self.connection_tls_case(timeout),
            "server.awaitClosed": (
                lambda: self.server.awaitClosed(timeout=timeout),
                lambda: not self.server.isClosed and self.server_usable(),
            ),
            "socket.awaitClosed": (
                lambda: self.client.awaitClosed(timeout=timeout),
                lambda: not self.client.isClosed,
            ),
            "datagram.awaitClosed": (
                lambda: self.datagrams.awaitClosed(timeout=timeout),
                udp_open,
            ),
            "socketContext.join": (
                lambda: self.client.socketContext.join(timeout=timeout),
                lambda: not self.client.isClosed,
            ),
            "job.join": (lambda: self.job.join(timeout=timeout), lambda: self.job.isActive),
        }


def outcome(call: Callable[[], Any]) -> tuple[str, str]:
    """What *call* raised (its class name and message), or ``("returned", repr)``."""
    try:
        result = call()
    except Exception as exc:  # noqa: BLE001 - reported, the parent test judges it
        return type(exc).__name__, str(exc)
    return "returned", repr(result)


def run_nan() -> None:
    world = World()
    for name, (call, usable) in world.cases(NAN).items():
        report(start=name)
        raised, message = outcome(call)
        fire = timers_fire()
        report(case=name, raised=raised, message=message, timers=fire, usable=usable())


def run_edges() -> None:
    """A negative timeout expires at once, an infinite one waits as None does."""
    warnings.simplefilter("error")
    world = World()
    for name, (call, usable) in world.cases(-1).items():
        if name == "connect":
            continue  # a loopback connect may complete without waiting; test_bad_input has it
        report(start=name)
        started = time.monotonic()
        raised, message = outcome(call)
        report(
            case=f"{name}(-1)",
            raised=raised,
            message=message,
            seconds=time.monotonic() - started,
            timers=timers_fire(),
            usable=usable(),
        )
    # An infinite timeout: the call waits until something happens, as with None.
    report(start="receive(inf)")
    waiting = gevent.spawn(world.datagrams.receive, timeout=float("inf"))
    gevent.sleep(0.05)
    still_waiting = not waiting.dead
    world.sender.send(Datagram(b"late", world.datagrams.localAddress))
    received = waiting.get(timeout=WAIT)
    report(case="receive(inf)", waited=still_waiting, received=received.packet == b"late")


if __name__ == "__main__":
    {"nan": run_nan, "edges": run_edges}[sys.argv[1]]()
