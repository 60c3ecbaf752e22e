"""The steps of ``checkNothingLost`` (greensock.testing): SPEC principle 3 under fire.

Reads and flushes are interrupted at random moments, the ways :func:`~greensock.checkrun.
interrupted` knows, while the peer sends records in random fragments at a random pace;
what is finally read must be exactly what was sent.
"""

from __future__ import annotations

import functools
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gevent
from gevent.event import Event

from .checkrun import (
    INTERRUPTIONS,
    MAX_DELAY,
    CheckRun,
    Outcome,
    abridged,
    capture,
    channels,
    describe,
    interrupted,
    randomSize,
    randomText,
)
from .errors import ClosedReadChannelException, ClosedReceiveChannelException

__all__ = ["NOTHING_LOST_STEPS"]

#: The reads checkNothingLost interrupts, with the records they read.
RECORD_READS = ("readPacket", "readFully", "readUTF8Line", "readInt")

#: Attempts of a read that may be interrupted before one is left to complete.
INTERRUPTED_ATTEMPTS = 3

#: Bytes each socket writes in the interrupted-flush step once its peer starts reading (it
#: starts when the writer first waits: the kernel's buffers are full then)...
FLUSH_BYTES_AFTER = 4 * 1024 * 1024
#: ... and at most before that: a pair that never makes its writer wait goes this far.
FLUSH_BYTES_MOST = 64 * 1024 * 1024

#: Longest pause, in seconds, of the reader of the interrupted-flush step.
READER_PAUSE = 0.02


@dataclass(frozen=True)
class Record:
    """What a sender sends, the read that takes it, and what that read must return."""

    read: str
    data: bytes
    expected: Any


def randomRecord(rng: random.Random, reads: tuple[str, ...] = RECORD_READS) -> Record:
    """A record for one of *reads*, of random size and content."""
    read = rng.choice(reads)
    if read == "readInt":
        data = rng.randbytes(4)
        return Record(read, data, int.from_bytes(data, "big", signed=True))
    if read == "readUTF8Line":
        # Never a lone "\r": the next record's first byte could be "\n" and join it.
        text = randomText(rng)
        return Record(read, (text + rng.choice(("\n", "\r\n"))).encode(), text)
    data = rng.randbytes(randomSize(rng, 1, 4096))
    return Record(read, data, data)


def readRecord(channel: Any, record: Record) -> Any:
    """Read *record* from *channel* with its read; return what the read returned."""
    if record.read == "readPacket":
        return channel.readPacket(len(record.data))
    if record.read == "readFully":
        buffer = bytearray(len(record.data))
        channel.readFully(buffer)
        return bytes(buffer)
    if record.read == "readUTF8Line":
        return channel.readUTF8Line()
    return channel.readInt()


def needingMore(channel: Any, rng: random.Random) -> tuple[Callable[[], Any], str]:
    """A read that needs one byte more than *channel* holds when it runs, and its name: it
    must wait for the source, which another greenlet is blocked on."""
    name = rng.choice(("awaitContent", "peek", "readPacket"))
    return lambda: getattr(channel, name)(channel.availableForRead + 1), name


def _interruptedReads(run: CheckRun, count: int = 100) -> None:
    """Each socket reads *count* records, its reads interrupted at random moments."""
    with run.step("reads interrupted at random moments"):
        first, second = run.pair()
        ends = (channels(first), channels(second))
        streams = [[randomRecord(run.random) for _ in range(count)] for _ in ends]
        seeds = [run.random.getrandbits(64) for _ in range(4)]

        def send(channel: Any, records: list[Record], rng: random.Random) -> None:
            data = memoryview(b"".join(record.data for record in records))
            done = 0
            while done < len(data):
                size = randomSize(rng, 1, 512)
                channel.writeFully(data[done : done + size])
                channel.flush()
                done += size
                if rng.random() < 0.7:
                    # Slower than the reader: its reads wait, and get interrupted waiting.
                    gevent.sleep(rng.uniform(0, MAX_DELAY))

        def receive(channel: Any, records: list[Record], rng: random.Random, who: str) -> None:
            interruptions = 0
            for index, record in enumerate(records):
                for attempt in range(INTERRUPTED_ATTEMPTS + 1):
                    how = "none"
                    if attempt < INTERRUPTED_ATTEMPTS:
                        how = rng.choice((*INTERRUPTIONS, "none"))
                    call = functools.partial(readRecord, channel, record)
                    if how == "none":
                        outcome: Outcome | None = capture(call)
                    else:
                        outcome = interrupted(run, rng, call, how, needingMore(channel, rng))
                    if outcome is None:
                        interruptions += 1
                        continue
                    what = (f"{who}: {record.read} of record {index} (interrupted by "
                            f"{how}, after {interruptions} interruptions in all)")
                    if outcome.error is not None:
                        run.fail(f"{what} raised {outcome.error!r}; what is thrown into a "
                                 "blocked read must come out unchanged, and nothing else fail")
                    if outcome.value != record.expected:
                        run.fail(f"{what} returned {abridged(outcome.value)}, expected "
                                 f"{abridged(record.expected)}: bytes were lost or reordered")
                    break
            total = sum(len(record.data) for record in records)
            if channel.totalBytesRead != total:
                run.fail(f"{who}: totalBytesRead is {channel.totalBytesRead} after reading "
                         f"the {total} bytes sent")

        greenlets = [
            run.spawn(lambda: send(ends[0][1], streams[0], random.Random(seeds[0]))),
            run.spawn(lambda: send(ends[1][1], streams[1], random.Random(seeds[1]))),
            run.spawn(lambda: receive(ends[1][0], streams[0], random.Random(seeds[2]),
                                      "the second socket")),
            run.spawn(lambda: receive(ends[0][0], streams[1], random.Random(seeds[3]),
                                      "the first socket")),
        ]
        for greenlet, what in zip(
            greenlets, ("a sender", "a sender", "a reader", "a reader"), strict=True
        ):
            run.result(greenlet, what)


def _interruptedFlushes(run: CheckRun) -> None:
    """Each socket writes to a peer that reads late and in spurts, its flushes interrupted
    at random moments: they block whenever the peer's buffers are full."""
    with run.step("flushes interrupted at random moments"):
        first, second = run.pair()
        ends = (channels(first), channels(second))
        rngs = [random.Random(run.random.getrandbits(64)) for _ in range(4)]

        def write(channel: Any, rng: random.Random, peer: _Throttle, who: str) -> str:
            source = rng.randbytes(1 << 20)
            digest, sent = hashlib.sha256(), 0
            while sent < peer.total:
                size = min(randomSize(rng, 1, 16384), peer.total - sent)
                start = rng.randrange(len(source) - size + 1)
                chunk = source[start : start + size]
                if channel.availableForWrite < size:
                    peer.writerWaits(sent)  # this write may have to wait for the peer
                channel.writeFully(chunk)
                digest.update(chunk)
                sent += size
                how = rng.choice((*INTERRUPTIONS, "none"))
                if how == "none":
                    continue
                if how == "a second greenlet":
                    if not peer.started.is_set():
                        how = "kill()"  # that flush would wait for a peer not reading yet
                    else:
                        peer.writerWaits(sent)  # that flush, if it blocks, must finish
                outcome = interrupted(
                    run, rng, channel.flush, how, (lambda: channel.writeFully(b"!"), "a write")
                )
                if outcome is None:
                    peer.writerWaits(sent)  # interrupted blocked: the buffers are full
                elif outcome.error is not None:
                    run.fail(f"{who}: flush() interrupted by {how} raised {outcome.error!r}; "
                             "what is thrown in must come out unchanged")
            peer.writerDone(sent)
            channel.flush()
            if channel.totalBytesWritten != sent:
                run.fail(f"{who}: totalBytesWritten is {channel.totalBytesWritten} once "
                         f"{sent} bytes were written and flushed")
            return digest.hexdigest()

        def read(channel: Any, rng: random.Random, peer: _Throttle) -> str:
            peer.started.wait()
            digest, got, pause = hashlib.sha256(), 0, 0
            while got < peer.total:
                if got >= pause:
                    peer.readerPauses()
                    pause = got + randomSize(rng, 16384, 262144)
                buffer = bytearray(min(randomSize(rng, 1, 65536), peer.total - got))
                count = channel.readAvailable(buffer)
                if count < 1:
                    run.fail(f"readAvailable returned {count} after {got} of {peer.total} bytes")
                digest.update(memoryview(buffer)[:count])
                got += count
            return digest.hexdigest()

        peers = (_Throttle(), _Throttle())
        writers = [
            run.spawn(lambda: write(ends[0][1], rngs[0], peers[0], "the first socket")),
            run.spawn(lambda: write(ends[1][1], rngs[1], peers[1], "the second socket")),
        ]
        readers = [
            run.spawn(lambda: read(ends[1][0], rngs[2], peers[0])),
            run.spawn(lambda: read(ends[0][0], rngs[3], peers[1])),
        ]
        for direction, writer, reader in zip(
            ("first to second", "second to first"), writers, readers, strict=True
        ):
            sent = run.result(writer, f"the writer of {direction}")
            got = run.result(reader, f"the reader of {direction}")
            if got != sent:
                run.fail(f"{direction}: the peer read the bytes written with another SHA-256: "
                         "an interrupted flush lost or repeated some")


class _Throttle:
    """Paces the reader of the interrupted-flush step so that its writer's flushes block.

    The reader starts when the writer first waits for it (the buffers are full then) and
    reads FLUSH_BYTES_AFTER bytes more than were sent by then; it reads in spurts, pausing
    between them until the writer waits again, or READER_PAUSE seconds (TCP may not reopen
    its window for a small read, so a pause must end by itself).
    """

    def __init__(self) -> None:
        self.started = Event()
        #: Bytes the writer sends in all: as many as it can until the reader starts.
        self.total = FLUSH_BYTES_MOST
        self._waiting = Event()
        self._done = False

    def writerWaits(self, sent: int) -> None:
        """The writer, having sent *sent* bytes, waits (or may) for the reader to read."""
        if not self.started.is_set():
            self.total = min(self.total, sent + FLUSH_BYTES_AFTER)
            self.started.set()
        self._waiting.set()

    def writerDone(self, sent: int) -> None:
        """The writer sent its last bytes: the reader reads the rest without pausing."""
        self._done = True
        self.writerWaits(sent)

    def readerPauses(self) -> None:
        """Pause until the writer waits again, or for at most READER_PAUSE seconds."""
        if not self._done:
            self._waiting.clear()
            self._waiting.wait(READER_PAUSE)


def _closeMidRecord(run: CheckRun, local: bool) -> None:
    """A read waits for the rest of a record when its socket (*local*) or the peer closes."""
    closer = "its own socket" if local else "the peer"
    with run.step(f"{closer} closes while a read waits for the rest of a record"):
        first, second = run.pair()
        incoming, outgoing = first.openReadChannel(), second.openWriteChannel()
        # At the peer's end of stream readUTF8Line returns a partial line (a last line
        # without terminator): the exact reads are those that must consume nothing.
        reads = RECORD_READS if local else ("readPacket", "readFully", "readInt")
        record = randomRecord(run.random, reads)
        while len(record.data) < 2:
            record = randomRecord(run.random, reads)
        cut = run.random.randrange(1, len(record.data))
        outgoing.writeFully(record.data[:cut])
        outgoing.flush()
        reader = run.spawn(lambda: readRecord(incoming, record))
        if not run.blocked(reader):
            run.fail(f"{record.read} returned before the rest of its record was sent: "
                     f"{run.outcome(reader)}")
        what = f"{record.read} waiting for the rest of a record when {closer} closed"
        if local:
            first.close()
            run.expectRaises(reader, ClosedReadChannelException, what)
            return
        second.close()
        run.expectRaises(reader, ClosedReceiveChannelException, what)
        rest = incoming.readRemaining(len(record.data))
        if rest != record.data[:cut]:
            run.fail(f"after {record.read} met the end of stream, the {cut} bytes that had "
                     f"arrived read as {describe(rest)}: the failed read consumed some")


#: The steps of checkNothingLost, in order.
NOTHING_LOST_STEPS: tuple[Callable[[CheckRun], None], ...] = (
    _interruptedReads,
    _interruptedFlushes,
    *(
        functools.partial(_closeMidRecord, local=local)
        for _ in range(2)
        for local in (True, False)
    ),
)
