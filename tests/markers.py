"""Skip markers for what a machine may lack, shared by the test modules."""

from __future__ import annotations

import socket

import pytest


def has_ipv6_loopback() -> bool:
    """True when a socket can be bound to ::1 on this machine."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def has_unix_sockets() -> bool:
    """True when this platform has Unix domain sockets."""
    return hasattr(socket, "AF_UNIX")


needs_ipv6 = pytest.mark.skipif(
    not has_ipv6_loopback(), reason="no IPv6 loopback (::1) on this machine"
)
needs_unix = pytest.mark.skipif(
    not has_unix_sockets(), reason="this platform has no Unix domain sockets"
)
