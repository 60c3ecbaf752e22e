"""Hand-written line framing, for stacks whose sockets have no line reader (raw gevent, trio)."""

from __future__ import annotations


class LineBuffer:
    """Bytes received but not yet returned as lines; ``pop`` yields whole lines, newline kept."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def append(self, data: bytes | bytearray | memoryview) -> None:
        """Add received bytes at the end."""
        self._buf += data

    def pop(self) -> bytes | None:
        """Remove and return the first whole line (with its ``\\n``); None if there is none."""
        buf = self._buf
        end = buf.find(b"\n") + 1
        if not end:
            return None
        if end == len(buf):  # the common case in ping-pong: exactly one line buffered
            line = bytes(buf)
            buf.clear()
            return line
        line = bytes(buf[:end])
        del buf[:end]
        return line

    def rest(self) -> bytes | None:
        """At EOF: the unterminated tail, or None when nothing is left."""
        if not self._buf:
            return None
        tail = bytes(self._buf)
        self._buf.clear()
        return tail
