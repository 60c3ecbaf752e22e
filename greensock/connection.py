"""Connection: a socket bundled with its two open channels."""

from __future__ import annotations

from typing import Any

from zope.interface import implementer

from .interfaces import IConnection

__all__ = ["Connection"]


@implementer(IConnection)
class Connection:
    """A socket with its read channel (``input``) and write channel (``output``)."""

    __slots__ = ("input", "output", "socket")

    def __init__(self, socket: Any, input: Any, output: Any) -> None:
        self.socket = socket
        self.input = input
        self.output = output

    def __repr__(self) -> str:
        return f"<Connection {self.socket!r}>"

    def tls(
        self,
        context: Any = None,
        serverName: str | None = None,
        serverSide: bool = False,
        timeout: float | None = None,
    ) -> Connection:
        """STARTTLS: upgrade this connection's socket; return a new connection over TLS.

        Pending output is flushed first; RuntimeError when unread plaintext is buffered in
        ``input`` (it would be lost). This connection must not be used afterwards. The
        errors are those of ``socket.tls()``.
        """
        if self.input.availableForRead:
            raise RuntimeError(
                "unread plaintext is buffered in the connection's input; read it before tls()"
            )
        self.output.flush()
        secure = self.socket._upgradeToTls(
            context, serverName, serverSide, timeout, channelsOpen=True
        )
        return secure.connection()  # type: ignore[no-any-return]

    def __iter__(self) -> Any:
        """Unpack as ``socket, input, output``."""
        return iter((self.socket, self.input, self.output))
