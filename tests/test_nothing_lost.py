"""SPEC principle 3, "nothing is lost", over memory, TCP and Unix channels.

A read interrupted by ``gevent.Timeout``, ``Greenlet.kill()`` or an exception thrown in while
it is blocked half-way consumes nothing: retried, it returns every byte. A ``flush()``
interrupted while the kernel will not take more keeps what the kernel has not taken, the next
flush sends it, and ``totalBytesWritten`` counts only what the kernel took. A
``writeFully`` interrupted on back-pressure keeps what it placed, in order (a large one into
an empty socket channel placed exactly what the kernel took).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from typing import Any

import gevent
import pytest
from conftest import PIPE_KINDS, Pipe, settle

from greensock import ByteChannel
from greensock.socketchannels import WRITE_CAPACITY

pytestmark = pytest.mark.timeout(30)

MakePipe = Callable[..., Pipe]

#: More than loopback buffers absorb with nobody reading (a few MB on Linux).
BIG = 24 * 1024 * 1024
INTERRUPTS = ("timeout", "kill", "exception")


class Interrupted(Exception):
    """The exception a test throws into a blocked operation."""


def random_bytes(size: int, seed: int = 3) -> bytes:
    return random.Random(seed).randbytes(size)


def interrupted(how: str, operation: Callable[[], Any], after: float = 0.05) -> bool:
    """Run *operation* and interrupt it *how* if it is still blocked after *after* seconds.

    True when it was interrupted, False when it completed first.
    """
    if how == "kill":
        greenlet = gevent.spawn(operation)
        settle(after)
        if greenlet.ready():
            greenlet.get()
            return False
        greenlet.kill(timeout=5)
        assert greenlet.dead
        assert isinstance(greenlet.value, gevent.GreenletExit)
        return True
    if how == "timeout":
        timeout, expected = gevent.Timeout(after), gevent.Timeout
    elif how == "exception":
        timeout, expected = gevent.Timeout(after, Interrupted("interrupted")), Interrupted
    else:
        raise AssertionError(how)
    try:
        with timeout:
            operation()
    except expected as exc:
        assert exc is timeout or isinstance(exc, Interrupted)
        return True
    return False


def interrupt(how: str, operation: Callable[[], Any], after: float = 0.05) -> None:
    """Run *operation*, interrupt it *how* once it has blocked; fail if it did not block."""
    assert interrupted(how, operation, after), "the operation completed instead of blocking"


def send(pipe: Pipe, data: bytes) -> None:
    pipe.writer.writeFully(data)
    pipe.writer.flush()


def _read_fully(reader: Any) -> bytes:
    dst = bytearray(12)
    reader.readFully(dst)
    return bytes(dst)


def _read_line_to(reader: Any) -> str:
    out: list[str] = []

    class Sink:
        def write(self, text: str) -> None:
            out.append(text)

    assert reader.readUTF8LineTo(Sink())
    return "".join(out)


def _read_until_delimiter(reader: Any) -> bytes:
    dst = bytearray(20)
    count = reader.readUntilDelimiter(b"|\n", dst)
    return bytes(dst[:count])


#: (name, operation, the bytes it needs, where to cut them, what it returns)
READS: list[tuple[str, Callable[[Any], Any], bytes, int, Any]] = [
    ("readPacket", lambda r: r.readPacket(12), b"0123456789ab", 5, b"0123456789ab"),
    ("readFully", _read_fully, b"0123456789ab", 7, b"0123456789ab"),
    ("readInt", lambda r: r.readInt(), b"\xff\xff\xff\xfe", 2, -2),
    ("readLong", lambda r: r.readLong("little"), b"\x01" + b"\x00" * 7, 3, 1),
    ("readDouble", lambda r: r.readDouble(), b"\x3f\xf8" + b"\x00" * 6, 1, 1.5),
    (
        "readUTF8Line",
        lambda r: r.readUTF8Line(),
        "caf\u00e9 \u20ac!\r\n".encode(),
        8,
        "caf\u00e9 \u20ac!",
    ),
    ("readUTF8Line-cr", lambda r: r.readUTF8Line(), b"abc\r\n", 4, "abc"),
    ("readUTF8Line-limit", lambda r: r.readUTF8Line(20), b"limited line\n", 6, "limited line"),
    ("readUTF8LineTo", _read_line_to, b"to a sink\n", 3, "to a sink"),
    ("readUntil", lambda r: r.readUntil(b"\r\n", 50), b"record\r\n", 7, b"record"),
    ("readUntilDelimiter", _read_until_delimiter, b"field|\n", 6, b"field"),
    ("readRemaining-limit", lambda r: r.readRemaining(9), b"remaining", 4, b"remaining"),
    ("peek", lambda r: r.peek(6), b"peeked", 2, b"peeked"),
    ("awaitContent", lambda r: r.awaitContent(6), b"waited", 3, True),
]


@pytest.mark.parametrize("how", INTERRUPTS)
@pytest.mark.parametrize(
    ("name", "read", "data", "cut", "expected"), READS, ids=[r[0] for r in READS]
)
@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_read_interrupted_half_way_loses_nothing(
    make_pipe: MakePipe,
    kind: str,
    name: str,
    read: Callable[[Any], Any],
    data: bytes,
    cut: int,
    expected: Any,
    how: str,
) -> None:
    pipe = make_pipe(kind)
    reader = pipe.reader
    send(pipe, data[:cut])
    settle()
    # Interrupted twice while blocked half-way: nothing was consumed either time.
    for _ in range(2):
        interrupt(how, lambda: read(reader))
        assert reader.totalBytesRead == 0
        assert reader.availableForRead == cut
    send(pipe, data[cut:] + b"tail")
    with gevent.Timeout(5):
        assert read(reader) == expected
    pipe.writer.close()
    with gevent.Timeout(5):
        rest = reader.readRemaining()
    if name in ("peek", "awaitContent"):
        assert rest == data + b"tail"
    elif name == "readUntilDelimiter":
        assert rest == b"|\ntail"
    else:
        assert rest == b"tail"
    assert reader.totalBytesRead == len(data) + 4


@pytest.mark.parametrize("how", INTERRUPTS)
@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_a_long_line_interrupted_many_times_arrives_whole(
    make_pipe: MakePipe, kind: str, how: str
) -> None:
    pipe = make_pipe(kind, capacity=1 << 20)
    line = "\u00e9" * 150_000  # 300 kB of two-byte code points, cut at odd offsets
    encoded = line.encode() + b"\n"
    step = 60_001
    for at in range(0, len(encoded) - 1, step):
        pipe.spawn(send, pipe, encoded[at : min(at + step, len(encoded) - 1)]).get(timeout=5)
        settle()
        interrupt(how, pipe.reader.readUTF8Line, after=0.02)
    send(pipe, b"\n")
    with gevent.Timeout(5):
        assert pipe.reader.readUTF8Line() == line
    assert pipe.reader.totalBytesRead == len(encoded)


@pytest.mark.parametrize("kind", ["content", *PIPE_KINDS])
def test_readUTF8LineTo_whose_sink_fails_keeps_the_line(
    make_source: Callable[[str, bytes], Any], kind: str
) -> None:
    reader = make_source(kind, b"first\r\nsecond\n")

    class Failing:
        def write(self, text: str) -> None:
            raise Interrupted(text)

    with gevent.Timeout(5), pytest.raises(Interrupted):
        reader.readUTF8LineTo(Failing())
    assert reader.totalBytesRead == 0
    with gevent.Timeout(5):
        assert list(reader.lines()) == ["first", "second"]


@pytest.mark.parametrize("how", ["timeout", "kill"])
@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_interrupted_flush_keeps_every_byte_the_kernel_did_not_take(
    make_pipe: MakePipe, kind: str, how: str
) -> None:
    pipe = make_pipe(kind)
    writer = pipe.writer
    data = random_bytes(BIG)
    placed = _fill_until_flush_blocks(writer, data, how)
    taken = writer.totalBytesWritten
    assert 0 < taken < placed

    reading = pipe.spawn(_size_and_sha, pipe.reader)
    with gevent.Timeout(20):
        writer.flush()
        assert writer.totalBytesWritten == placed
        writer.writeFully(data, placed)
        writer.flush()
    assert writer.totalBytesWritten == len(data)
    writer.close()
    assert reading.get(timeout=20) == (len(data), hashlib.sha256(data).hexdigest())
    assert pipe.reader.totalBytesRead == len(data)


@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_close_after_an_interrupted_flush_sends_the_rest_and_counts_it(
    make_pipe: MakePipe, kind: str
) -> None:
    pipe = make_pipe(kind)
    writer = pipe.writer
    data = random_bytes(BIG, seed=9)
    placed = _fill_until_flush_blocks(writer, data, "timeout")
    # close() cannot block: what the kernel did not take goes out in the background.
    with gevent.Timeout(1):
        assert writer.close() is True
    assert writer.isClosedForWrite
    with gevent.Timeout(20):
        assert _size_and_sha(pipe.reader) == (placed, hashlib.sha256(data[:placed]).hexdigest())
    assert writer.totalBytesWritten == placed


@pytest.mark.parametrize("how", INTERRUPTS)
@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_writeFully_interrupted_on_back_pressure_keeps_what_it_placed(
    make_pipe: MakePipe, kind: str, how: str
) -> None:
    pipe = make_pipe(kind, capacity=10_000)
    writer = pipe.writer
    data = random_bytes(BIG if kind != "memory" else 100_000, seed=11)
    interrupt(how, lambda: writer.writeFully(bytearray(data)), after=0.2)
    assert writer.totalBytesWritten < len(data)
    if kind != "memory":
        # Larger than the capacity, into an empty socket channel: it went to the kernel from
        # the caller's buffer, so it placed exactly what the kernel took, and nothing waits.
        assert writer.totalBytesWritten > 0
        assert writer.availableForWrite == WRITE_CAPACITY

    reading = pipe.spawn(_size_and_sha, pipe.reader)
    with gevent.Timeout(20):
        writer.flush()  # the placed bytes go out with the next flush, in order
        placed = writer.totalBytesWritten
        assert 0 < placed < len(data)
        writer.writeFully(memoryview(data), placed)
        writer.close()
    assert writer.totalBytesWritten == len(data)
    assert reading.get(timeout=20) == (len(data), hashlib.sha256(data).hexdigest())


def test_interrupted_writer_of_a_ByteChannel_placed_a_prefix_the_reader_sees() -> None:
    channel = ByteChannel(capacity=8)
    interrupt("timeout", lambda: channel.writeFully(b"abcdefghijkl"))
    channel.flush()
    assert channel.totalBytesWritten == 8
    assert channel.readPacket(8) == b"abcdefgh"
    assert channel.availableForRead == 0
    channel.writeFully(b"ijkl")
    channel.close()
    assert channel.readRemaining() == b"ijkl"


@pytest.mark.parametrize("how", INTERRUPTS)
@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_interrupted_copyTo_neither_loses_nor_repeats(
    make_pipe: MakePipe, kind: str, how: str
) -> None:
    src = ByteChannel(capacity=5000)
    dst = make_pipe(kind, capacity=3000)
    data = random_bytes(200_000, seed=5)

    def feed() -> None:
        for at in range(0, len(data), 10_000):
            src.writeFully(data, at, 10_000)
            src.flush()
            gevent.sleep(0.02)
        src.close()

    feeding = dst.spawn(feed)
    # Interrupted while waiting for the source or for room in the destination.
    for _ in range(3):
        interrupt(how, lambda: src.copyTo(dst.writer), after=0.05)
    reading = dst.spawn(_size_and_sha, dst.reader)
    with gevent.Timeout(20):
        src.copyAndClose(dst.writer)
    feeding.get(timeout=5)
    assert reading.get(timeout=20) == (len(data), hashlib.sha256(data).hexdigest())


def _fill_until_flush_blocks(writer: Any, data: bytes, how: str) -> int:
    """Place bytes of *data* while the peer does not read, until a flush stays blocked and
    is interrupted *how*; return how many bytes were placed.

    The kernel may still find room now and then by compacting its queues: try again then.
    """
    placed = 0
    for _ in range(30):
        with pytest.raises(gevent.Timeout), gevent.Timeout(0.2):
            while placed < len(data):
                placed += writer.writeAvailable(data, placed)
        if interrupted(how, writer.flush, after=0.1):
            return placed
    pytest.fail("the kernel kept taking bytes: flush never blocked")


def _size_and_sha(reader: Any) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    for chunk in reader.chunks(1 << 20):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()
