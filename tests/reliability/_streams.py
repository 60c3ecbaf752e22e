"""Read and write "records" for the interruption tests: each knows the bytes it puts on the
wire, how to attempt its operation once (which may be interrupted), and what must come out.

A record keeps its own progress between attempts, so an operation that legitimately returns
part of the data (``readAvailable``) or drops it (``discardExact``, whose progress
``totalBytesRead`` reports) is retried for the rest only: whatever the channel loses or
repeats shows up as a wrong value here or in the records after it.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from typing import Any


def brief(value: Any) -> str:
    """A repr short enough for a failure message."""
    text = repr(value)
    if len(text) <= 120:
        return text
    size = f"{len(value)} items: " if hasattr(value, "__len__") else ""
    return f"<{size}{text[:60]}...{text[-40:]}>"


def first_difference(got: bytes, expected: bytes) -> str:
    """Where two byte strings part, for a failure message."""
    for index, (a, b) in enumerate(zip(got, expected, strict=False)):
        if a != b:
            return f"first difference at byte {index} of {len(expected)}"
    return f"{len(got)} bytes instead of {len(expected)}"


class ReadRecord:
    """One read operation and the bytes it must consume."""

    def __init__(self, name: str, payload: bytes, expected: Any, call: Callable[[Any], Any]):
        self.name = name
        self.payload = payload
        self.expected = expected
        self._call = call
        self.value: Any = None

    def attempt(self, reader: Any) -> bool:
        """Try the operation once; True when the record is complete."""
        self.value = self._call(reader)
        return True

    def check(self) -> None:
        assert self.value == self.expected, (
            f"{self.name} returned {brief(self.value)}, expected {brief(self.expected)}: bytes "
            f"were lost, repeated or reordered by an interruption"
        )


class ReadAvailableRecord(ReadRecord):
    """``readAvailable`` into a small buffer until every byte of the payload came."""

    def __init__(self, payload: bytes, size: int = 7) -> None:
        super().__init__("readAvailable", payload, payload, lambda r: None)
        self._got = bytearray()
        self._size = size

    def attempt(self, reader: Any) -> bool:
        dst = bytearray(min(self._size, len(self.payload) - len(self._got)))
        count = reader.readAvailable(dst)
        assert count != 0, "readAvailable returned 0 on an open channel"
        assert count > 0, "readAvailable met end of stream in the middle of the data"
        self._got += dst[:count]
        self.value = bytes(self._got)
        return len(self._got) >= len(self.payload)


class DiscardRecord(ReadRecord):
    """``discardExact``: an interrupted discard dropped what ``totalBytesRead`` says."""

    def __init__(self, payload: bytes) -> None:
        super().__init__("discardExact", payload, len(payload), lambda r: None)
        self._start: int | None = None

    def attempt(self, reader: Any) -> bool:
        if self._start is None:
            self._start = reader.totalBytesRead
        dropped = reader.totalBytesRead - self._start
        assert 0 <= dropped <= len(self.payload), f"discard dropped {dropped} bytes"
        reader.discardExact(len(self.payload) - dropped)
        self.value = reader.totalBytesRead - self._start
        return True


class _Sink:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)


def _read_fully(size: int) -> Callable[[Any], bytes]:
    def call(reader: Any) -> bytes:
        dst = bytearray(size + 4)
        reader.readFully(dst, 2, size)
        return bytes(dst[2 : 2 + size])

    return call


def _read_line_to(limit: int | None) -> Callable[[Any], str]:
    def call(reader: Any) -> str:
        sink = _Sink()
        assert reader.readUTF8LineTo(sink, limit)
        return "".join(sink.parts)

    return call


def _read_until_delimiter(delimiter: bytes, room: int) -> Callable[[Any], bytes]:
    def call(reader: Any) -> bytes:
        dst = bytearray(room)
        count = reader.readUntilDelimiter(delimiter, dst)
        reader.skipDelimiter(delimiter)
        return bytes(dst[:count])

    return call


def _peek_then_take(size: int) -> Callable[[Any], bytes | None]:
    def call(reader: Any) -> bytes | None:
        seen = reader.peek(size)
        # What peek saw is buffered: taking it cannot block.
        taken = reader.readPacket(size)
        assert seen == taken, f"peek showed {seen!r} but the bytes were {taken!r}"
        return seen

    return call


def _await_then_take(size: int) -> Callable[[Any], bytes]:
    def call(reader: Any) -> bytes:
        assert reader.awaitContent(size) is True
        assert reader.availableForRead >= size
        return reader.readPacket(size)

    return call


def _next_line(reader: Any) -> str:
    return next(iter(reader.lines()))


def _next_chunk(size: int) -> Callable[[Any], bytes]:
    def call(reader: Any) -> bytes:
        return next(iter(reader.chunks(size)))

    return call


_NUMBERS = {
    # name: (struct code, ktor's read, the write that puts it on the wire)
    "Byte": "b",
    "Short": "h",
    "Int": "i",
    "Long": "q",
    "Float": "f",
    "Double": "d",
}


def number_record(kind: str, value: Any, order: str) -> ReadRecord:
    code = _NUMBERS[kind]
    payload = struct.pack(("<" if order == "little" else ">") + code, value)
    return ReadRecord(
        f"read{kind}({order})", payload, value, lambda r: getattr(r, f"read{kind}")(order)
    )


def text_line(text: str, terminator: bytes, limit: int | None, to_sink: bool) -> ReadRecord:
    """A line of *text* ended by *terminator* (``\\n``, ``\\r\\n`` or a lone ``\\r``)."""
    payload = text.encode() + terminator
    if to_sink:
        return ReadRecord("readUTF8LineTo", payload, text, _read_line_to(limit))
    return ReadRecord(
        "readUTF8Line" if limit is None else f"readUTF8Line(limit={limit})",
        payload,
        text,
        lambda r: r.readUTF8Line(limit),
    )


def build_read(name: str, rng: random.Random) -> ReadRecord:
    """A record of operation *name* with content drawn from *rng*.

    Payloads never contain the delimiters their own operation looks for; the records that
    follow supply the byte a trailing ``\\r`` waits for.
    """
    size = rng.choice((1, 2, 3, 7, 40, 300, 5000))
    raw = bytes(rng.getrandbits(8) for _ in range(size))
    safe = raw.replace(b"|", b"_").replace(b"#", b"_")
    text = "".join(rng.choice("ab\u00e9\u20ac\U0001f600 z") for _ in range(size))
    if name == "readPacket":
        return ReadRecord(name, raw, raw, lambda r: r.readPacket(size))
    if name == "readFully":
        return ReadRecord(name, raw, raw, _read_fully(size))
    if name == "readAvailable":
        return ReadAvailableRecord(raw, rng.choice((1, 7, 4096)))
    if name == "readRemaining(limit)":
        return ReadRecord(name, raw, raw, lambda r: r.readRemaining(size))
    if name == "readUTF8Line":
        return text_line(text, rng.choice((b"\n", b"\r\n", b"\r")), None, False)
    if name == "readUTF8Line(limit)":
        encoded = len(text.encode())
        return text_line(text, rng.choice((b"\n", b"\r\n")), encoded + rng.randrange(3), False)
    if name == "readUTF8LineTo":
        return text_line(text, rng.choice((b"\n", b"\r\n")), None, True)
    if name == "lines":
        return ReadRecord(name, text.encode() + b"\n", text, _next_line)
    if name == "readUntil":
        limit = rng.choice((None, len(safe), len(safe) + 10))
        return ReadRecord(name, safe + b"#|", safe, lambda r: r.readUntil(b"#|", limit))
    if name == "readUntilDelimiter":
        return ReadRecord(name, safe + b"|", safe, _read_until_delimiter(b"|", len(safe) + 1))
    if name == "peek":
        return ReadRecord(name, raw, raw, _peek_then_take(size))
    if name == "awaitContent":
        return ReadRecord(name, raw, raw, _await_then_take(size))
    if name == "discardExact":
        return DiscardRecord(raw)
    if name == "chunks":
        # One chunk of at most this record's size: whatever it returns, ask again for the
        # rest through readAvailable semantics (a chunk is at least one byte).
        record = ReadAvailableRecord(raw, size)
        record.name = "chunks"

        def chunk_attempt(reader: Any, record: ReadAvailableRecord = record) -> bool:
            piece = next(iter(reader.chunks(len(raw) - len(record._got))))
            record._got += piece
            record.value = bytes(record._got)
            return len(record._got) >= len(raw)

        record.attempt = chunk_attempt  # type: ignore[method-assign]
        return record
    if name.startswith("read") and name[4:].split("(")[0] in _NUMBERS:
        kind = name[4:].split("(")[0]
        order = rng.choice(("big", "little"))
        if kind == "Byte":
            value: Any = rng.randrange(-128, 128)
        elif kind == "Short":
            value = rng.randrange(-(2**15), 2**15)
        elif kind == "Int":
            value = rng.randrange(-(2**31), 2**31)
        elif kind == "Long":
            value = rng.randrange(-(2**63), 2**63)
        elif kind == "Float":
            value = struct.unpack("f", struct.pack("f", rng.uniform(-1e6, 1e6)))[0]
        else:
            value = rng.uniform(-1e300, 1e300)
        return number_record(kind, value, order)
    if name == "readBoolean":
        flag = rng.random() < 0.5
        return ReadRecord(name, bytes([rng.randrange(1, 256) if flag else 0]), flag,
                          lambda r: r.readBoolean())
    raise AssertionError(f"unknown read operation {name}")


#: Every read operation of IByteReadChannel that can block, as the interruption tests name them.
READ_OPERATIONS = (
    "readPacket",
    "readFully",
    "readAvailable",
    "readRemaining(limit)",
    "readUTF8Line",
    "readUTF8Line(limit)",
    "readUTF8LineTo",
    "lines",
    "chunks",
    "readUntil",
    "readUntilDelimiter",
    "peek",
    "awaitContent",
    "discardExact",
    "readByte",
    "readShort",
    "readInt",
    "readLong",
    "readFloat",
    "readDouble",
    "readBoolean",
)


# -- writes ---------------------------------------------------------------------------------


class WriteStream:
    """An endless stream of items written by one write operation, and the bytes they make.

    ``write_until_blocked`` writes items forever (it returns only by an interruption);
    ``resume(writer, placed)`` completes the item the interruption cut (through
    ``writeFully``, as SPEC section 6 says an interrupted write leaves its placed bytes in
    order) and writes *more* whole items through the operation again; ``expected`` is what the
    reader must receive for that.
    """

    def __init__(self, name: str, seed: int = 1) -> None:
        self.name = name
        self._rng = random.Random(seed)
        self._items: list[bytes] = []
        self.written_items = 0

    # The bytes of item i: generated on demand, kept for the comparison.
    def item(self, index: int) -> bytes:
        while len(self._items) <= index:
            self._items.append(self._make(len(self._items)))
        return self._items[index]

    def _make(self, index: int) -> bytes:
        rng = self._rng
        if self.name in ("writeFully", "writePacket", "writeAvailable"):
            return rng.randbytes(rng.choice((1, 100, 30_000, 100_000)))
        if self.name == "flush":
            return rng.randbytes(rng.choice((1, 1000, 16_384)))
        if self.name == "writeStringUtf8":
            return "".join(rng.choice("x\u00e9\u20ac\U0001f600") for _ in range(20_000)).encode()
        if self.name == "writeInt":
            return struct.pack(">i", rng.randrange(-(2**31), 2**31))
        if self.name == "writeLong":
            return struct.pack("<q", rng.randrange(-(2**63), 2**63))
        if self.name == "writeDouble":
            return struct.pack(">d", rng.uniform(-1e9, 1e9))
        raise AssertionError(self.name)

    def write_item(self, writer: Any, index: int) -> None:
        data = self.item(index)
        name = self.name
        if name == "writeFully":
            writer.writeFully(data)
        elif name == "writePacket":
            writer.writePacket(data)
        elif name == "writeAvailable":
            done = 0
            while done < len(data):
                done += writer.writeAvailable(data, done)
        elif name == "flush":
            writer.writeFully(data)
            writer.flush()
        elif name == "writeStringUtf8":
            writer.writeStringUtf8(data.decode())
        elif name == "writeInt":
            writer.writeInt(struct.unpack(">i", data)[0])
        elif name == "writeLong":
            writer.writeLong(struct.unpack("<q", data)[0], "little")
        elif name == "writeDouble":
            writer.writeDouble(struct.unpack(">d", data)[0])
        else:
            raise AssertionError(name)

    def write_until_blocked(self, writer: Any) -> None:
        index = 0
        while True:
            self.write_item(writer, index)
            index += 1

    def resume(self, writer: Any, placed: int, more: int = 3) -> None:
        """Finish the item cut at byte *placed* of the stream, then *more* items."""
        offset, index = 0, 0
        while offset + len(self.item(index)) <= placed:
            offset += len(self.item(index))
            index += 1
        if placed > offset:
            writer.writeFully(self.item(index), placed - offset)
            index += 1
        for extra in range(index, index + more):
            self.write_item(writer, extra)
        self.written_items = index + more

    def expected(self) -> bytes:
        return b"".join(self.item(i) for i in range(self.written_items))


#: Write operations the interruption tests run (``flush`` writes then flushes each item).
WRITE_OPERATIONS = (
    "writeFully",
    "writePacket",
    "writeAvailable",
    "writeStringUtf8",
    "writeInt",
    "writeLong",
    "writeDouble",
    "flush",
)
