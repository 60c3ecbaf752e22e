"""The one call greensock makes to the resolver.

:func:`getaddrinfo` asks gevent's resolver (never the C library's directly, which would block
every greenlet of the thread), after checking that the name is one at all. Everything that
resolves a name goes through it: :mod:`greensock.resolve` for connect, bind and datagrams, and
``InetSocketAddress.resolveAddress``.
"""

from __future__ import annotations

import socket as stdsocket
from typing import Any

from gevent import socket as gsocket

__all__ = ["AddrInfo", "getaddrinfo"]

#: One entry of ``getaddrinfo``'s answer: (family, type, proto, canonname, sockaddr).
AddrInfo = tuple[Any, Any, Any, str, Any]


def getaddrinfo(
    host: str, port: int | None, family: int = 0, kind: int = 0, flags: int = 0
) -> list[AddrInfo]:
    """``getaddrinfo(host, port, family, kind, 0, flags)`` through gevent's resolver.

    Raises ``socket.gaierror`` when *host* does not resolve, and for a name the IDNA codec
    refuses (a label over 63 characters, an empty label) too, never ``UnicodeError``.
    """
    try:
        # Encoded here as getaddrinfo would encode it: given to gevent's resolver, a name
        # the codec refuses fails in a worker thread, which logs a traceback to stderr
        # before the UnicodeError reaches us.
        host.encode("idna")
    except UnicodeError as exc:
        # EAI_NONAME, "Name or service not known": what the C library's getaddrinfo itself
        # answers for such a name when given its bytes (b"a" * 64 + b".invalid"); the code a
        # caller already handles for any name that does not resolve.
        reason = exc.__cause__ or exc
        raise stdsocket.gaierror(
            stdsocket.EAI_NONAME, f"Name or service not known: not a valid host name ({reason})"
        ) from None
    return list(gsocket.getaddrinfo(host, port, family, kind, 0, flags))
