"""asyncio streams (``readline``/``write``+``drain``), on the default loop or on uvloop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from functools import partial
from typing import Any, TypeVar, cast

from .. import workloads_async
from ..child import Control
from ..protocol import BACKLOG, CHUNK_SIZE, HOST, Params

T = TypeVar("T")


class AioConn:
    """A StreamReader/StreamWriter pair."""

    __slots__ = ("_writer", "read_line", "recv_some")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self.read_line = reader.readline  # b"" at EOF
        self.recv_some = partial(reader.read, CHUNK_SIZE)

    async def write_line(self, line: bytes) -> None:
        """Write a line that ends in a newline and drain."""
        self._writer.write(line)
        await self._writer.drain()

    async def send(self, data: bytes) -> None:
        """Write and drain."""
        self._writer.write(data)
        await self._writer.drain()

    async def shutdown_write(self) -> None:
        """Half-close."""
        self._writer.write_eof()

    async def close(self) -> None:
        """Close and wait until closed."""
        self._writer.close()
        await self._writer.wait_closed()


class _EchoProtocol(asyncio.DatagramProtocol):
    """Server side of the UDP echo: answer from the callback, as asyncio code does."""

    transport: asyncio.DatagramTransport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.transport.sendto(data, addr)


class _UdpClient(asyncio.DatagramProtocol):
    """Client side of the UDP echo: one datagram outstanding, its answer awaited."""

    transport: asyncio.DatagramTransport

    def __init__(self, port: int) -> None:
        self._peer = (HOST, port)
        self._waiter: asyncio.Future[bytes] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(data)

    async def roundtrip(self, payload: bytes) -> None:
        """Send and wait for the answer."""
        self._waiter = waiter = asyncio.get_running_loop().create_future()
        self.transport.sendto(payload, self._peer)
        await waiter


class AioAdapter:
    """The asyncio stack, for ``workloads_async``."""

    disconnect_errors: tuple[type[BaseException], ...] = (OSError, EOFError)

    def __init__(self) -> None:
        self._servers: list[asyncio.AbstractServer] = []

    def line(self, text: str) -> bytes:
        """Lines travel as bytes with their newline."""
        return (text + "\n").encode()

    async def serve_tcp(self, handler: Callable[[AioConn], Awaitable[None]]) -> int:
        """``asyncio.start_server``."""

        async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await handler(AioConn(reader, writer))

        server = await asyncio.start_server(on_connection, HOST, 0, backlog=BACKLOG)
        self._servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    async def serve_udp_echo(self) -> int:
        """``create_datagram_endpoint`` with an echoing protocol."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(_EchoProtocol, local_addr=(HOST, 0))
        return int(transport.get_extra_info("sockname")[1])

    async def connect(self, port: int) -> AioConn:
        """``asyncio.open_connection``."""
        return AioConn(*await asyncio.open_connection(HOST, port))

    async def udp_client(self, port: int) -> _UdpClient:
        """A datagram endpoint on 127.0.0.1."""
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            partial(_UdpClient, port), local_addr=(HOST, 0)
        )
        protocol.transport = transport  # connection_made runs only at the next loop turn
        return protocol

    async def run_all(self, functions: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
        """``asyncio.gather``."""
        return list(await asyncio.gather(*(f() for f in functions)))

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep``."""
        await asyncio.sleep(seconds)


def _run(coro: Coroutine[Any, Any, T], variant: str) -> T:
    if variant == "uvloop":
        import uvloop

        if hasattr(uvloop, "run"):  # uvloop >= 0.18
            return uvloop.run(coro)
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return asyncio.run(coro)


def main(role: str, params: Params, control: Control, variant: str) -> dict[str, float] | None:
    """Run one side of ``params.workload`` on asyncio (``variant`` "uvloop": on uvloop)."""
    return _run(workloads_async.main(AioAdapter(), role, params, control), variant)
