"""The steps of ``checkTwoWayStream`` and ``checkHalfCloseableStream`` (greensock.testing).

Each step takes a fresh pair from its :class:`~greensock.checkrun.CheckRun` and checks one
rule of SPEC sections 5 to 7; the public functions' docstrings list them.
"""

from __future__ import annotations

import functools
import hashlib
import random
from collections.abc import Callable
from typing import Any

from .checkrun import CheckRun, channels, describe, expectEnd, randomSize, randomText, refused
from .errors import (
    ClosedChannelException,
    ClosedReadChannelException,
    ClosedWriteChannelException,
)

__all__ = ["HALF_CLOSE_STEPS", "TWO_WAY_STEPS"]

#: Bytes each way in the "both ways at once" step of checkTwoWayStream.
BULK_BYTES = 2 * 1024 * 1024
#: The most bytes the close step of checkTwoWayStream leaves unflushed when it closes.
UNFLUSHED_AT_CLOSE = 4096


def _echoInOrder(run: CheckRun, count: int = 100) -> None:
    """Records sent several at a time come back unchanged and in order."""
    with run.step("records echoed in order"):
        first, second = run.pair()
        (incoming, outgoing), (echoIn, echoOut) = channels(first), channels(second)

        def echo() -> None:
            for index in range(count):
                length = echoIn.readInt()
                if not 0 <= length < 4096:
                    run.fail(f"the length of record {index} read as {length}: bytes were lost "
                             "or reordered on the way")
                payload = echoIn.readPacket(length)
                echoOut.writeInt(len(payload))
                echoOut.writePacket(payload)
                echoOut.flush()

        echoing = run.spawn(echo)
        records = [run.random.randbytes(randomSize(run.random, 1, 4096) - 1) for _ in range(count)]
        sent = 0
        while sent < count:
            # Several records in flight at once: their order is what is checked.
            batch = records[sent : sent + run.random.randint(1, 8)]
            for record in batch:
                outgoing.writeInt(len(record))
                outgoing.writePacket(record)
            outgoing.flush()
            for index, record in enumerate(batch, sent):
                length = incoming.readInt()
                if length != len(record):
                    run.fail(f"record {index} of {len(record)} bytes came back with a length of "
                             f"{length}: bytes were lost or reordered on the way")
                back = incoming.readPacket(length)
                if back != record:
                    run.fail(f"record {index} of {describe(record)} came back as "
                             f"{describe(back)}")
            sent += len(batch)
        run.result(echoing, "the echoing side")


def _bothWaysAtOnce(run: CheckRun) -> None:
    """BULK_BYTES each way at once, in chunks of random sizes, arrive with their SHA-256."""
    with run.step(f"{BULK_BYTES} bytes both ways at once"):
        first, second = run.pair()
        ends = (channels(first), channels(second))
        # Each greenlet its own generator, seeded in a fixed order: the choices of one do
        # not depend on how the greenlets interleave.
        payloads = [run.random.randbytes(BULK_BYTES) for _ in range(2)]
        rngs = [random.Random(run.random.getrandbits(64)) for _ in range(4)]

        def send(channel: Any, data: bytes, rng: random.Random) -> None:
            view, done = memoryview(data), 0
            while done < len(data):
                size = randomSize(rng, 1, 65536)
                channel.writeFully(view[done : done + size])
                done += size
                if rng.random() < 0.3:
                    channel.flush()
            channel.flush()

        def receive(channel: Any, size: int, rng: random.Random) -> tuple[int, str]:
            digest, got = hashlib.sha256(), 0
            while got < size:
                want = min(randomSize(rng, 1, 65536), size - got)
                if rng.random() < 0.5:
                    chunk = channel.readPacket(want)
                else:
                    buffer = bytearray(want)
                    count = channel.readAvailable(buffer)
                    if count < 1:
                        run.fail(f"readAvailable returned {count} after {got} of {size} bytes")
                    chunk = bytes(buffer[:count])
                digest.update(chunk)
                got += len(chunk)
            return got, digest.hexdigest()

        greenlets = [
            run.spawn(lambda: send(ends[0][1], payloads[0], rngs[0])),
            run.spawn(lambda: send(ends[1][1], payloads[1], rngs[1])),
            run.spawn(lambda: receive(ends[1][0], BULK_BYTES, rngs[2])),
            run.spawn(lambda: receive(ends[0][0], BULK_BYTES, rngs[3])),
        ]
        run.result(greenlets[0], "the first socket's writer")
        run.result(greenlets[1], "the second socket's writer")
        for direction, payload, reader in (
            ("first to second", payloads[0], greenlets[2]),
            ("second to first", payloads[1], greenlets[3]),
        ):
            got = run.result(reader, f"the reader of {direction}")
            if got != (len(payload), hashlib.sha256(payload).hexdigest()):
                run.fail(
                    f"{direction}: sent {describe(payload)}, read {got[0]} bytes "
                    f"(SHA-256 {got[1][:16]}...)"
                )


#: Reads that block on a socket the peer sends nothing to.
BLOCKING_READS: dict[str, Callable[[Any], Any]] = {
    "readPacket(10)": lambda channel: channel.readPacket(10),
    "readAvailable": lambda channel: channel.readAvailable(bytearray(10)),
    "readUTF8Line": lambda channel: channel.readUTF8Line(),
    "readInt": lambda channel: channel.readInt(),
    "awaitContent": lambda channel: channel.awaitContent(1),
}


def _closeWakesBlockedReader(run: CheckRun) -> None:
    """close() from another greenlet wakes a blocked reader; the socket is then closed for
    good, and its peer reads end of stream."""
    with run.step("close() wakes a blocked reader"):
        first, second = run.pair()
        incoming = first.openReadChannel()
        peerIncoming = second.openReadChannel()
        name = run.random.choice(sorted(BLOCKING_READS))
        read = BLOCKING_READS[name]
        reader = run.spawn(lambda: read(incoming))
        if not run.blocked(reader):
            run.fail(f"{name} on a socket whose peer sends nothing did not block: "
                     f"{run.outcome(reader)}")
        first.close()
        run.expectRaises(reader, ClosedReadChannelException, f"a reader blocked in {name}, "
                         "woken by close(),")
        if not first.awaitClosed(run.timeout) or not first.isClosed:
            run.fail("the socket was not closed (isClosed, awaitClosed) after close()")
        if not first.socketContext.isCompleted:
            run.fail("socketContext did not complete when the socket was closed")
        first.close()  # closing twice is harmless
        first.dispose()
        try:
            first.openWriteChannel()
        except ClosedChannelException:
            pass
        else:
            run.fail("openWriteChannel() on a closed socket did not raise ClosedChannelException")
        try:
            incoming.readPacket(1)
        except ClosedReadChannelException:
            pass
        else:
            run.fail("a read after close() did not raise ClosedReadChannelException")
        expectEnd(run, peerIncoming, "the peer of a closed socket")


def _closeWakesBlockedWriter(run: CheckRun, block: int = 65536, most: int = 64 << 20) -> None:
    """A writer blocks on back-pressure, a second one is refused, close() wakes the first."""
    with run.step("close() wakes a blocked writer"):
        first, _ = run.pair()
        outgoing = first.openWriteChannel()
        chunk = run.random.randbytes(block)

        def flood() -> None:
            for _ in range(most // block):  # bounded: far more than any buffer should hold
                outgoing.writeFully(chunk)
                outgoing.flush()

        writer = run.spawn(flood)
        if not run.blocked(writer):
            outcome = run.outcome(writer)
            if outcome.error is None:
                run.fail(f"{most} bytes went to a peer that reads nothing and the writer never "
                         "blocked: no back-pressure")
            run.fail(f"writing to a peer that reads nothing raised {outcome.error!r}")
        refused(run, lambda: outgoing.writeFully(b"x"), "a write")
        first.close()
        run.expectRaises(writer, ClosedWriteChannelException, "a writer blocked on "
                         "back-pressure, woken by close(),")


def _secondReaderRefused(run: CheckRun) -> None:
    """A second greenlet that would block reading is refused; the first gets its bytes."""
    with run.step("a second blocked reader is refused"):
        first, second = run.pair()
        incoming, outgoing = first.openReadChannel(), second.openWriteChannel()
        reader = run.spawn(lambda: incoming.readPacket(8))
        if not run.blocked(reader):
            run.fail(f"readPacket(8) with nothing sent did not block: {run.outcome(reader)}")
        name = run.random.choice(sorted(BLOCKING_READS))
        read = BLOCKING_READS[name]
        refused(run, lambda: read(incoming), name)
        outgoing.writeFully(b"12345678")
        outgoing.flush()
        if (got := run.result(reader, "the first reader")) != b"12345678":
            run.fail(f"the first reader got {got!r} after a second one was refused, "
                     "expected b'12345678'")


def _closeDeliversWrittenBytes(run: CheckRun) -> None:
    """Bytes written (flushed or not) before close() reach the peer, then end of stream."""
    with run.step("close() delivers bytes written before it"):
        first, second = run.pair()
        outgoing, incoming = first.openWriteChannel(), second.openReadChannel()
        data = run.random.randbytes(randomSize(run.random, 1, 256 * 1024))
        # Reading all along: the writes may need room the kernel frees only as the peer reads.
        reader = run.spawn(lambda: incoming.readRemaining(len(data) + 1))
        # The last bytes stay unflushed: a few KiB at most, well under any channel's room, as
        # a write as large as the room would be handed on at once.
        flushed = len(data) - run.random.randint(1, min(len(data), UNFLUSHED_AT_CLOSE))
        outgoing.writeFully(data[:flushed])
        outgoing.flush()
        outgoing.writeFully(data[flushed:])
        first.close()
        got = run.result(reader, "the peer's readRemaining")
        if got != data:
            run.fail(f"{describe(data)} written before close(), the peer read {describe(got)}")
        expectEnd(run, incoming, "the peer of a closed socket")
        if not first.awaitClosed(run.timeout):
            run.fail("awaitClosed() returned False once the peer had read every byte")


def _closeWriting(run: CheckRun, channel: Any) -> str:
    """Close *channel* normally in one of its three ways; return which."""
    how = run.random.choice(("close()", "flushAndClose()", "with"))
    if how == "close()":
        channel.close()
    elif how == "flushAndClose()":
        channel.flushAndClose()
    else:
        with channel:
            pass
    return how


def _halfClose(run: CheckRun, closing: int) -> None:
    """The socket *closing* (0 or 1) of a pair closes its write channel: the peer reads
    the request then end of stream, answers, and the half-closed socket reads the answer."""
    which = ("first", "second")[closing]
    with run.step(f"the {which} socket of a pair half-closes"):
        pair = run.pair()
        closer, peer = pair[closing], pair[1 - closing]
        (closerIn, closerOut), (peerIn, peerOut) = channels(closer), channels(peer)
        request = run.random.randbytes(randomSize(run.random, 1, 65536))
        reading = run.spawn(lambda: peerIn.readRemaining(len(request) + 1))
        closerOut.writeFully(request)
        how = _closeWriting(run, closerOut)
        if not closerOut.isClosedForWrite:
            run.fail(f"isClosedForWrite is False after the write channel's {how}")
        try:
            closerOut.writeByte(1)
            closerOut.flush()
        except ClosedWriteChannelException:
            pass
        else:
            run.fail(f"writing after the write channel's {how} did not raise "
                     "ClosedWriteChannelException")
        got = run.result(reading, "the peer reading to the end of stream")
        if got != request:
            run.fail(f"the peer read {describe(got)} of a request of {describe(request)} "
                     f"sent before the write channel's {how}")
        expectEnd(run, peerIn, f"the peer of a socket whose write channel's {how} was done")
        if closer.isClosed or peer.isClosed:
            run.fail(f"the write channel's {how} closed a socket: it must only half-close")
        answer = run.random.randbytes(randomSize(run.random, 1, 512 * 1024))
        answering = run.spawn(lambda: (peerOut.writeFully(answer), _closeWriting(run, peerOut)))
        back = closerIn.readRemaining(len(answer) + 1)
        if back != answer:
            run.fail(f"after its write channel's {how}, the socket read {describe(back)} of "
                     f"an answer of {describe(answer)}")
        expectEnd(run, closerIn, "a half-closed socket once its peer closed writing too")
        run.result(answering, "the peer writing its answer")
        for sock in (closer, peer):
            sock.close()
            if not sock.awaitClosed(run.timeout):
                run.fail("a socket whose two directions had ended did not close")


def _halfCloseEndsAPartialLine(run: CheckRun) -> None:
    """A readUTF8Line blocked on a partial line returns it when the peer half-closes."""
    with run.step("a half-close ends a partial line"):
        first, second = run.pair()
        incoming, outgoing = second.openReadChannel(), first.openWriteChannel()
        text = randomText(run.random)
        outgoing.writeStringUtf8(text)
        outgoing.flush()
        reader = run.spawn(incoming.readUTF8Line)
        if not run.blocked(reader):
            run.fail(f"readUTF8Line returned before the line's end: {run.outcome(reader)}")
        outgoing.close()
        if (line := run.result(reader, "readUTF8Line")) != text:
            run.fail(f"readUTF8Line returned {line!r} when the peer half-closed after the "
                     f"partial line {text!r}")
        expectEnd(run, incoming, "the peer after a partial last line")


#: The steps of checkTwoWayStream, in order.
TWO_WAY_STEPS: tuple[Callable[[CheckRun], None], ...] = (
    _echoInOrder,
    _bothWaysAtOnce,
    _closeWakesBlockedReader,
    _closeWakesBlockedWriter,
    _secondReaderRefused,
    _closeDeliversWrittenBytes,
)

#: The steps of checkHalfCloseableStream, in order.
HALF_CLOSE_STEPS: tuple[Callable[[CheckRun], None], ...] = (
    functools.partial(_halfClose, closing=0),
    functools.partial(_halfClose, closing=1),
    _halfCloseEndsAPartialLine,
)
