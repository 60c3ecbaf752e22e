"""greensock touches gevent's internals in one module only, and says loudly when one is gone;
that module's KernelSocket, as a unit."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import gevent
import pytest
from gevent.socket import cancel_wait_ex
from kernel import write_watchers

import greensock
from greensock._gevent import KernelSocket, missing_internals

#: How code reaches into gevent's private parts: private modules and attributes, and the
#: hub and loop methods that are not gevent's public API.
INTERNAL = re.compile(
    r"gevent\._|\._read_event|\._write_event|\.closing_fd|cancel_waits_close|\.cancel_wait\("
    r"|wait_on_socket"
)


def test_every_gevent_internal_greensock_uses_is_there() -> None:
    assert missing_internals() == [], (
        f"gevent {gevent.__version__} lacks internals greensock._gevent uses: "
        f"{missing_internals()}; update greensock/_gevent.py for this release"
    )


def test_no_module_but_greensock_gevent_touches_gevent_internals() -> None:
    package = Path(greensock.__file__).parent
    offenders = {
        path.name: sorted(set(INTERNAL.findall(path.read_text())))
        for path in package.glob("*.py")
        if path.name != "_gevent.py" and INTERNAL.search(path.read_text())
    }
    assert offenders == {}


def test_only_greensock_lookup_asks_the_resolver() -> None:
    package = Path(greensock.__file__).parent
    asking = re.compile(r"(gsocket|socket|gevent\.socket)\.getaddrinfo\(")
    offenders = [
        path.name
        for path in package.glob("*.py")
        if path.name != "lookup.py" and asking.search(path.read_text())
    ]
    assert offenders == []


@pytest.mark.timeout(10)
def test_a_kernel_socket_makes_its_write_watcher_when_needed_and_closes_it_with_itself() -> None:
    # Most sockets never wait to send (the kernel takes small writes at once), and each
    # watcher costs its making: a KernelSocket makes its write watcher when first needed.
    mine, peer = socket.socketpair()
    fd = mine.fileno()
    mine.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    kernel = KernelSocket(mine)
    try:
        assert kernel.raw.send(b"small") == 5  # as the transports send: the kernel took it
        assert write_watchers(fd) == []

        def fill() -> type:
            try:
                while True:
                    kernel.send(b"x" * 65536)  # waits once the buffers are full
            except cancel_wait_ex as exc:  # a close wakes it
                return type(exc)

        sending = gevent.spawn(fill)
        gevent.sleep(0.1)
        assert not sending.dead
        [watcher] = write_watchers(fd)
        assert watcher.active  # the sender waits on it
        assert kernel.writeWatcher is watcher  # made once, then kept
        kernel.close()
        assert sending.get(timeout=2) is cancel_wait_ex
        assert not watcher.active
        del watcher
        assert kernel.closed
        assert kernel.writeWatcher is None  # closed with the socket, never made again
        assert write_watchers(fd) == []
    finally:
        kernel.close()
        peer.close()
