"""greensock.testing.socketPair (SPEC section 10): connected pairs of every kind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import gevent
import pytest
from conftest import skip_if_unavailable
from markers import needs_unix
from zope.interface.verify import verifyObject

import greensock
from greensock.interfaces import ISocket
from greensock.testing import PAIR_KINDS, socketPair

pytestmark = pytest.mark.timeout(30)

ROOT = Path(__file__).resolve().parent.parent


def pair(kind: str) -> tuple[Any, Any]:
    skip_if_unavailable(kind)
    return socketPair(kind)


@pytest.mark.parametrize("kind", PAIR_KINDS)
def test_socketPair_gives_two_connected_sockets_with_channels_not_open(kind: str) -> None:
    first, second = pair(kind)
    with first, second:
        for sock in (first, second):
            assert verifyObject(ISocket, sock)
            assert not sock.isClosed
        # Not opened yet: each side opens once, here.
        out, incoming = first.openWriteChannel(), second.openReadChannel()
        back, answers = second.openWriteChannel(), first.openReadChannel()
        with gevent.Timeout(10):
            out.writeStringUtf8("ping\n")
            out.flush()
            assert incoming.readUTF8Line() == "ping"
            back.writeInt(42)
            back.flush()
            assert answers.readInt() == 42
    assert first.awaitClosed(10) and second.awaitClosed(10)


@pytest.mark.parametrize("kind", ["tcp", "tcp6"])
def test_ip_pairs_are_over_loopback(kind: str) -> None:
    first, second = pair(kind)
    with first, second:
        host = "127.0.0.1" if kind == "tcp" else "::1"
        assert first.remoteAddress == second.localAddress
        assert second.remoteAddress == first.localAddress
        assert first.remoteAddress.hostname == host


@needs_unix
def test_a_unix_pair_leaves_no_file_behind() -> None:
    first, second = socketPair("unix")
    with first, second:
        path = Path(first.remoteAddress.path)
        assert isinstance(first.remoteAddress, greensock.UnixSocketAddress)
        assert not path.exists() and not path.parent.exists()


def test_a_tls_pair_checked_the_name_localhost() -> None:
    first, second = pair("tls")
    with first, second:
        assert first.sslObject.server_hostname == "localhost"
        assert first.cipher is not None and second.cipher is not None


def test_a_memory_pair_has_the_unnamed_addresses_of_socketpair() -> None:
    first, second = socketPair("memory")
    unnamed = greensock.UnixSocketAddress("")
    assert first.localAddress == first.remoteAddress == unnamed
    assert second.localAddress == second.remoteAddress == unnamed


def test_an_unknown_kind_is_a_ValueError() -> None:
    with pytest.raises(ValueError, match="unknown socket pair kind 'udp'"):
        socketPair("udp")


def test_configure_applies_to_the_connecting_socket() -> None:
    seen: list[Any] = []
    first, second = socketPair("tcp", configure=seen.append)
    with first, second:
        assert [type(options) for options in seen] == [greensock.TCPClientSocketOptions]


def test_memory_pairs_take_no_options() -> None:
    with pytest.raises(ValueError, match="configure must be None"):
        socketPair("memory", configure={"noDelay": True})


def test_kernel_pairs_belong_to_the_selector_given() -> None:
    selector = greensock.SelectorManager()
    first, second = socketPair("tcp", selector)
    selector.close()
    assert first.isClosed and second.isClosed


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=environment
    )


def test_greensock_testing_imports_without_pytest() -> None:
    done = run_python(
        "import sys\n"
        "sys.modules['pytest'] = None  # importing it would raise\n"
        "import greensock.testing\n"
        "assert 'pytest' not in sys.modules or sys.modules['pytest'] is None\n"
        "first, second = greensock.testing.socketPair('memory')\n"
    )
    assert done.returncode == 0, done.stderr


def test_a_tls_pair_without_trustme_is_an_ImportError_saying_so() -> None:
    done = run_python(
        "import sys\n"
        "sys.modules['trustme'] = None\n"
        "from greensock.testing import socketPair\n"
        "try:\n"
        "    socketPair('tls')\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    assert done.returncode == 0, done.stderr
    assert "trustme" in done.stdout and "pip install trustme" in done.stdout
