"""The arguments of the channel operations: byte views, sizes, byte orders, delimiters, and
the protocols their out-parameters follow."""

from __future__ import annotations

import struct
from typing import Any, Protocol

__all__ = [
    "ByteWriteTarget",
    "TextSink",
    "byte_view",
    "check_delimiter",
    "check_size",
    "number_format",
]

_ORDERS = {"big": ">", "little": "<"}
_FORMATS: dict[tuple[str, str], struct.Struct] = {
    (order, code): struct.Struct(prefix + code)
    for order, prefix in _ORDERS.items()
    for code in "bBhHiIqQfd"
}


def byte_view(obj: Any, offset: int, length: int | None, *, writable: bool) -> memoryview:
    """Return a flat byte ``memoryview`` of ``obj[offset:offset+length]``.

    Raises TypeError when *obj* is not a bytes-like object (or is read-only and *writable*
    is asked), ValueError when *offset*/*length* fall outside it.
    """
    try:
        view = memoryview(obj)
    except TypeError:
        raise TypeError(
            f"expected a bytes-like object (bytes, bytearray, memoryview), got {type(obj).__name__}"
        ) from None
    if writable and view.readonly:
        raise TypeError(
            f"destination must be writable (bytearray or memoryview), got {type(obj).__name__}"
        )
    if view.ndim != 1 or view.itemsize != 1:
        view = view.cast("B")
    if length is None and type(offset) is int and offset == 0:
        return view  # the whole buffer, as most calls ask: nothing to check
    size = len(view)
    offset = check_size(offset, "offset")
    if offset > size:
        raise ValueError(f"offset {offset} is beyond the buffer's {size} bytes")
    if length is None:
        length = size - offset
    else:
        length = check_size(length, "length")
        if offset + length > size:
            raise ValueError(
                f"offset {offset} + length {length} is beyond the buffer's {size} bytes"
            )
    if offset == 0 and length == size:
        return view
    return view[offset : offset + length]


def check_size(value: Any, name: str) -> int:
    """Return *value* if it is a non-negative ``int``; TypeError or ValueError otherwise."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def number_format(code: str, byteOrder: str) -> struct.Struct:
    """The precompiled ``struct.Struct`` for a number *code* in *byteOrder* ("big"/"little")."""
    try:
        return _FORMATS[(byteOrder, code)]
    except (KeyError, TypeError):
        raise ValueError(f'byteOrder must be "big" or "little", got {byteOrder!r}') from None


def check_delimiter(delimiter: Any) -> bytes:
    if not isinstance(delimiter, (bytes, bytearray, memoryview)):
        raise TypeError(f"delimiter must be bytes, got {type(delimiter).__name__}")
    data = bytes(delimiter)
    if not data:
        raise ValueError("delimiter must not be empty")
    return data


class TextSink(Protocol):
    """Anything with ``write(str)``, such as ``io.StringIO`` or a list's wrapper."""

    def write(self, text: str, /) -> Any:
        """Append *text*."""


class ByteWriteTarget(Protocol):
    """The part of a write channel that :meth:`ByteReadOperations.copyTo` uses."""

    @property
    def availableForWrite(self) -> int:
        """Bytes that can be placed now without blocking."""

    def awaitFreeSpace(self) -> None:
        """Block while no byte can be placed."""

    def writeFully(self, src: Any, offset: int = 0, length: int | None = None) -> None:
        """Place every byte of *src*."""

    def flush(self) -> None:
        """Hand the placed bytes on."""

    def close(self, cause: BaseException | None = None) -> bool:
        """Close, normally or with *cause*."""
