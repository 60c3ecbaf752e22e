"""Testing helpers (SPEC section 10): connected socket pairs, and conformance checks.

:func:`socketPair` makes two connected sockets of any kind greensock has: TCP over IPv4 or
IPv6 loopback, Unix, TLS, and in memory. The checks run a maker of pairs -- any callable
returning a fresh connected pair of ``ISocket`` providers -- through the rules of the
contract (SPEC sections 5 to 7 and principle 3), and raise ``AssertionError`` saying what
broke; :func:`checkTwoWayStream`, :func:`checkHalfCloseableStream` and
:func:`checkNothingLost` each cover one family of rules.

The checks are modelled on trio's ``trio.testing.check_two_way_stream`` family, and add what
greenlets make necessary: reads and flushes interrupted by ``gevent.Timeout`` and
``Greenlet.kill()`` at random moments must lose nothing, whatever is thrown in must come out
unchanged, and a second greenlet on a busy channel must be refused. Every random choice
comes from one seeded generator: a failure message gives the seed, and passing ``seed=``
replays the same choices (the moments of the network may still differ). Every step is
bounded by ``gevent.Timeout``: a pair that hangs fails the check rather than the test run.

This module does not import pytest; it is meant for any test runner.
"""

from __future__ import annotations

import functools
import shutil
import ssl
import tempfile
from pathlib import Path
from typing import Any

import gevent

from .addresses import InetSocketAddress, SocketAddress, UnixSocketAddress
from .builders import aSocket
from .checkrun import STEP_TIMEOUT, MakePair, Pair, runCheck
from .losschecks import NOTHING_LOST_STEPS
from .memorysocket import memorySocketPair
from .selector import SelectorManager
from .streamchecks import HALF_CLOSE_STEPS, TWO_WAY_STEPS

__all__ = [
    "PAIR_KINDS",
    "STEP_TIMEOUT",
    "checkHalfCloseableStream",
    "checkNothingLost",
    "checkTwoWayStream",
    "socketPair",
    "tlsContexts",
]

#: The kinds :func:`socketPair` makes.
PAIR_KINDS = ("tcp", "tcp6", "unix", "tls", "memory")

#: Seconds a connect, accept or TLS handshake of :func:`socketPair` may take.
PAIR_TIMEOUT = 10.0


# -- pairs -------------------------------------------------------------------------------


def socketPair(
    kind: str = "tcp", selector: SelectorManager | None = None, *, configure: Any = None
) -> Pair:
    """Return two sockets connected to each other, their channels not opened yet.

    *kind* is one of :data:`PAIR_KINDS`:

    - ``"tcp"``: over 127.0.0.1; ``"tcp6"``: over ::1 (``OSError`` where the machine has no
      IPv6 loopback);
    - ``"unix"``: through a socket file in a fresh temporary directory, both gone by the
      time this returns (connected Unix sockets do not need their file);
    - ``"tls"``: TLS over 127.0.0.1 with a throwaway certificate authority (made once per
      process with ``trustme``, which must be installed: ``ImportError`` saying so
      otherwise); both handshakes are done, and the client checked the server's
      certificate against the name ``localhost``;
    - ``"memory"``: stream sockets over an in-memory pipe that answers as a connected
      pair of Unix sockets does (see :mod:`greensock.memorysocket`): the same channels,
      close and error translation as every other socket, but no file descriptor, no
      selector (closing *selector* does not close them), no socket options, no TLS
      (``tls()`` raises ``RuntimeError``); both addresses are ``UnixSocketAddress("")``,
      the unnamed address of ``socket.socketpair()``.

    The first socket is the one that connected (the TLS client), the second the one that
    was accepted. The kernel kinds are built through *selector* (the default one of this
    thread when None), the connecting socket with the options *configure* gives
    (``TCPClientSocketOptions``, as in ``connect``); ``configure`` on a memory pair raises
    ``ValueError``. An unknown *kind* raises ``ValueError``.

    Blocks the calling greenlet while the kernel kinds connect, accept and (``"tls"``) run
    both handshakes, each bounded by :data:`PAIR_TIMEOUT` seconds; raises what they raise
    (``OSError``, ``ssl.SSLError``, ``SocketTimeoutException``), having closed whatever it
    made. The caller closes both sockets.
    """
    if kind == "memory":
        if configure is not None:
            raise ValueError("memory sockets take no socket options: configure must be None")
        return memorySocketPair()
    if kind not in PAIR_KINDS:
        raise ValueError(f"unknown socket pair kind {kind!r}; expected one of {PAIR_KINDS}")
    tcp = aSocket(selector).tcp()
    if kind == "unix":
        # A directory of our own: a fixed name cannot collide, and sun_path stays short.
        directory = tempfile.mkdtemp(prefix="gs")
        try:
            return _connected(tcp, UnixSocketAddress(str(Path(directory) / "s")), configure)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    if kind == "tcp6":
        return _connected(tcp, InetSocketAddress("::1", 0), configure)
    plain = _connected(tcp, InetSocketAddress("127.0.0.1", 0), configure)
    if kind == "tls":
        return _secured(plain)
    return plain


def _connected(tcp: Any, address: SocketAddress, configure: Any) -> Pair:
    """Bind *address*, connect to it, accept; the listener is closed before returning."""
    server = tcp.bind(address)
    try:
        # The kernel completes the handshake into the backlog: connect, then accept.
        client = tcp.connect(server.localAddress, configure=configure, timeout=PAIR_TIMEOUT)
        try:
            return client, server.accept(timeout=PAIR_TIMEOUT)
        except BaseException:
            client.dispose()
            raise
    finally:
        server.close()


def _secured(plain: Pair) -> Pair:
    """Run both TLS handshakes over *plain*; close everything if either fails."""
    client, server = plain
    serverContext, clientContext = tlsContexts()
    made: list[Any] = [client, server]
    try:
        handshake = gevent.spawn(server.tls, serverContext, serverSide=True, timeout=PAIR_TIMEOUT)
        try:
            made.append(client.tls(clientContext, serverName="localhost", timeout=PAIR_TIMEOUT))
        except BaseException:
            handshake.kill()  # its error would only hide the client's, which says more
            raise
        made.append(handshake.get())  # bounded by its own timeout
        return made[2], made[3]
    except BaseException:
        for sock in made:
            sock.dispose()
        raise


def tlsContexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """Return ``(serverContext, clientContext)`` of the throwaway certificate authority of
    ``socketPair("tls")``: the server's certificate is for ``localhost``, and the client
    trusts the authority and checks host names.

    For testing TLS code of your own, such as ``serve(server, handler,
    tls=serverContext)`` reached with ``tls(clientContext, serverName="localhost")``. The
    contexts are new on every call; the authority and its certificate are made once per
    process with ``trustme``: ``ImportError`` saying so when it is not installed.
    """
    authority, certificate = _authority()
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    certificate.configure_cert(server)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # checks the certificate and the name
    authority.configure_trust(client)
    return server, client


@functools.lru_cache(maxsize=1)
def _authority() -> tuple[Any, Any]:
    """The throwaway authority and its certificate for ``localhost``: key pairs are costly,
    so one of each per process."""
    try:
        import trustme
    except ImportError:
        raise ImportError(
            "socketPair('tls') and tlsContexts() need the trustme package for their "
            "throwaway certificate authority: pip install trustme"
        ) from None
    authority = trustme.CA()
    return authority, authority.issue_cert("localhost")


# -- conformance checks ------------------------------------------------------------------


def checkTwoWayStream(
    makePair: MakePair, *, seed: int | None = None, timeout: float = STEP_TIMEOUT
) -> None:
    """Check that the pairs *makePair* returns carry bytes both ways and close as sockets do.

    Each step takes a fresh pair from *makePair* and closes it at the end:

    - records of random sizes sent from the first socket, several in flight, come back
      from the second unchanged and in order (``readInt``, ``readPacket``, ``writeInt``,
      ``writePacket``);
    - 2 MiB each way at once, written and read in chunks of random sizes (``writeFully``,
      ``readAvailable``, ``readPacket``, random flushes): the SHA-256 of what each side
      read is that of what the other sent;
    - ``close()`` from another greenlet wakes a reader blocked on the socket with
      ``ClosedReadChannelException``; the socket is then closed (``isClosed``,
      ``awaitClosed``, ``socketContext``), opening a channel raises
      ``ClosedChannelException``, closing again is harmless, and the peer reads end of stream
      (``-1``, ``None``, ``ClosedReceiveChannelException``);
    - ``close()`` wakes a writer blocked on back-pressure (the peer reads nothing) with
      ``ClosedWriteChannelException``; while it was blocked, a write from a second
      greenlet raised ``ConcurrentIOException``; a pair that takes 64 MiB without ever
      blocking the writer fails (no back-pressure);
    - a second greenlet that would block reading a channel another greenlet is blocked on
      gets ``ConcurrentIOException``, and the first still gets its bytes;
    - bytes written and not flushed before ``close()`` reach the peer, then end of stream.

    Returns None when the pair conforms; raises ``AssertionError`` naming the step, what
    broke and the seed (pass it as *seed* to replay the random choices). *timeout* bounds
    each step in seconds.
    """
    runCheck("checkTwoWayStream", TWO_WAY_STEPS, makePair, seed, timeout)


def checkHalfCloseableStream(
    makePair: MakePair, *, seed: int | None = None, timeout: float = STEP_TIMEOUT
) -> None:
    """Check that closing a write channel of the pairs *makePair* returns half-closes.

    For each socket of a fresh pair in turn: it writes a request of random size and closes
    its write channel (``close()``, ``flushAndClose()`` or ``with``, chosen at random);
    writing there again raises ``ClosedWriteChannelException``; the peer reads the request,
    then end of stream (``-1``, ``None``, ``False``, ``ClosedReceiveChannelException``);
    neither socket is closed; the peer answers with up to 512 KiB and closes its own write
    channel, and the half-closed socket reads the whole answer, then end of stream; both
    then close cleanly. And a read blocked waiting for the rest of a line when the peer
    half-closes returns the partial line, then None.

    Returns None when the pair conforms; raises ``AssertionError`` naming the step, what
    broke and the seed (pass it as *seed* to replay the random choices). *timeout* bounds
    each step in seconds: a peer that never sees end of stream fails when it passes.
    """
    runCheck("checkHalfCloseableStream", HALF_CLOSE_STEPS, makePair, seed, timeout)


def checkNothingLost(
    makePair: MakePair, *, seed: int | None = None, timeout: float = STEP_TIMEOUT
) -> None:
    """Check SPEC principle 3 on the pairs *makePair* returns: interrupted calls lose nothing.

    - **Interrupted reads.** Each socket of a pair sends the other about a hundred records
      of random kinds and sizes in random fragments at a random pace; the other reads each
      with its read -- ``readPacket``, ``readFully``, ``readUTF8Line`` (lines with
      multi-byte characters) or ``readInt`` -- interrupted at random moments by
      ``gevent.Timeout``, ``gevent.Timeout`` with an exception, ``kill()``,
      ``kill(OSError(...))``, or a second greenlet trying a read that needs more than is
      buffered, which must raise ``ConcurrentIOException``. Every interrupted read must
      raise exactly what was thrown in (the connection intact), and be retried; every
      completed read must return exactly its record: the bytes finally read are the bytes
      sent, and ``totalBytesRead`` counts them.
    - **Interrupted flushes.** Each socket writes 8 MiB in random fragments to a peer that
      starts reading late and then reads at its own pace; flushes are interrupted the same
      ways (a second greenlet's write must raise ``ConcurrentIOException``). The next flush
      sends what an interrupted one left: the peer reads the same SHA-256, and
      ``totalBytesWritten`` is the number of bytes written.
    - **Closes mid-record.** A read waiting for the rest of a record raises
      ``ClosedReadChannelException`` when its own socket is closed from another greenlet;
      when the peer closes instead, an exact read raises ``ClosedReceiveChannelException``
      having consumed nothing: the bytes that did arrive are still there to read.

    Returns None when the pair conforms; raises ``AssertionError`` naming the step, what
    broke and the seed (pass it as *seed* to replay the random choices; the moments of the
    network may still differ). *timeout* bounds each step in seconds.
    """
    runCheck("checkNothingLost", NOTHING_LOST_STEPS, makePair, seed, timeout)
