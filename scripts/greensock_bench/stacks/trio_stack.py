"""trio: ``SocketStream`` (``receive_some``/``send_all``) with hand-written line framing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import TypeVar

import trio

from .. import workloads_async
from ..child import Control
from ..framing import LineBuffer
from ..protocol import BACKLOG, CHUNK_SIZE, HOST, Params

T = TypeVar("T")


class TrioConn:
    """A trio SocketStream with a line buffer."""

    __slots__ = ("_lines", "_stream", "recv_some", "send", "write_line")

    def __init__(self, stream: trio.SocketStream) -> None:
        self._stream = stream
        self._lines = LineBuffer()
        self.recv_some = partial(stream.receive_some, CHUNK_SIZE)
        self.send = self.write_line = stream.send_all  # lines already end in a newline

    async def read_line(self) -> bytes | None:
        """The next line, newline included; None at EOF."""
        lines = self._lines
        line = lines.pop()
        while line is None:
            data = await self._stream.receive_some(CHUNK_SIZE)
            if not data:
                return lines.rest()
            lines.append(data)
            line = lines.pop()
        return line

    async def shutdown_write(self) -> None:
        """Half-close."""
        await self._stream.send_eof()

    async def close(self) -> None:
        """Close."""
        await self._stream.aclose()


class TrioUdpClient:
    """A trio UDP socket talking to the echo server."""

    def __init__(self, sock: trio.socket.SocketType, port: int) -> None:
        self._sock = sock
        self._peer = (HOST, port)

    async def roundtrip(self, payload: bytes) -> None:
        """Send and wait for the answer."""
        await self._sock.sendto(payload, self._peer)
        await self._sock.recvfrom(65536)


class TrioAdapter:
    """The trio stack, for ``workloads_async``; background tasks run in ``nursery``."""

    disconnect_errors: tuple[type[BaseException], ...] = (
        OSError,
        EOFError,
        trio.BrokenResourceError,
        trio.ClosedResourceError,
    )

    def __init__(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery

    def line(self, text: str) -> bytes:
        """Lines travel as bytes with their newline."""
        return (text + "\n").encode()

    async def serve_tcp(self, handler: Callable[[TrioConn], Awaitable[None]]) -> int:
        """``trio.serve_listeners`` in the background."""
        listeners = await trio.open_tcp_listeners(0, host=HOST, backlog=BACKLOG)

        async def on_connection(stream: trio.SocketStream) -> None:
            await handler(TrioConn(stream))

        self._nursery.start_soon(trio.serve_listeners, on_connection, listeners)
        return int(listeners[0].socket.getsockname()[1])

    async def serve_udp_echo(self) -> int:
        """A task that echoes on a UDP socket."""
        sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
        await sock.bind((HOST, 0))

        async def echo() -> None:
            while True:  # ended by the process being killed (the watchdog bounds it)
                data, address = await sock.recvfrom(65536)
                await sock.sendto(data, address)

        self._nursery.start_soon(echo)
        return int(sock.getsockname()[1])

    async def connect(self, port: int) -> TrioConn:
        """``trio.open_tcp_stream``."""
        return TrioConn(await trio.open_tcp_stream(HOST, port))

    async def udp_client(self, port: int) -> TrioUdpClient:
        """A UDP socket on 127.0.0.1."""
        sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
        await sock.bind((HOST, 0))
        return TrioUdpClient(sock, port)

    async def run_all(self, functions: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
        """A nursery with one task per function."""
        results: dict[int, T] = {}

        async def run(index: int, function: Callable[[], Awaitable[T]]) -> None:
            results[index] = await function()

        async with trio.open_nursery() as nursery:
            for index, function in enumerate(functions):
                nursery.start_soon(run, index, function)
        return [results[i] for i in range(len(functions))]

    async def sleep(self, seconds: float) -> None:
        """``trio.sleep``."""
        await trio.sleep(seconds)


def main(role: str, params: Params, control: Control, variant: str) -> dict[str, float] | None:
    """Run one side of ``params.workload`` on trio."""

    async def run() -> dict[str, float] | None:
        async with trio.open_nursery() as nursery:
            result = await workloads_async.main(TrioAdapter(nursery), role, params, control)
            nursery.cancel_scope.cancel()
        return result

    return trio.run(run)
