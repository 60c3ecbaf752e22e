"""Byte channels (SPEC section 6) over every transport: in memory, fixed content, TCP, Unix.

Each behaviour is one test parametrized over the channel kinds it makes sense for:

* ``SOURCE_KINDS`` — a read channel that yields some bytes then end of stream: a
  ``ByteReadChannel(content)``, a ``ByteChannel`` fed by a greenlet, and the read channel of a
  socket whose peer writes them then closes its write channel;
* ``PIPE_KINDS`` — a writer and the reader it feeds, driven step by step by the test: one
  ``ByteChannel``, or a client's write channel and its peer's read channel.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import random
import socket
import struct
from collections.abc import Callable
from typing import Any

import gevent
import pytest
from conftest import PIPE_KINDS, SOCKET_KINDS, SOURCE_KINDS, Pipe, open_pair, settle
from kernel import kernel_socket

from greensock import (
    ByteChannel,
    ByteReadChannel,
    ClosedChannelException,
    ClosedReadChannelException,
    ClosedReceiveChannelException,
    ClosedWriteChannelException,
    ConcurrentIOException,
    TooLongLineException,
    aSocket,
)

pytestmark = pytest.mark.timeout(20)

Source = Callable[[str, bytes], Any]
MakePipe = Callable[..., Pipe]

#: More than loopback buffers absorb with nobody reading (a few MB on Linux).
BIG = 24 * 1024 * 1024


def random_bytes(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


def blocks(fn: Callable[..., Any], *args: Any, seconds: float = 0.05) -> bool:
    """True when ``fn(*args)`` is still blocked after *seconds* (it is then interrupted)."""
    try:
        with gevent.Timeout(seconds):
            fn(*args)
    except gevent.Timeout:
        return True
    return False


def started(pipe: Pipe, fn: Callable[..., Any], *args: Any) -> gevent.Greenlet:
    """Spawn ``fn(*args)``, let it run until it blocks, and check that it did block."""
    greenlet = pipe.spawn(fn, *args)
    settle()
    assert not greenlet.ready(), f"{fn.__name__} should be blocked, returned {greenlet.value!r}"
    return greenlet


def send(pipe: Pipe, data: bytes) -> None:
    pipe.writer.writeFully(data)
    pipe.writer.flush()


# -- construction ------------------------------------------------------------------------


def test_ByteReadChannel_encodes_str_as_utf8_and_rejects_other_types() -> None:
    assert ByteReadChannel("h\u00e9").readRemaining() == b"h\xc3\xa9"
    assert ByteReadChannel(bytearray(b"ab")).readRemaining() == b"ab"
    assert ByteReadChannel().readAvailable(bytearray(1)) == -1
    with pytest.raises(TypeError):
        ByteReadChannel(12)  # type: ignore[arg-type]


def test_ByteChannel_checks_its_arguments() -> None:
    with pytest.raises(ValueError):
        ByteChannel(capacity=0)
    with pytest.raises(ValueError):
        ByteChannel(capacity=-1)
    with pytest.raises(TypeError):
        ByteChannel(autoFlush=1)  # type: ignore[arg-type]
    channel = ByteChannel(capacity=10)
    assert channel.availableForWrite == 10
    assert channel.availableForRead == 0
    assert not channel.isClosedForRead and not channel.isClosedForWrite
    assert channel.autoFlush is False


# -- readAvailable -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_readAvailable_returns_every_byte_then_minus_one(make_source: Source, kind: str) -> None:
    data = random_bytes(200_000)
    reader = make_source(kind, data)
    got = bytearray()
    dst = bytearray(7000)
    for _ in range(10_000):
        count = reader.readAvailable(dst)
        if count == -1:
            break
        assert 1 <= count <= len(dst)
        got += dst[:count]
    assert got == data
    assert reader.readAvailable(dst) == -1
    assert reader.totalBytesRead == len(data)
    assert reader.isClosedForRead and reader.isClosedForWrite


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_readAvailable_honours_offset_and_length(make_source: Source, kind: str) -> None:
    reader = make_source(kind, b"abcdefgh")
    assert reader.awaitContent(8)
    dst = bytearray(b"..........")
    assert reader.readAvailable(dst, 2, 3) == 3
    assert dst == b"..abc....."
    view = memoryview(dst)
    assert reader.readAvailable(view, 7) == 3
    assert dst == b"..abc..def"
    assert reader.readAvailable(dst, 0, 0) == 0
    assert reader.readAvailable(dst, 0) == 2
    assert dst[:2] == b"gh"


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_readAvailable_rejects_bad_destinations_consuming_nothing(
    make_source: Source, kind: str
) -> None:
    reader = make_source(kind, b"abc")
    assert reader.awaitContent(3)
    with pytest.raises(TypeError):
        reader.readAvailable(b"xxx")  # read-only
    with pytest.raises(TypeError):
        reader.readAvailable("xxx")
    for zero in (False, 0.0):  # equal to 0, and still no int offset
        with pytest.raises(TypeError):
            reader.readAvailable(bytearray(3), zero)
    with pytest.raises(ValueError):
        reader.readAvailable(bytearray(3), 4)
    with pytest.raises(ValueError):
        reader.readAvailable(bytearray(3), 1, 3)
    with pytest.raises(ValueError):
        reader.readAvailable(bytearray(3), -1)
    assert reader.readRemaining() == b"abc"


@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_socket_readAvailable_receives_straight_into_dst(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind)
    send(pipe, random_bytes(100_000))
    settle()
    dst = bytearray(10)
    assert pipe.reader.readAvailable(dst) == 10
    # Nothing was buffered on the way: the kernel's bytes went into dst only.
    assert pipe.reader.availableForRead == 0
    assert pipe.reader.totalBytesRead == 10
    assert bytes(dst) == random_bytes(100_000)[:10]


@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_readAvailable_blocks_until_bytes_arrive(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind)
    dst = bytearray(100)
    waiting = started(pipe, pipe.reader.readAvailable, dst)
    send(pipe, b"hello")
    assert waiting.get(timeout=5) == 5
    assert dst[:5] == b"hello"


# -- exact reads -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_readFully_fills_dst_or_raises_at_eof_consuming_nothing(
    make_source: Source, kind: str
) -> None:
    reader = make_source(kind, b"0123456789")
    dst = bytearray(b"______")
    reader.readFully(dst, 1, 4)
    assert dst == b"_0123_"
    reader.readFully(memoryview(dst))
    assert dst == b"456789"
    more = make_source(kind, b"abc")
    with pytest.raises(ClosedReceiveChannelException):
        more.readFully(bytearray(4))
    assert more.availableForRead == 3
    assert more.readRemaining() == b"abc"


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_readPacket_is_exact_and_eof_raises_an_EOFError(make_source: Source, kind: str) -> None:
    data = random_bytes(150_000)
    reader = make_source(kind, data)
    assert reader.readPacket(0) == b""
    assert reader.readPacket(100_000) == data[:100_000]
    with pytest.raises(EOFError):
        reader.readPacket(50_001)
    assert reader.readPacket(50_000) == data[100_000:]
    with pytest.raises(ClosedReceiveChannelException):
        reader.readPacket(1)
    with pytest.raises(ValueError):
        reader.readPacket(-1)
    with pytest.raises(TypeError):
        reader.readPacket(1.0)


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_readRemaining_with_and_without_limit(make_source: Source, kind: str) -> None:
    data = random_bytes(120_000)
    reader = make_source(kind, data)
    assert reader.readRemaining(0) == b""
    assert reader.readRemaining(70_000) == data[:70_000]
    assert reader.readRemaining() == data[70_000:]
    assert reader.readRemaining() == b""
    assert reader.readRemaining(10) == b""
    short = make_source(kind, b"abc")
    assert short.readRemaining(10) == b"abc"


# -- numbers -------------------------------------------------------------------------------

INTEGERS = [("Byte", "b", 8), ("Short", "h", 16), ("Int", "i", 32), ("Long", "q", 64)]


def _signed_samples(bits: int) -> list[int]:
    return [-(1 << (bits - 1)), -2, -1, 0, 1, (1 << (bits - 1)) - 1]


def _number_stream() -> tuple[bytes, list[tuple[str, str, Any]]]:
    """Bytes of many numbers in both orders, and the (method, order, value) to read them."""
    data = bytearray()
    expected: list[tuple[str, str, Any]] = []
    for order, prefix in (("big", ">"), ("little", "<")):
        for name, code, bits in INTEGERS:
            for value in _signed_samples(bits):
                data += struct.pack(prefix + code, value)
                expected.append((name, order, value))
        for name, code, value in (
            ("Float", "f", 1.5),
            ("Float", "f", -0.25),
            ("Double", "d", 3.141592653589793),
            ("Double", "d", -1e300),
        ):
            data += struct.pack(prefix + code, value)
            expected.append((name, order, value))
        for raw, value in ((b"\x00", False), (b"\x01", True), (b"\xfe", True)):
            data += raw
            expected.append(("Boolean", order, value))
    return bytes(data), expected


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_read_numbers_are_signed_in_both_byte_orders(make_source: Source, kind: str) -> None:
    data, expected = _number_stream()
    reader = make_source(kind, data)
    for name, order, value in expected:
        got = getattr(reader, f"read{name}")(byteOrder=order)
        assert got == value and type(got) is type(value), (name, order)
    assert reader.readAvailable(bytearray(1)) == -1


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_read_numbers_default_to_big_endian_and_check_byteOrder(
    make_source: Source, kind: str
) -> None:
    reader = make_source(kind, b"\xff\xfe\x00\x01")
    with pytest.raises(ValueError):
        reader.readShort(byteOrder="middle")
    assert reader.readShort() == -2
    assert reader.readShort("little") == 256
    with pytest.raises(ClosedReceiveChannelException):
        reader.readByte()


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_read_number_at_eof_raises_consuming_nothing(make_source: Source, kind: str) -> None:
    reader = make_source(kind, b"\x01\x02\x03")
    with pytest.raises(ClosedReceiveChannelException):
        reader.readInt()
    assert reader.availableForRead == 3
    assert reader.readShort() == 0x0102


@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_write_numbers_accept_signed_and_unsigned_ranges(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind)
    expected = bytearray()
    for order, prefix in (("big", ">"), ("little", "<")):
        for name, code, bits in INTEGERS:
            for value in [*_signed_samples(bits), (1 << bits) - 1, 1 << (bits - 1)]:
                getattr(pipe.writer, f"write{name}")(value, byteOrder=order)
                fmt = prefix + (code if value < 0 else code.upper())
                expected += struct.pack(fmt, value)
        pipe.writer.writeFloat(1.5, order)
        pipe.writer.writeFloat(7, order)
        pipe.writer.writeDouble(-2.5, order)
        pipe.writer.writeDouble(float("inf"), order)
        pipe.writer.writeBoolean(True, order)
        pipe.writer.writeBoolean(False, order)
        expected += struct.pack(prefix + "ffdd", 1.5, 7.0, -2.5, float("inf")) + b"\x01\x00"
    pipe.writer.flush()
    assert pipe.reader.readPacket(len(expected)) == expected
    pipe.writer.writeByte(255)
    pipe.writer.writeShort(0xFFFE, "little")
    pipe.writer.writeInt(0xFFFFFFFF)
    pipe.writer.writeLong(0x8000000000000000)
    pipe.writer.flush()
    assert pipe.reader.readByte() == -1
    assert pipe.reader.readShort("little") == -2
    assert pipe.reader.readInt() == -1
    assert pipe.reader.readLong() == -(1 << 63)
    assert pipe.writer.totalBytesWritten == len(expected) + 15


BAD_NUMBERS = [
    ("writeByte", 256, ValueError),
    ("writeByte", -129, ValueError),
    ("writeShort", 1 << 16, ValueError),
    ("writeShort", -(1 << 15) - 1, ValueError),
    ("writeInt", 1 << 32, ValueError),
    ("writeInt", -(1 << 31) - 1, ValueError),
    ("writeLong", 1 << 64, ValueError),
    ("writeLong", -(1 << 63) - 1, ValueError),
    ("writeFloat", 1e39, ValueError),
    ("writeFloat", -1e39, ValueError),
    ("writeDouble", 10**400, ValueError),
    ("writeFloat", 10**400, ValueError),
    ("writeByte", 1.0, TypeError),
    ("writeInt", "1", TypeError),
    ("writeInt", True, TypeError),
    ("writeLong", None, TypeError),
    ("writeFloat", "1.5", TypeError),
    ("writeDouble", True, TypeError),
    ("writeBoolean", 1, TypeError),
    ("writeBoolean", None, TypeError),
]


@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_write_numbers_reject_bad_values_writing_nothing(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind)
    for method, value, error in BAD_NUMBERS:
        with pytest.raises(error):
            getattr(pipe.writer, method)(value)
    with pytest.raises(ValueError):
        pipe.writer.writeInt(1, byteOrder="native")
    pipe.writer.writeByte(7)
    pipe.writer.flush()
    assert pipe.reader.readPacket(1) == b"\x07"
    assert pipe.writer.totalBytesWritten == 1
    assert not pipe.writer.isClosedForWrite


# -- lines ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_readUTF8Line_line_ends(make_source: Source, kind: str) -> None:
    reader = make_source(kind, b"a\nb\r\nc\rd\r\n\ne\r\r\n\xe2\x82\xac f")
    got = [reader.readUTF8Line() for _ in range(9)]
    assert got == ["a", "b", "c", "d", "", "e", "", "\u20ac f", None]
    assert reader.readUTF8Line() is None


@pytest.mark.parametrize("kind", SOURCE_KINDS)
@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b"", []),
        (b"\n", [""]),
        (b"\r", [""]),
        (b"x\r", ["x"]),
        (b"x\r\r", ["x", ""]),
        (b"no terminator", ["no terminator"]),
        (b"a\xffb\xc3\n\xed\xa0\x80", ["a\ufffdb\ufffd", "\ufffd\ufffd\ufffd"]),
    ],
)
def test_readUTF8Line_edges(make_source: Source, kind: str, data: bytes, lines: list[str]) -> None:
    reader = make_source(kind, data)
    for line in lines:
        assert reader.readUTF8Line() == line
    assert reader.readUTF8Line() is None
    assert reader.totalBytesRead == len(data)


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_readUTF8Line_limit_counts_utf8_bytes_and_consumes_nothing(
    make_source: Source, kind: str
) -> None:
    reader = make_source(kind, "\u00e9\u00e9\u00e9\r\nabcd\nxyz".encode())
    with pytest.raises(TooLongLineException):
        reader.readUTF8Line(5)
    assert reader.availableForRead >= 8
    assert reader.totalBytesRead == 0
    assert reader.readUTF8Line(6) == "\u00e9\u00e9\u00e9"
    with pytest.raises(TooLongLineException):
        reader.readUTF8Line(limit=3)
    with pytest.raises(ValueError):  # TooLongLineException is a ValueError
        reader.readUTF8Line(limit=0)
    assert reader.readUTF8Line(4) == "abcd"
    with pytest.raises(TooLongLineException):
        reader.readUTF8Line(2)
    assert reader.readUTF8Line(3) == "xyz"
    assert reader.readUTF8Line(0) is None


@pytest.mark.parametrize("kind", PIPE_KINDS)
@pytest.mark.parametrize(
    ("after", "first", "second"),
    [(b"\ncd\n", "ab", "cd"), (b"cd\n", "ab", "cd"), (b"\r\n", "ab", "")],
)
def test_readUTF8Line_trailing_CR_waits_for_the_next_byte(
    make_pipe: MakePipe, kind: str, after: bytes, first: str, second: str
) -> None:
    pipe = make_pipe(kind)
    send(pipe, b"ab\r")
    waiting = started(pipe, pipe.reader.readUTF8Line)
    send(pipe, after)
    assert waiting.get(timeout=5) == first
    assert pipe.reader.readUTF8Line() == second


@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_readUTF8Line_trailing_CR_at_eof_ends_the_line(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind)
    send(pipe, b"ab\r")
    waiting = started(pipe, pipe.reader.readUTF8Line)
    pipe.writer.close()
    assert waiting.get(timeout=5) == "ab"
    assert pipe.reader.readUTF8Line() is None


@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_readUTF8Line_decodes_a_code_point_split_across_flushes(
    make_pipe: MakePipe, kind: str
) -> None:
    pipe = make_pipe(kind)
    encoded = "\u20ac\U0001d11e\n".encode()
    send(pipe, encoded[:2])
    waiting = started(pipe, pipe.reader.readUTF8Line)
    send(pipe, encoded[2:5])
    settle()
    assert not waiting.ready()
    send(pipe, encoded[5:])
    assert waiting.get(timeout=5) == "\u20ac\U0001d11e"


@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_readUTF8Line_over_a_line_longer_than_one_receive(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind)
    line = "x" * 300_000
    pipe.spawn(lambda: (pipe.writer.writeStringUtf8(line + "\r\nend"), pipe.writer.close()))
    assert pipe.reader.readUTF8Line() == line
    assert pipe.reader.readUTF8Line() == "end"
    assert pipe.reader.readUTF8Line() is None


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_readUTF8LineTo_appends_the_line(make_source: Source, kind: str) -> None:
    reader = make_source(kind, b"one\r\ntwo\nthree")
    out = io.StringIO()
    assert reader.readUTF8LineTo(out) is True
    assert out.getvalue() == "one"
    with pytest.raises(TooLongLineException):
        reader.readUTF8LineTo(out, 2)
    assert out.getvalue() == "one"
    assert reader.readUTF8LineTo(out, 3) is True
    assert reader.readUTF8LineTo(out) is True
    assert out.getvalue() == "onetwothree"
    assert reader.readUTF8LineTo(out) is False
    assert out.getvalue() == "onetwothree"


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_lines_yields_every_line_until_eof(make_source: Source, kind: str) -> None:
    text = "".join(f"line {i}\r\n" for i in range(2000)) + "last"
    reader = make_source(kind, text.encode())
    assert list(reader.lines()) == [f"line {i}" for i in range(2000)] + ["last"]
    limited = make_source(kind, b"short\nfar too long\n")
    lines = limited.lines(limit=5)
    assert next(lines) == "short"
    with pytest.raises(TooLongLineException):
        next(lines)
    assert limited.readUTF8Line() == "far too long"


def test_lines_and_chunks_check_their_arguments_at_the_call() -> None:
    reader = ByteReadChannel(b"abc\n")
    with pytest.raises(ValueError):
        reader.chunks(0)
    with pytest.raises(TypeError):
        reader.chunks("1")
    with pytest.raises(ValueError):
        reader.lines(-1)
    assert reader.readRemaining() == b"abc\n"


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_chunks_yield_everything_in_pieces_of_at_most_size(make_source: Source, kind: str) -> None:
    data = random_bytes(300_000)
    reader = make_source(kind, data)
    pieces = list(reader.chunks(10_000))
    assert b"".join(pieces) == data
    assert all(0 < len(piece) <= 10_000 for piece in pieces)
    assert list(reader.chunks()) == []


# -- delimiters ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_readUntilDelimiter_leaves_the_delimiter_and_stops_when_dst_is_full(
    make_source: Source, kind: str
) -> None:
    reader = make_source(kind, b"abc||defghij||||xy")
    dst = bytearray(4)
    assert reader.readUntilDelimiter(b"||", dst) == 3
    assert dst[:3] == b"abc"
    assert reader.readUntilDelimiter(b"||", dst) == 0
    reader.skipDelimiter(b"||")
    assert reader.readUntilDelimiter(b"||", dst) == 4
    assert dst == b"defg"
    assert reader.readUntilDelimiter(b"||", dst) == 3
    assert dst[:3] == b"hij"
    reader.skipDelimiter(b"||")
    reader.skipDelimiter(bytearray(b"||"))
    assert reader.readUntilDelimiter(b"||", dst) == 2
    assert dst[:2] == b"xy"
    assert reader.readUntilDelimiter(b"||", dst) == -1
    with pytest.raises(ClosedReceiveChannelException):
        reader.skipDelimiter(b"||")


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_skipDelimiter_raises_ValueError_consuming_nothing(make_source: Source, kind: str) -> None:
    reader = make_source(kind, b"a|b")
    with pytest.raises(ValueError):
        reader.skipDelimiter(b"|")
    assert reader.totalBytesRead == 0
    assert reader.readPacket(1) == b"a"
    with pytest.raises(ValueError):
        reader.skipDelimiter(b"")
    with pytest.raises(TypeError):
        reader.skipDelimiter("|")
    with pytest.raises(TypeError):
        reader.readUntilDelimiter("|", bytearray(2))
    with pytest.raises(TypeError):
        reader.readUntilDelimiter(b"|", b"ro")
    reader.skipDelimiter(b"|")
    assert reader.readRemaining() == b"b"


@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_readUntilDelimiter_waits_for_a_delimiter_split_across_flushes(
    make_pipe: MakePipe, kind: str
) -> None:
    pipe = make_pipe(kind)
    dst = bytearray(5)
    send(pipe, b"abcd|")
    waiting = started(pipe, pipe.reader.readUntilDelimiter, b"|\n", dst)
    send(pipe, b"\nxyz")
    assert waiting.get(timeout=5) == 4
    assert dst[:4] == b"abcd"
    pipe.reader.skipDelimiter(b"|\n")
    pipe.writer.close()
    assert pipe.reader.readRemaining() == b"xyz"


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_readUntilDelimiter_at_eof_with_a_partial_delimiter(make_source: Source, kind: str) -> None:
    reader = make_source(kind, b"abcd|")
    dst = bytearray(5)
    assert reader.readUntilDelimiter(b"|\n", dst) == 5
    assert dst == b"abcd|"
    assert reader.readUntilDelimiter(b"|\n", dst) == -1


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_readUntil_consumes_the_delimiter(make_source: Source, kind: str) -> None:
    reader = make_source(kind, b"key: value\r\n\r\nbody")
    assert reader.readUntil(b": ") == b"key"
    assert reader.readUntil(b"\r\n", limit=5) == b"value"
    assert reader.readUntil(b"\r\n", limit=0) == b""
    with pytest.raises(ClosedReceiveChannelException):
        reader.readUntil(b"\r\n")
    assert reader.readRemaining() == b"body"


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_readUntil_limit_and_eof_consume_nothing(make_source: Source, kind: str) -> None:
    reader = make_source(kind, b"abcd\nrest")
    with pytest.raises(TooLongLineException):
        reader.readUntil(b"\n", limit=3)
    assert reader.totalBytesRead == 0
    assert reader.readUntil(b"\n", limit=4) == b"abcd"
    with pytest.raises(ClosedReceiveChannelException):
        reader.readUntil(b"\n", limit=100)
    with pytest.raises(TooLongLineException):
        reader.readUntil(b"\n", limit=3)
    with pytest.raises(ValueError):
        reader.readUntil(b"")
    assert reader.readRemaining() == b"rest"


@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_readUntil_finds_a_delimiter_split_across_flushes(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind)
    send(pipe, b"ab\r")
    waiting = started(pipe, pipe.reader.readUntil, b"\r\n", 10)
    send(pipe, b"\ncd")
    assert waiting.get(timeout=5) == b"ab"
    assert pipe.reader.readPacket(2) == b"cd"


# -- peek, discard, awaitContent -----------------------------------------------------------


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_peek_consumes_nothing(make_source: Source, kind: str) -> None:
    reader = make_source(kind, b"abcdef")
    assert reader.peek(3) == b"abc"
    assert reader.peek(6) == b"abcdef"
    assert reader.peek(0) == b""
    assert reader.peek(7) is None
    assert reader.totalBytesRead == 0
    assert reader.readRemaining() == b"abcdef"
    assert reader.peek(1) is None


@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_peek_and_awaitContent_wait_for_enough_bytes(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind)
    send(pipe, b"ab")
    peeking = started(pipe, pipe.reader.peek, 4)
    send(pipe, b"c")
    settle()
    assert not peeking.ready()
    send(pipe, b"de")
    assert peeking.get(timeout=5) == b"abcd"
    assert pipe.reader.awaitContent(5) is True
    awaiting = started(pipe, pipe.reader.awaitContent, 7)
    send(pipe, b"f")
    pipe.writer.close()
    assert awaiting.get(timeout=5) is False
    assert pipe.reader.readRemaining() == b"abcdef"


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_awaitContent_true_when_enough_false_at_eof(make_source: Source, kind: str) -> None:
    reader = make_source(kind, b"abc")
    assert reader.awaitContent() is True
    assert reader.awaitContent(3) is True
    assert reader.awaitContent(4) is False
    assert reader.availableForRead == 3
    assert reader.readRemaining() == b"abc"
    assert reader.awaitContent() is False


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_discard_and_discardExact(make_source: Source, kind: str) -> None:
    data = random_bytes(200_000)
    reader = make_source(kind, data)
    assert reader.discard(0) == 0
    assert reader.discard(3) == 3
    reader.discardExact(100_000)
    assert reader.readPacket(10) == data[100_003:100_013]
    assert reader.discard() == len(data) - 100_013
    assert reader.discard() == 0
    assert reader.totalBytesRead == len(data)
    short = make_source(kind, b"abc")
    with pytest.raises(ClosedReceiveChannelException):
        short.discardExact(4)
    with pytest.raises(ValueError):
        short.discard(-1)


# -- copying between channels --------------------------------------------------------------


def _drain(pipe: Pipe) -> gevent.Greenlet:
    return pipe.spawn(pipe.reader.readRemaining)


@pytest.mark.parametrize("dst_kind", PIPE_KINDS)
@pytest.mark.parametrize("src_kind", SOURCE_KINDS)
def test_copyAndClose_between_kinds(
    make_source: Source, make_pipe: MakePipe, src_kind: str, dst_kind: str
) -> None:
    data = random_bytes(300_000, seed=len(src_kind) + len(dst_kind))
    src = make_source(src_kind, data)
    dst = make_pipe(dst_kind, capacity=4096)
    received = _drain(dst)
    assert src.copyAndClose(dst.writer) == len(data)
    assert dst.writer.isClosedForWrite
    assert received.get(timeout=10) == data
    assert src.isClosedForRead
    assert dst.writer.totalBytesWritten == len(data)


@pytest.mark.parametrize("dst_kind", ["memory", "tcp"])
@pytest.mark.parametrize("src_kind", ["content", "memory", "tcp"])
def test_copyTo_with_a_limit_leaves_the_rest_and_dst_open(
    make_source: Source, make_pipe: MakePipe, src_kind: str, dst_kind: str
) -> None:
    data = random_bytes(100_000)
    src = make_source(src_kind, data)
    dst = make_pipe(dst_kind)
    assert src.copyTo(dst.writer, limit=30_000) == 30_000
    assert not dst.writer.isClosedForWrite
    assert dst.reader.readPacket(30_000) == data[:30_000]  # copyTo flushed
    assert src.copyTo(dst.writer, limit=0) == 0
    assert src.readRemaining() == data[30_000:]


@pytest.mark.parametrize("closeOnEnd", [True, False])
@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_joinTo_closes_only_when_asked(make_pipe: MakePipe, kind: str, closeOnEnd: bool) -> None:
    src = ByteChannel()
    dst = make_pipe(kind)
    joining = dst.spawn(src.joinTo, dst.writer, closeOnEnd)
    src.writeFully(b"hello ")
    src.flush()
    assert dst.reader.readPacket(6) == b"hello "  # flushed while src is idle
    src.writeStringUtf8("world")
    src.close()
    joining.get(timeout=5)
    assert dst.reader.readPacket(5) == b"world"
    assert dst.writer.isClosedForWrite is closeOnEnd
    if closeOnEnd:
        assert dst.reader.readAvailable(bytearray(1)) == -1
    else:
        assert blocks(dst.reader.readAvailable, bytearray(1))


@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_copyAndClose_fails_dst_with_the_source_error(make_pipe: MakePipe, kind: str) -> None:
    src = ByteChannel()
    dst = make_pipe(kind)
    copying = dst.spawn(src.copyAndClose, dst.writer)
    src.writeFully(b"abc")
    src.flush()
    assert dst.reader.readPacket(3) == b"abc"
    boom = KeyError("boom")
    src.close(boom)
    with pytest.raises(KeyError):
        copying.get(timeout=5)
    assert dst.writer.closedCause is boom
    with pytest.raises(KeyError):
        dst.writer.writeByte(1)


# -- the write side ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_writeFully_and_writePacket_take_any_bytes_like(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind)
    pipe.writer.writeFully(b"0123456789", 2, 3)
    pipe.writer.writeFully(bytearray(b"abc"), 1)
    pipe.writer.writeFully(memoryview(b"xyz")[1:])
    pipe.writer.writePacket(b"P")
    pipe.writer.writePacket(bytearray(b"Q"))
    pipe.writer.writePacket(memoryview(b"RS"))
    pipe.writer.writeFully(b"ignored", 3, 0)
    pipe.writer.flush()
    assert pipe.reader.readPacket(11) == b"234bcyzPQRS"
    for bad in ("text", 12, None):
        with pytest.raises(TypeError):
            pipe.writer.writeFully(bad)
        with pytest.raises(TypeError):
            pipe.writer.writePacket(bad)
    for zero in (False, 0.0):  # equal to 0, and still no int offset
        with pytest.raises(TypeError):
            pipe.writer.writeFully(b"abc", zero)
    with pytest.raises(ValueError):
        pipe.writer.writeFully(b"abc", 4)
    with pytest.raises(ValueError):
        pipe.writer.writeFully(b"abc", 1, 3)
    pipe.writer.close()
    assert pipe.reader.readRemaining() == b""
    assert pipe.writer.totalBytesWritten == 11


@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_writeStringUtf8_encodes(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind)
    text = "h\u00e9llo \u2603 \U0001d11e"
    pipe.writer.writeStringUtf8(text)
    with pytest.raises(TypeError):
        pipe.writer.writeStringUtf8(b"bytes")
    with pytest.raises(UnicodeEncodeError):
        pipe.writer.writeStringUtf8("\ud800")
    pipe.writer.close()
    assert pipe.reader.readRemaining() == text.encode()


@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_writeAvailable_places_what_fits(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind, capacity=8)
    assert pipe.writer.writeAvailable(b"0123456789", 1, 3) == 3
    assert pipe.writer.writeAvailable(b"") == 0
    big = random_bytes(200_000)
    placed = pipe.writer.writeAvailable(big)
    assert 1 <= placed < len(big)
    if kind == "memory":
        assert placed == 5
    pipe.writer.flush()
    assert pipe.reader.readPacket(3 + placed) == b"123" + big[:placed]
    with pytest.raises(TypeError):
        pipe.writer.writeAvailable("text")


def test_writeAvailable_that_fills_the_channel_makes_it_visible() -> None:
    channel = ByteChannel(capacity=4)
    assert channel.writeAvailable(b"abcdef") == 4
    # A full channel hands its bytes on: the reader may go on without an explicit flush.
    assert channel.availableForRead == 4
    assert channel.totalBytesWritten == 4


@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_socket_writeAvailable_hands_a_full_buffer_on_before_placing_more(
    make_pipe: MakePipe, kind: str
) -> None:
    pipe = make_pipe(kind)
    big = random_bytes(200_000)
    assert pipe.writer.writeAvailable(big) == 65536
    assert pipe.writer.availableForWrite == 0
    # The full buffer goes to the kernel before the next bytes are placed.
    assert pipe.writer.writeAvailable(big, 65536) == 65536
    assert pipe.writer.totalBytesWritten == 65536
    pipe.writer.flush()
    assert pipe.writer.totalBytesWritten == 131072
    assert pipe.reader.readPacket(131072) == big[:131072]


@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_unflushed_bytes_are_not_visible_until_flush(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind)
    pipe.writer.writeFully(b"abc")
    pipe.writer.writeInt(1)
    assert pipe.writer.totalBytesWritten == 0
    settle()
    assert pipe.reader.availableForRead == 0
    dst = bytearray(10)
    assert blocks(pipe.reader.readAvailable, dst)
    pipe.writer.flush()
    assert pipe.writer.totalBytesWritten == 7
    assert pipe.reader.readPacket(7) == b"abc\x00\x00\x00\x01"
    pipe.writer.flush()  # nothing pending: harmless
    assert pipe.writer.totalBytesWritten == 7


@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_autoFlush_makes_every_write_visible(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind, autoFlush=True)
    assert pipe.writer.autoFlush is True
    pipe.writer.writeByte(1)
    assert pipe.reader.readByte() == 1
    pipe.writer.writeStringUtf8("line\n")
    assert pipe.reader.readUTF8Line() == "line"
    assert pipe.writer.writeAvailable(b"xy") == 2
    assert pipe.reader.readPacket(2) == b"xy"
    assert pipe.writer.totalBytesWritten == 8


@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_flushAndClose_delivers_then_ends(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind)
    pipe.writer.writeStringUtf8("bye")
    pipe.writer.flushAndClose()
    assert pipe.writer.isClosedForWrite
    assert pipe.reader.readRemaining() == b"bye"
    assert pipe.reader.readUTF8Line() is None
    assert pipe.reader.isClosedForRead


def test_availableForWrite_and_awaitFreeSpace_follow_the_capacity() -> None:
    channel = ByteChannel(capacity=10)
    assert channel.availableForWrite == 10
    channel.writeFully(b"abcd")
    assert channel.availableForWrite == 6  # unflushed bytes count
    channel.flush()
    assert channel.availableForWrite == 6
    channel.writeFully(b"efghij")
    assert channel.availableForWrite == 0
    assert blocks(channel.awaitFreeSpace)
    waiting = gevent.spawn(channel.awaitFreeSpace)
    settle()
    assert not waiting.ready()
    assert channel.readPacket(3) == b"abc"
    waiting.get(timeout=5)
    assert channel.availableForWrite == 3
    channel.close()
    assert channel.availableForWrite == 0
    with pytest.raises(ClosedWriteChannelException):
        channel.awaitFreeSpace()


@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_socket_availableForWrite_is_the_unflushed_room(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind)
    assert pipe.writer.availableForWrite == 65536
    pipe.writer.writeFully(b"x" * 1000)
    assert pipe.writer.availableForWrite == 64536
    pipe.writer.awaitFreeSpace()  # room left: returns at once
    pipe.writer.flush()
    assert pipe.writer.availableForWrite == 65536


@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_total_counters_are_exact(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind, capacity=1000)
    data = random_bytes(50_000)
    writing = pipe.spawn(
        lambda: (
            pipe.writer.writeFully(data),
            pipe.writer.writeLong(5),
            pipe.writer.writeStringUtf8("\u00e9\n"),
            pipe.writer.flushAndClose(),
        )
    )
    reader = pipe.reader
    assert reader.readPacket(10) == data[:10]
    dst = bytearray(4000)
    reader.readFully(dst)
    assert dst == data[10:4010]
    reader.discardExact(100)
    count = reader.readAvailable(dst)
    assert reader.totalBytesRead == 4110 + count
    rest = reader.readPacket(len(data) - 4110 - count)
    assert rest == data[4110 + count :]
    assert reader.readLong() == 5
    assert reader.readUTF8Line() == "\u00e9"
    writing.get(timeout=5)
    assert reader.totalBytesRead == len(data) + 11
    assert pipe.writer.totalBytesWritten == len(data) + 11


@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_socket_totalBytesWritten_counts_bytes_sent_by_close(
    make_pipe: MakePipe, kind: str
) -> None:
    pipe = make_pipe(kind)
    pipe.writer.writeFully(b"x" * 1000)
    pipe.writer.close()
    assert pipe.reader.readRemaining() == b"x" * 1000
    assert pipe.writer.totalBytesWritten == 1000


@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_context_manager_closes_normally(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind)
    with pipe.writer as writer:
        assert writer is pipe.writer
        writer.writeStringUtf8("done")
    assert pipe.writer.isClosedForWrite
    assert pipe.writer.closedCause is None
    assert pipe.reader.readRemaining() == b"done"


@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_context_manager_closes_with_the_escaping_exception(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind)
    boom = KeyError("boom")
    with pytest.raises(KeyError), pipe.writer:
        pipe.writer.writeStringUtf8("lost")
        raise boom
    assert pipe.writer.isClosedForWrite
    assert pipe.writer.closedCause is boom
    with pytest.raises(KeyError):
        pipe.writer.writeByte(1)
    if kind == "memory":
        with pytest.raises(KeyError):
            pipe.reader.readRemaining()


# -- capacity and back-pressure ------------------------------------------------------------


def test_writer_blocks_at_capacity_counting_unflushed_bytes() -> None:
    channel = ByteChannel(capacity=8)
    channel.writeFully(b"abcde")
    assert channel.availableForRead == 0
    writing = gevent.spawn(channel.writeFully, b"fghij")
    settle()
    assert not writing.ready()
    # A full channel flushed itself before blocking.
    assert channel.availableForRead == 8
    assert channel.availableForWrite == 0
    assert channel.readPacket(8) == b"abcdefgh"
    writing.get(timeout=5)
    channel.flush()
    assert channel.readPacket(2) == b"ij"


def _held(channel: ByteChannel, written: int) -> int:
    """Bytes *channel* holds, flushed or not, once its writer wrote *written* bytes: all the
    writer handed it that its reader did not take."""
    return written - channel.totalBytesRead


def _peak_writer(channel: ByteChannel, data: bytes, peaks: list[int]) -> None:
    """Write *data* a byte at a time, recording after each byte how many the channel held:
    ``len(peaks)`` bytes were written whole (not the one a blocked writeByte waits with)."""
    for value in data:
        channel.writeByte(value)
        peaks.append(_held(channel, len(peaks) + 1))
    channel.flush()


NEEDY_READS: list[tuple[str, Callable[[ByteChannel], Any], Any]] = [
    ("readPacket", lambda c: c.readPacket(64), bytes(range(64))),
    ("readFully", lambda c: (c.readFully(dst := bytearray(64)), bytes(dst))[1], bytes(range(64))),
    ("peek", lambda c: c.peek(64), bytes(range(64))),
    ("awaitContent", lambda c: c.awaitContent(64), True),
    ("readRemaining", lambda c: c.readRemaining(64), bytes(range(64))),
    ("readUntil", lambda c: c.readUntil(b"\x40", limit=100), bytes(range(64))),
    ("readUTF8Line", lambda c: c.readUTF8Line(limit=80), bytes(range(10)).decode()),
]


@pytest.mark.parametrize(
    ("name", "read", "expected"), NEEDY_READS, ids=[n for n, _, _ in NEEDY_READS]
)
def test_a_read_needing_more_than_the_capacity_completes_with_a_bounded_buffer(
    name: str, read: Callable[[ByteChannel], Any], expected: Any
) -> None:
    channel = ByteChannel(capacity=16)
    peaks: list[int] = []
    writing = gevent.spawn(_peak_writer, channel, bytes(range(200)), peaks)
    settle()
    assert not writing.ready()
    assert channel.availableForRead == 16
    with gevent.Timeout(5):
        assert read(channel) == expected
    settle()
    # What each read may need: a search with a limit needs up to the limit plus its delimiter.
    need = {"readUntil": 101, "readUTF8Line": 82}.get(name, 64)
    assert max(peaks) <= need
    assert not writing.ready()
    assert _held(channel, len(peaks)) <= max(16, need)


def test_a_line_limit_bounds_the_buffer() -> None:
    channel = ByteChannel(capacity=16)
    peaks: list[int] = []
    writing = gevent.spawn(_peak_writer, channel, b"x" * 1000, peaks)
    with gevent.Timeout(5), pytest.raises(TooLongLineException):
        channel.readUTF8Line(limit=40)
    settle()
    assert max(peaks) <= 42
    assert not writing.ready()
    with gevent.Timeout(5), pytest.raises(TooLongLineException):
        channel.readUntil(b"\n", limit=30)
    settle()
    assert max(peaks) <= 42
    writing.kill()


def test_an_unbounded_search_grows_as_the_data_needs() -> None:
    channel = ByteChannel(capacity=16)
    writing = gevent.spawn(lambda: (channel.writeFully(b"y" * 5000 + b"\n"), channel.close()))
    with gevent.Timeout(5):
        assert channel.readUTF8Line() == "y" * 5000
        assert channel.readRemaining() == b""
    writing.get(timeout=5)


def test_readRemaining_without_limit_holds_the_whole_stream() -> None:
    channel = ByteChannel(capacity=16)
    data = random_bytes(10_000)
    writing = gevent.spawn(lambda: (channel.writeFully(data), channel.close()))
    with gevent.Timeout(5):
        assert channel.readRemaining() == data
    writing.get(timeout=5)


@pytest.mark.parametrize("capacity", [1, 7, 4096])
def test_random_chunking_through_a_small_channel(capacity: int) -> None:
    rng = random.Random(capacity)
    data = random_bytes(100_000, seed=capacity)
    channel = ByteChannel(capacity=capacity)

    def writer() -> None:
        at = 0
        while at < len(data):
            step = rng.randint(1, 3000)
            channel.writeFully(data, at, min(step, len(data) - at))
            at += step
            if rng.random() < 0.3:
                channel.flush()
        channel.close()

    writing = gevent.spawn(writer)
    got = bytearray()
    dst = bytearray(5000)
    with gevent.Timeout(10):
        while True:
            count = channel.readAvailable(dst, 0, rng.randint(1, 5000))
            if count < 0:
                break
            got += dst[:count]
            assert channel.availableForRead <= capacity
    writing.get(timeout=5)
    assert got == data


# -- close, close(cause), cancel -----------------------------------------------------------


@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_close_lets_the_reader_drain_then_see_eof(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind)
    pipe.writer.writeFully(b"abc")  # not flushed: close flushes
    assert pipe.writer.close() is True
    assert pipe.writer.close() is False
    assert pipe.writer.isClosedForWrite
    assert pipe.writer.closedCause is None
    with pytest.raises(ClosedWriteChannelException):
        pipe.writer.writeByte(1)
    with pytest.raises(ClosedWriteChannelException):
        pipe.writer.writeFully(b"x")
    with pytest.raises(ClosedChannelException):
        pipe.writer.writeStringUtf8("x")
    assert pipe.reader.readPacket(2) == b"ab"
    assert not pipe.reader.isClosedForRead
    assert pipe.reader.readAvailable(bytearray(5)) == 1
    assert pipe.reader.readAvailable(bytearray(5)) == -1
    assert pipe.reader.isClosedForRead
    assert pipe.reader.closedCause is None


@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_close_wakes_a_blocked_reader_with_eof(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind)
    waiting = started(pipe, pipe.reader.readInt)
    pipe.writer.close()
    with pytest.raises(ClosedReceiveChannelException):
        waiting.get(timeout=5)


@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_close_wakes_a_blocked_readAvailable_with_minus_one(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind)
    waiting = started(pipe, pipe.reader.readAvailable, bytearray(10))
    pipe.writer.close()
    assert waiting.get(timeout=5) == -1


@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_chunks_end_at_close_without_an_empty_chunk(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind)
    collecting = started(pipe, lambda: list(pipe.reader.chunks()))
    pipe.writer.writeFully(b"ab")
    pipe.writer.flush()
    settle()
    pipe.writer.close()
    assert collecting.get(timeout=5) == [b"ab"]


@pytest.mark.parametrize("how", ["close", "cancel"])
def test_a_blocked_readAvailable_raises_the_cause_of_a_failing_close(how: str) -> None:
    channel = ByteChannel()
    waiting = gevent.spawn(channel.readAvailable, bytearray(10))
    settle()
    boom = KeyError("boom")
    if how == "close":
        channel.close(boom)
    else:
        channel.cancel(boom)
    with pytest.raises(KeyError) as raised:
        waiting.get(timeout=5)
    assert raised.value is boom


def test_a_blocked_readAvailable_raises_ClosedReadChannelException_on_cancel() -> None:
    channel = ByteChannel()
    waiting = gevent.spawn(channel.readAvailable, bytearray(10))
    settle()
    channel.cancel()
    with pytest.raises(ClosedReadChannelException):
        waiting.get(timeout=5)


def test_a_wake_up_without_bytes_leaves_the_reader_waiting() -> None:
    channel = ByteChannel(capacity=4)
    waiting = gevent.spawn(channel.readAvailable, bytearray(10))
    settle()
    channel.writeFully(b"ab")  # placed, not flushed: nothing readable yet
    channel.awaitFreeSpace()
    settle()
    assert not waiting.ready()
    channel.flush()
    assert waiting.get(timeout=5) == 2


def test_close_with_cause_drops_unread_bytes_and_fails_both_sides() -> None:
    channel = ByteChannel()
    channel.writeFully(b"abc")
    channel.flush()
    channel.writeFully(b"def")
    boom = KeyError("boom")
    assert channel.close(boom) is True
    assert channel.close() is False
    assert channel.close(ValueError()) is False
    assert channel.closedCause is boom
    assert channel.availableForRead == 0
    assert channel.isClosedForRead and channel.isClosedForWrite
    with pytest.raises(KeyError):
        channel.readAvailable(bytearray(1))
    with pytest.raises(KeyError):
        channel.readUTF8Line()
    with pytest.raises(KeyError):
        channel.writeByte(1)
    with pytest.raises(KeyError):
        channel.flush()


def test_close_with_cause_wakes_blocked_reader_and_writer() -> None:
    reading = ByteChannel()
    reader = gevent.spawn(reading.readPacket, 5)
    writing = ByteChannel(capacity=2)
    writer = gevent.spawn(writing.writeFully, b"abcd")
    settle()
    assert not reader.ready() and not writer.ready()
    boom = KeyError("boom")
    reading.close(boom)
    writing.close(boom)
    with pytest.raises(KeyError):
        reader.get(timeout=5)
    with pytest.raises(KeyError):
        writer.get(timeout=5)


@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_socket_write_channel_close_with_cause(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind)
    pipe.writer.writeFully(b"dropped")
    boom = KeyError("boom")
    assert pipe.writer.close(boom) is True
    assert pipe.writer.close() is False
    assert pipe.writer.closedCause is boom
    assert pipe.writer.isClosedForWrite
    with pytest.raises(KeyError):
        pipe.writer.writeByte(1)
    with pytest.raises(KeyError):
        pipe.writer.flush()


@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_socket_write_channel_close_with_cause_wakes_a_blocked_flush(
    make_pipe: MakePipe, kind: str
) -> None:
    pipe = make_pipe(kind)
    writing = pipe.spawn(pipe.writer.writeFully, random_bytes(BIG))
    settle(0.2)
    assert not writing.ready()
    boom = KeyError("boom")
    pipe.writer.close(boom)
    with pytest.raises(KeyError):
        writing.get(timeout=5)


@pytest.mark.parametrize("kind", [*PIPE_KINDS, "content"])
def test_cancel_without_cause_raises_ClosedReadChannelException(
    make_source: Source, make_pipe: MakePipe, kind: str
) -> None:
    if kind == "content":
        reader, writer = ByteReadChannel(b"unread"), None
    else:
        pipe = make_pipe(kind)
        send(pipe, b"unread")
        settle()
        reader, writer = pipe.reader, pipe.writer
    assert reader.cancel() is True
    assert reader.cancel() is False
    assert reader.cancel(KeyError()) is False
    assert reader.isClosedForRead
    assert isinstance(reader.closedCause, ClosedReadChannelException)
    assert reader.availableForRead == 0
    for read in (
        lambda: reader.readAvailable(bytearray(3)),
        reader.readUTF8Line,
        lambda: reader.readPacket(1),
        reader.readRemaining,
        lambda: reader.peek(1),
    ):
        with pytest.raises(ClosedReadChannelException):
            read()
    if kind == "memory":
        with pytest.raises(ClosedReadChannelException):
            writer.writeByte(1)


@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_cancel_with_cause_wakes_a_blocked_reader(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind)
    waiting = started(pipe, pipe.reader.readPacket, 4)
    boom = KeyError("boom")
    assert pipe.reader.cancel(boom) is True
    with pytest.raises(KeyError):
        waiting.get(timeout=5)
    assert pipe.reader.closedCause is boom
    with pytest.raises(KeyError):
        pipe.reader.readByte()


def test_cancel_wakes_a_blocked_writer_of_a_ByteChannel() -> None:
    channel = ByteChannel(capacity=2)
    writer = gevent.spawn(channel.writeFully, b"abcdef")
    settle()
    assert not writer.ready()
    channel.cancel()
    with pytest.raises(ClosedReadChannelException):
        writer.get(timeout=5)


# -- one reader and one writer at a time -----------------------------------------------------


@pytest.mark.parametrize("kind", PIPE_KINDS)
def test_second_blocked_reader_gets_ConcurrentIOException(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind)
    first = started(pipe, pipe.reader.readPacket, 4)
    for read in (
        lambda: pipe.reader.readPacket(1),
        pipe.reader.readUTF8Line,
        lambda: pipe.reader.readAvailable(bytearray(1)),
        pipe.reader.awaitContent,
    ):
        with pytest.raises(ConcurrentIOException):
            with gevent.Timeout(2):
                pipe.spawn(read).get()
    assert not first.ready()
    send(pipe, b"abcdef")
    assert first.get(timeout=5) == b"abcd"
    assert pipe.reader.readPacket(2) == b"ef"


def test_second_blocked_writer_gets_ConcurrentIOException_in_memory() -> None:
    channel = ByteChannel(capacity=4)
    first = gevent.spawn(channel.writeFully, b"abcdefgh")
    settle()
    assert not first.ready()
    for write in (lambda: channel.writeByte(1), lambda: channel.writeAvailable(b"x")):
        with pytest.raises(ConcurrentIOException):
            gevent.spawn(write).get(timeout=2)
    with pytest.raises(ConcurrentIOException):
        gevent.spawn(channel.awaitFreeSpace).get(timeout=2)
    channel.flush()  # nothing pending: the full channel flushed itself, nothing to wait for
    assert channel.readPacket(8) == b"abcdefgh"
    first.get(timeout=5)
    channel.close()
    assert channel.readRemaining() == b""


@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_second_blocked_writer_gets_ConcurrentIOException_on_sockets(
    make_pipe: MakePipe, kind: str
) -> None:
    pipe = make_pipe(kind)
    data = random_bytes(BIG)
    first = pipe.spawn(pipe.writer.writeFully, data)
    settle(0.2)
    assert not first.ready()
    for write in (lambda: pipe.writer.writeByte(1), pipe.writer.awaitFreeSpace):
        with pytest.raises(ConcurrentIOException):
            pipe.spawn(write).get(timeout=2)
    # The blocked writer hands its bytes to the kernel from where they are: none of them
    # is pending, so there is nothing for a flush to wait for.
    pipe.spawn(pipe.writer.flush).get(timeout=2)
    got = pipe.spawn(_sha_to_eof, pipe.reader)
    first.get(timeout=20)
    pipe.writer.close()
    assert got.get(timeout=20) == (len(data), hashlib.sha256(data).hexdigest())


def _sha_to_eof(reader: Any) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    for chunk in reader.chunks(1 << 20):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


@pytest.mark.parametrize("kind", SOCKET_KINDS)
def test_writes_of_every_size_and_source_arrive_in_order(make_pipe: MakePipe, kind: str) -> None:
    # Small writes wait in the channel, writes of the capacity or more into an empty channel
    # go to the kernel from where they are, and the two kinds mix: order must hold throughout.
    pipe = make_pipe(kind)
    writer = pipe.writer
    data = random_bytes(3 * 1024 * 1024, seed=31)
    cuts = [0, 10, 65_536 + 10, 65_536 + 20, 2 * 65_536 + 20, 2 * 65_536 + 21, 1_000_000]
    cuts += [1_000_001, 2_500_000, len(data) - 7, len(data)]
    sources = (bytes, bytearray, memoryview)
    reading = pipe.spawn(_sha_to_eof, pipe.reader)
    with gevent.Timeout(15):
        for index, (start, end) in enumerate(itertools.pairwise(cuts)):
            source = sources[index % len(sources)]
            if index % 2:
                writer.writeFully(source(data), start, end - start)
            else:
                writer.writeFully(source(data[start:end]))
        assert writer.availableForWrite == 65_536 - 7  # the last small write still waits
        writer.close()
    assert reading.get(timeout=15) == (len(data), hashlib.sha256(data).hexdigest())
    assert writer.totalBytesWritten == len(data)


# -- socket channels -----------------------------------------------------------------------


def test_pair_fixtures_are_connected(tcp_pair: Any, tcp6_pair: Any, unix_pair: Any) -> None:
    for client, server in (tcp_pair, tcp6_pair, unix_pair):
        out, incoming = client.openWriteChannel(autoFlush=True), server.openReadChannel()
        out.writeStringUtf8("ping\n")
        with gevent.Timeout(5):
            assert incoming.readUTF8Line() == "ping"
        assert not client.isClosed and not server.isClosed
    assert tcp_pair[0].remoteAddress == tcp_pair[1].localAddress
    assert tcp6_pair[0].remoteAddress.hostname == "::1"


def test_socket_pair_fixture_gives_every_kind(socket_pair: Any) -> None:
    client, server = socket_pair
    out, incoming = server.openWriteChannel(), client.openReadChannel()
    out.writeInt(42)
    out.close()
    with gevent.Timeout(5):
        assert incoming.readInt() == 42
        assert incoming.readAvailable(bytearray(1)) == -1


@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_socket_read_channel_buffers_at_most_one_receive_of_spare(
    make_pipe: MakePipe, kind: str
) -> None:
    pipe = make_pipe(kind)
    data = random_bytes(1_000_000)
    pipe.spawn(send, pipe, data)
    reader = pipe.reader
    with gevent.Timeout(5):
        assert reader.readInt() == int.from_bytes(data[:4], "big", signed=True)
        assert reader.availableForRead <= 65536
        assert reader.readPacket(300_000) == data[4:300_004]
        assert reader.availableForRead <= 65536
        reader.discardExact(100_000)
        assert reader.availableForRead <= 65536
        assert reader.totalBytesRead == 400_004


@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_socket_write_channel_flushes_itself_at_64_KiB(make_pipe: MakePipe, kind: str) -> None:
    pipe = make_pipe(kind)
    writer = pipe.writer
    writer.writeFully(bytes(65535))
    assert writer.totalBytesWritten == 0
    writer.writeByte(1)
    assert writer.totalBytesWritten == 65536
    writer.writeFully(bytes(100_000))
    assert 65536 + 100_000 - writer.totalBytesWritten <= 65536
    writer.flush()
    assert writer.totalBytesWritten == 165_536
    assert pipe.reader.readPacket(165_536)[65535] == 1


@pytest.mark.parametrize("kind", SOCKET_KINDS)
def test_write_channel_close_half_closes(kind: str) -> None:
    with open_pair(kind) as (client, server):
        client_out, client_in = client.openWriteChannel(), client.openReadChannel()
        server_in, server_out = server.openReadChannel(), server.openWriteChannel()
        client_out.writeStringUtf8("request\n")
        client_out.close()
        assert server_in.readUTF8Line() == "request"
        assert server_in.readUTF8Line() is None
        assert server_in.isClosedForRead
        # The other direction still works both ways round.
        server_out.writeStringUtf8("response\n")
        server_out.flush()
        assert client_in.readUTF8Line() == "response"
        server_out.close()
        assert client_in.readAvailable(bytearray(1)) == -1


@pytest.mark.parametrize("kind", SOCKET_KINDS)
def test_peer_eof_is_not_an_error(kind: str) -> None:
    with open_pair(kind) as (client, server):
        out = client.openWriteChannel()
        incoming = server.openReadChannel()
        out.writeFully(b"\x00\x01")
        out.close()
        with pytest.raises(ClosedReceiveChannelException):
            incoming.readInt()
        assert incoming.readShort() == 1
        assert incoming.readUTF8Line() is None
        assert incoming.readAvailable(bytearray(4)) == -1
        with pytest.raises(EOFError):
            incoming.readPacket(1)
        with pytest.raises(ClosedReceiveChannelException):
            incoming.readFully(bytearray(1))
        assert incoming.readRemaining() == b""
        assert incoming.isClosedForWrite and incoming.isClosedForRead
        assert incoming.closedCause is None


@pytest.mark.parametrize("kind", SOCKET_KINDS)
def test_channels_open_once_per_socket(kind: str) -> None:
    with open_pair(kind) as (client, server):
        client.openReadChannel()
        client.openWriteChannel(autoFlush=True)
        with pytest.raises(RuntimeError):
            client.openReadChannel()
        with pytest.raises(RuntimeError):
            client.openWriteChannel()
        server.close()
        with pytest.raises(ClosedChannelException):
            server.openReadChannel()
        with pytest.raises(ClosedChannelException):
            server.openWriteChannel()


@pytest.mark.parametrize("kind", SOCKET_KINDS)
def test_echo_both_ways_at_once(kind: str) -> None:
    data = random_bytes(2_000_000)
    with open_pair(kind) as (client, server):
        echo_in, echo_out = server.openReadChannel(), server.openWriteChannel()
        echo = gevent.spawn(echo_in.copyAndClose, echo_out)
        out, back = client.openWriteChannel(), client.openReadChannel()
        writing = gevent.spawn(lambda: (out.writeFully(data), out.close()))
        with gevent.Timeout(15):
            assert _sha_to_eof(back) == (len(data), hashlib.sha256(data).hexdigest())
        writing.get(timeout=5)
        assert echo.get(timeout=5) == len(data)


@pytest.mark.timeout(30)
def test_copyTo_keeps_bytes_that_arrive_while_it_flushes_its_destination() -> None:
    # The copy finds its source empty, flushes the destination, and that flush blocks (the
    # peer reads nothing yet). Meanwhile the source gets its last bytes and ends: the copy
    # must still move them, not take the end for "nothing more". Small kernel buffers make
    # sure the bytes left pending in the destination cannot leave while the peer sleeps.
    server = aSocket().tcp().bind("127.0.0.1", 0)
    with kernel_socket(server) as listener:  # accepted ones inherit it
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client = aSocket().tcp().connect("127.0.0.1", server.port, configure={"sendBufferSize": 4096})
    accepted = server.accept(timeout=5)
    first = random_bytes(1024 * 1024, seed=11)
    middle = random_bytes(3000, seed=13)
    tail = random_bytes(5000, seed=12)
    source = ByteChannel()
    destination = client.openWriteChannel()
    incoming = accepted.openReadChannel()
    with pytest.raises(gevent.Timeout), gevent.Timeout(0.3):
        destination.writeFully(first)  # straight to the kernel, until it fills up
    sent = destination.totalBytesWritten
    assert 0 < sent < len(first)
    destination.writeFully(middle)  # small: it waits in the channel
    assert destination.availableForWrite == 65536 - len(middle)
    copier = gevent.spawn(source.copyAndClose, destination)
    gevent.sleep(0.2)
    # The copier is blocked flushing, its source empty: a write beside it is refused.
    assert not copier.dead and source.availableForRead == 0
    with pytest.raises(ConcurrentIOException):
        destination.writeByte(0)
    source.writeFully(tail)
    source.close()
    received = incoming.readRemaining()
    assert copier.get(timeout=10) == len(tail)
    expected = first[:sent] + middle + tail
    assert hashlib.sha256(received).digest() == hashlib.sha256(expected).digest()
    for sock in (client, accepted, server):
        sock.close()
