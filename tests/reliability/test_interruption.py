"""SPEC principle 3 under interruption: whatever is thrown into a blocked call — a bare
``gevent.Timeout``, one carrying the caller's own exception (``TimeoutError("deadline")``,
``socket.timeout``, an ``OSError``...), ``Greenlet.kill()`` with or without an exception —
reaches the caller as the very object thrown in, consumes nothing the call did not return,
and leaves the channel intact: retried, the operation gives exactly the bytes that were sent,
on the in-memory ByteChannel, TCP, Unix and TLS alike (and UDP, and accept).

Two layers: a deterministic matrix (every read and write operation x every transport x the
interruptions of ``_support.MATRIX``, each blocked half-way on purpose), and hypothesis
drawing sequences of operations, fragmentations of the input, delays and interruptions.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import gevent
import gevent.event
import pytest

import greensock

from . import _support
from ._streams import (
    READ_OPERATIONS,
    WRITE_OPERATIONS,
    ReadRecord,
    WriteStream,
    build_read,
    first_difference,
)
from ._support import EXTRA, MATRIX, PATIENCE, Spawned, interrupt, retried, settle

pytestmark = pytest.mark.timeout(120)

hypothesis = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")
given = hypothesis.given

KINDS = ("memory", "tcp", "unix", "tls")

#: The sentinel that follows the records: read last, it proves the channel still works.
SENTINEL = b"<<the channel still works>>"


def _needs(kind: str) -> None:
    if kind == "tls" and not _support.has_trustme():
        pytest.skip("trustme is not installed")


@contextmanager
def pipe(kind: str, capacity: int = 65536) -> Iterator[tuple[Any, Any]]:
    """``(writer, reader)``: one ByteChannel, or a client's write channel and the server's
    read channel. The client's kernel send buffer is small, so that writes block soon."""
    _needs(kind)
    if kind == "memory":
        channel = greensock.ByteChannel(capacity=capacity)
        yield channel, channel
        return
    with _support.connected_pair(kind, {"sendBufferSize": 4096}) as (client, server):
        yield client.openWriteChannel(), server.openReadChannel()


def send(writer: Any, data: bytes) -> None:
    writer.writeFully(data)
    writer.flush()


def fix_lone_cr(records: list[ReadRecord]) -> None:
    """A line ended by a lone CR must not be followed by LF (that would make it CRLF)."""
    for record, following in itertools.pairwise(records):
        if record.payload.endswith(b"\r") and following.payload.startswith(b"\n"):
            record.payload = record.payload[:-1] + b"\n"


def read_sentinel(reader: Any, cause: str) -> None:
    got = retried(lambda: reader.readPacket(len(SENTINEL)), "reading on", cause)
    assert got == SENTINEL, f"after {cause} the stream was shifted: {got!r}"


# -- reads, deterministic -------------------------------------------------------------------


READ_CASES = [(op, how) for op in READ_OPERATIONS for how in MATRIX] + [
    (op, how) for op in ("readPacket", "readUTF8Line") for how in EXTRA
]
WRITE_CASES = [(op, how) for op in WRITE_OPERATIONS for how in MATRIX] + [
    (op, how) for op in ("writeFully", "flush") for how in EXTRA
]


@pytest.mark.parametrize(("operation", "how"), READ_CASES)
@pytest.mark.parametrize("kind", KINDS)
def test_read_blocked_half_way_and_interrupted_keeps_the_channel_and_every_byte(
    kind: str, operation: str, how: str
) -> None:
    record = build_read(operation, random.Random(f"{operation}/{how}"))
    fix_lone_cr([record, ReadRecord("sentinel", SENTINEL, SENTINEL, lambda r: None)])
    payload = record.payload
    # Half of it (none for operations that complete on any byte): the read must block.
    cut = len(payload) // 2 if operation not in ("readAvailable", "chunks") else 0
    if operation.startswith("readUTF8Line") and payload.endswith(b"\r"):
        cut = len(payload)  # the line is all there but for the byte that tells CR from CRLF
    with pipe(kind) as (writer, reader), Spawned() as spawn:
        send(writer, payload[:cut])
        settle()
        before = reader.totalBytesRead
        for attempt in range(2):
            result = interrupt(how, lambda: record.attempt(reader), after=0.02)
            assert result.interrupted, f"{operation} completed on {cut} of {len(payload)} bytes"
            if operation != "discardExact":
                assert reader.totalBytesRead == before, (
                    f"{operation} interrupted ({how}) consumed "
                    f"{reader.totalBytesRead - before} bytes it did not return"
                )
            assert reader.closedCause is None, (
                f"{how} (attempt {attempt + 1}) failed the channel: {reader.closedCause!r}"
            )
            assert not reader.isClosedForRead
        cause = f"{how} interrupted {operation} on {kind}"
        spawn(send, writer, payload[cut:] + SENTINEL)
        while not retried(lambda: record.attempt(reader), operation, cause):
            pass
        record.check()
        read_sentinel(reader, cause)
        # The write side is intact too.
        retried(lambda: send(writer, SENTINEL), "writing", cause)
        read_sentinel(reader, cause)


# -- writes, deterministic ------------------------------------------------------------------


def _write_then_verify(kind: str, operation: str, how: str, after: float) -> None:
    stream = WriteStream(operation, seed=len(operation) * 31 + len(how))
    with pipe(kind, capacity=4096) as (writer, reader), Spawned() as spawn:
        go = gevent.event.Event()
        received = bytearray()

        def read_everything() -> None:
            go.wait()
            dst = bytearray(65536)
            while not received.endswith(SENTINEL):
                count = reader.readAvailable(dst)
                assert count > 0, f"readAvailable returned {count} before the sentinel"
                received.extend(dst[:count])

        reading = spawn(read_everything)
        base = writer.totalBytesWritten
        result = interrupt(how, lambda: stream.write_until_blocked(writer), after=after)
        assert result.interrupted
        cause = f"{how} interrupted {operation} blocked on back-pressure ({kind})"
        assert writer.closedCause is None, f"{cause} failed the channel: {writer.closedCause!r}"
        assert not writer.isClosedForWrite
        go.set()
        # Everything placed goes out with the next flush; totalBytesWritten then counts it.
        retried(writer.flush, "flush", cause)
        placed = writer.totalBytesWritten - base
        retried(lambda: stream.resume(writer, placed), operation, cause)
        retried(lambda: send(writer, SENTINEL), "flush", cause)
        _support.outcome(reading)
        assert reading.successful(), f"the reader failed after {cause}: {reading.exception!r}"
        expected = stream.expected() + SENTINEL
        assert len(received) == len(expected), (
            f"after {cause}: {len(received)} bytes arrived, {len(expected)} were written "
            f"(totalBytesWritten said {placed} were placed when interrupted)"
        )
        assert received == expected, (
            f"after {cause}: the bytes differ, {first_difference(received, expected)}"
        )


@pytest.mark.parametrize(("operation", "how"), WRITE_CASES)
@pytest.mark.parametrize("kind", KINDS)
def test_write_blocked_on_back_pressure_and_interrupted_keeps_the_channel_and_every_byte(
    kind: str, operation: str, how: str
) -> None:
    _write_then_verify(kind, operation, how, after=0.05)


# -- hypothesis: random operations, fragments, delays, interruptions ------------------------


@st.composite
def read_scenarios(draw: Any) -> dict[str, Any]:
    seed = draw(st.integers(0, 2**32 - 1))
    operations = draw(st.lists(st.sampled_from(READ_OPERATIONS), min_size=1, max_size=4))
    interruptions = draw(
        st.lists(
            st.tuples(st.sampled_from(sorted(_support.INTERRUPTIONS)), st.floats(0.0, 0.03)),
            max_size=6,
        )
    )
    cuts = draw(st.lists(st.integers(1, 4096), min_size=1, max_size=12))
    delays = draw(st.lists(st.sampled_from((0.0, 0.0, 0.001, 0.005, 0.015)), min_size=1,
                           max_size=12))
    return {
        "seed": seed,
        "operations": operations,
        "interruptions": interruptions,
        "cuts": cuts,
        "delays": delays,
    }


#: Seconds a scenario's feed may sleep in all: one byte every few milliseconds would make a
#: long record take longer to arrive than a read may wait (PATIENCE). Longer plans keep their
#: rhythm, faster.
FEED_BUDGET = 2.0


def _feed(writer: Any, data: bytes, cuts: list[int], delays: list[float]) -> None:
    """Send *data* in fragments of the drawn sizes, each after its drawn delay (scaled down
    to fit :data:`FEED_BUDGET`)."""
    fragments = []
    offset = index = 0
    while offset < len(data):
        size = cuts[index % len(cuts)]
        fragments.append((delays[index % len(delays)], data[offset : offset + size]))
        offset += size
        index += 1
    planned = sum(delay for delay, _ in fragments)
    scale = min(1.0, FEED_BUDGET / planned) if planned else 1.0
    owed = 0.0
    for delay, fragment in fragments:
        # A timer fires a millisecond late at best: shorter delays are gathered until they
        # add up to one, and meanwhile the feed only yields.
        owed += delay * scale
        if owed >= 0.001:
            gevent.sleep(owed)
            owed = 0.0
        else:
            gevent.sleep(0)
        send(writer, fragment)


@pytest.mark.parametrize("kind", KINDS)
@given(scenario=read_scenarios())
def test_reads_interrupted_at_random_points_return_exactly_what_was_sent(
    kind: str, scenario: dict[str, Any]
) -> None:
    rng = random.Random(scenario["seed"])
    records = [build_read(name, rng) for name in scenario["operations"]]
    fix_lone_cr([*records, ReadRecord("sentinel", SENTINEL, SENTINEL, lambda r: None)])
    data = b"".join(record.payload for record in records) + SENTINEL
    plan = list(scenario["interruptions"])
    with pipe(kind) as (writer, reader), Spawned() as spawn:
        feeding = spawn(_feed, writer, data, scenario["cuts"], scenario["delays"])
        for record in records:
            done = False
            while not done:
                if plan:
                    how, after = plan.pop(0)
                    result = interrupt(how, lambda r=record: r.attempt(reader), after)
                    if result.interrupted:
                        assert reader.closedCause is None, (
                            f"{how} failed the channel during {record.name}: "
                            f"{reader.closedCause!r}"
                        )
                        continue
                    done = result.value
                else:
                    done = retried(lambda r=record: r.attempt(reader), record.name,
                                   "random interruptions")
            record.check()
        read_sentinel(reader, f"random interruptions of {scenario['operations']}")
        _support.outcome(feeding)
        assert feeding.successful(), f"the writer failed: {feeding.exception!r}"


@pytest.mark.parametrize("kind", KINDS)
@given(
    operation=st.sampled_from(WRITE_OPERATIONS),
    how=st.sampled_from(sorted(_support.INTERRUPTIONS)),
    after=st.floats(0.02, 0.12),
)
def test_writes_interrupted_at_random_points_deliver_exactly_what_was_written(
    kind: str, operation: str, how: str, after: float
) -> None:
    if kind == "memory" and operation == "flush":
        return  # an in-memory flush never blocks
    _write_then_verify(kind, operation, how, after)


# -- UDP, accept, the TLS handshake --------------------------------------------------------


@contextmanager
def udp_pair() -> Iterator[tuple[Any, Any]]:
    udp = greensock.aSocket().udp()
    receiver = udp.bind("127.0.0.1", 0)
    sender = udp.bind("127.0.0.1", 0)
    try:
        yield sender, receiver
    finally:
        receiver.dispose()
        sender.dispose()


@pytest.mark.parametrize("how", MATRIX + EXTRA)
@pytest.mark.parametrize("api", ["receive", "receive(timeout)", "incoming.receive"])
def test_udp_receive_interrupted_leaves_the_socket_receiving(api: str, how: str) -> None:
    with udp_pair() as (sender, receiver):
        if api == "receive":
            call = receiver.receive
        elif api == "receive(timeout)":
            def call() -> Any:
                return receiver.receive(timeout=PATIENCE)
        else:
            call = receiver.incoming.receive
        for _ in range(2):
            assert interrupt(how, call, after=0.05).interrupted
        cause = f"{how} interrupted {api}"
        sender.send(greensock.Datagram(b"after", receiver.localAddress))
        datagram = retried(call, api, cause)
        assert datagram.packet == b"after"
        assert datagram.address == sender.localAddress


@pytest.mark.parametrize("how", MATRIX + EXTRA)
def test_udp_read_channel_interrupted_keeps_every_payload(how: str) -> None:
    with udp_pair() as (sender, receiver):
        channel = receiver.openReadChannel()
        sender.send(greensock.Datagram(b"0123", receiver.localAddress))
        settle()
        for _ in range(2):
            assert interrupt(how, lambda: channel.readPacket(8), after=0.05).interrupted
            assert channel.closedCause is None
        sender.send(greensock.Datagram(b"4567", receiver.localAddress))
        cause = f"{how} interrupted readPacket on a datagram read channel"
        assert retried(lambda: channel.readPacket(8), "readPacket", cause) == b"01234567"
        sender.send(greensock.Datagram(b"more", receiver.localAddress))
        assert retried(lambda: receiver.receive(timeout=PATIENCE), "receive", cause) is not None


@pytest.mark.parametrize("how", MATRIX + EXTRA)
def test_accept_interrupted_leaves_the_server_accepting(how: str) -> None:
    with _support.listening("tcp") as (server, target):
        for _ in range(2):
            assert interrupt(how, server.accept, after=0.05).interrupted
        assert not server.isClosed
        client = greensock.aSocket().tcp().connect(*target, timeout=PATIENCE)
        try:
            accepted = retried(server.accept, "accept", f"{how} interrupted accept")
            accepted.close()
        finally:
            client.close()


def test_tls_handshake_timeout_before_any_peer_byte_leaves_the_socket_open() -> None:
    _needs("tls")
    with _support.connected_pair("tcp") as (client, _server):
        with pytest.raises(greensock.SocketTimeoutException):
            client.tls(_support.tls().client, serverName="localhost", timeout=0.2)
        assert not client.isClosed, (
            "SPEC 10: a handshake timeout that passes before any byte of the peer's handshake "
            "arrived leaves the socket open"
        )
