"""Integrity under load: many connections at once (``GREENSOCK_RELIABILITY_CONNECTIONS``,
1,000 by default; 10,000 by hand with ``scripts/reliability.py``), each sending random data
in random chunk sizes both ways at the same time, through varied write and read operations;
the SHA-256 of what each end received equals that of what the other end sent, and every
stream ends cleanly. A soak test repeats rounds of connections with interruptions and peer
resets mixed in, for ``GREENSOCK_RELIABILITY_SOAK`` seconds, and checks that memory,
descriptors and greenlets come back down.
"""

from __future__ import annotations

import gc
import hashlib
import random
import time
from typing import Any

import gevent
import gevent.event
import pytest

import greensock

from . import _support
from ._support import CONNECTIONS, PATIENCE, SOAK_SECONDS, Spawned, outcome

#: Bytes each end of a load connection sends, at most.
LOAD_BYTES = 128 * 1024


def _chunks(rng: random.Random, total: int) -> list[int]:
    sizes = []
    while total > 0:
        size = min(total, rng.choice((1, 7, 100, 1460, 4096, 16384, 65536, 100_000)))
        size = rng.randint(1, size)
        sizes.append(size)
        total -= size
    return sizes


def send_side(channel: Any, seed: int, total: int) -> str:
    """Write *total* random bytes in random chunks through varied operations, then close the
    write channel (end of stream); return their SHA-256."""
    rng = random.Random(seed)
    digest = hashlib.sha256()
    channel.writeLong(total)
    for size in _chunks(rng, total):
        data = rng.randbytes(size)
        digest.update(data)
        how = rng.random()
        if how < 0.4:
            channel.writeFully(data)
        elif how < 0.6:
            channel.writePacket(bytearray(data))
        else:
            done = 0
            while done < size:
                done += channel.writeAvailable(data, done)
        if rng.random() < 0.3:
            channel.flush()
        if rng.random() < 0.05:
            gevent.sleep(0)
    channel.flush()
    channel.close()
    return digest.hexdigest()


def receive_side(channel: Any, seed: int) -> tuple[int, str]:
    """Read the length, then the bytes through varied operations in random sizes, then the
    end of stream; return (length, SHA-256)."""
    rng = random.Random(seed ^ 0x5EED)
    total = channel.readLong()
    digest = hashlib.sha256()
    left = total
    while left:
        want = rng.randint(1, min(left, 70_000))
        how = rng.random()
        if how < 0.4:
            dst = bytearray(want)
            count = channel.readAvailable(dst)
            assert count > 0, f"readAvailable gave {count} with {left} bytes to come"
            digest.update(dst[:count])
            left -= count
            continue
        if how < 0.7:
            data = channel.readPacket(want)
        elif how < 0.85:
            dst = bytearray(want)
            channel.readFully(dst)
            data = bytes(dst)
        else:
            assert channel.awaitContent(1)
            data = channel.readPacket(min(want, channel.availableForRead))
        digest.update(data)
        left -= len(data)
    assert channel.readAvailable(bytearray(1)) == -1, "bytes after the announced length"
    return total, digest.hexdigest()


def exchange(sock: Any, seed: int, size: int, spawn: Spawned) -> tuple[str, tuple[int, str]]:
    """Both directions at once on one socket: (sent SHA, (received length, received SHA))."""
    writing = spawn(send_side, sock.openWriteChannel(), seed, size)
    received = receive_side(sock.openReadChannel(), seed + 1)
    return writing.get(timeout=PATIENCE * 6), received


def _plan(kind: str, count: int, size: int) -> tuple[list[int], list[int]]:
    """How many bytes each connection sends up (client to server) and down."""
    rng = random.Random(count * 7919 + len(kind))
    up = [rng.randint(0, size) for _ in range(count)]
    return up, [rng.randint(0, size) for _ in range(count)]


def run_load(kind: str, count: int, size: int, selector: Any = None) -> None:
    """*count* connections open at once over *kind*, every one exchanging both ways."""
    ok, why = _support.ensure_descriptors(2 * count + 256)
    if not ok:
        pytest.skip(why)
    sizes_up, sizes_down = _plan(kind, count, size)
    results: dict[tuple[str, int], Any] = {}
    failures: list[str] = []
    all_connected = gevent.event.Event()
    connected = [0]
    wait = PATIENCE * 6 + count * 0.02

    def both_ways(side: str, sock: Any, index: int | None, reader: Any, writer: Any,
                  spawn: Spawned) -> None:
        if index is None:
            index = reader.readInt()
        all_connected.wait()
        up = side == "client"
        sending = spawn(send_side, writer, 2 * index + (0 if up else 1),
                        (sizes_up if up else sizes_down)[index])
        received = receive_side(reader, 2 * index + (1 if up else 0))
        results[(side, index)] = (sending.get(timeout=wait), received)

    with _support.listening(
        "tcp" if kind == "tls" else kind, selector, backlogSize=min(count + 16, 4096)
    ) as (server, target), Spawned() as spawn:

        def serve(sock: Any) -> None:
            try:
                if kind == "tls":
                    sock = sock.tls(_support.tls().server, serverSide=True, timeout=wait)
                both_ways("server", sock, None, sock.openReadChannel(), sock.openWriteChannel(),
                          spawn)
            except Exception as exc:  # noqa: BLE001 - collected and reported
                failures.append(f"server side: {exc!r}")
            finally:
                sock.close()

        def accept_all() -> None:
            for _ in range(count):
                spawn(serve, server.accept())

        def client(index: int) -> None:
            sock = None
            try:
                sock = greensock.aSocket(selector).tcp().connect(*target, timeout=wait)
                if kind == "tls":
                    sock = sock.tls(_support.tls().client, serverName="localhost", timeout=wait)
                reader, writer = sock.openReadChannel(), sock.openWriteChannel()
                writer.writeInt(index)
                writer.flush()
                connected[0] += 1
                if connected[0] == count:
                    all_connected.set()
                both_ways("client", sock, index, reader, writer, spawn)
            except Exception as exc:  # noqa: BLE001 - collected and reported
                failures.append(f"client {index}: {exc!r}")
                all_connected.set()  # the others must not wait for this one forever
            finally:
                if sock is not None:
                    sock.close()

        acceptor = spawn(accept_all)
        clients = [spawn(client, index) for index in range(count)]
        gevent.joinall([acceptor, *clients], timeout=wait)
        running = sum(not g.dead for g in clients)
        assert not running, f"{running} of {count} connections still running after {wait} s"
        until = time.monotonic() + PATIENCE
        while len(results) < 2 * count and time.monotonic() < until:
            gevent.sleep(0.05)
    assert not failures, f"{len(failures)} connection ends failed: {failures[:5]}"
    mismatches = []
    for index in range(count):
        client_sent, client_got = results[("client", index)]
        server_sent, server_got = results[("server", index)]
        if server_got != (sizes_up[index], client_sent):
            mismatches.append(f"connection {index}, client to server")
        if client_got != (sizes_down[index], server_sent):
            mismatches.append(f"connection {index}, server to client")
    assert not mismatches, f"{len(mismatches)} streams arrived different: {mismatches[:5]}"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_many_concurrent_connections_exchange_random_data_both_ways_intact(kind: str) -> None:
    if kind == "tcp" and not _support.ensure_descriptors(2 * CONNECTIONS + 256)[0]:
        run_split_load(CONNECTIONS, LOAD_BYTES)  # the clients in a child process
        return
    run_load(kind, CONNECTIONS, LOAD_BYTES)


@pytest.mark.timeout(300)
def test_many_concurrent_tls_connections_exchange_random_data_both_ways_intact() -> None:
    if not _support.has_trustme():
        pytest.skip("trustme is not installed")
    run_load("tls", max(1, CONNECTIONS // 10), LOAD_BYTES)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["tcp", "unix", "tls"])
def test_megabytes_in_random_chunks_both_ways_arrive_intact(kind: str) -> None:
    if kind == "tls" and not _support.has_trustme():
        pytest.skip("trustme is not installed")
    run_load(kind, 4, 3_000_000)


@pytest.mark.timeout(120)
def test_megabytes_through_a_bytechannel_in_random_chunks_arrive_intact() -> None:
    with Spawned() as spawn:
        for capacity in (1, 100, 65536):
            channel = greensock.ByteChannel(capacity=capacity)
            size = 200_000 if capacity == 1 else 3_000_000
            sending = spawn(send_side, channel, capacity, size)
            received = receive_side(channel, capacity)
            assert received == (size, outcome(sending))


def client_process(port: int, count: int, size: int) -> None:
    """The client side of :func:`run_split_load`, run in a child process: *count* connections
    to 127.0.0.1:*port*, all open at once, then both ways; prints the results as JSON."""
    import json

    sizes_up, _sizes_down = _plan("tcp", count, size)
    results: dict[int, Any] = {}
    failures: list[str] = []
    all_connected = gevent.event.Event()
    connected = [0]
    wait = PATIENCE * 6 + count * 0.02

    def client(index: int) -> None:
        sock = None
        try:
            sock = greensock.aSocket().tcp().connect("127.0.0.1", port, timeout=wait)
            reader, writer = sock.openReadChannel(), sock.openWriteChannel()
            writer.writeInt(index)
            writer.flush()
            connected[0] += 1
            if connected[0] == count:
                all_connected.set()
            all_connected.wait()
            sending = gevent.spawn(send_side, writer, 2 * index, sizes_up[index])
            received = receive_side(reader, 2 * index + 1)
            results[index] = [sending.get(timeout=wait), list(received)]
        except Exception as exc:  # noqa: BLE001 - reported to the parent
            failures.append(f"client {index}: {exc!r}")
            all_connected.set()
        finally:
            if sock is not None:
                sock.close()

    gevent.joinall([gevent.spawn(client, index) for index in range(count)], timeout=wait)
    print(json.dumps({"results": results, "failures": failures[:20]}))


def run_split_load(count: int, size: int) -> None:
    """:func:`run_load` over TCP with the clients in a child process: each process then holds
    *count* descriptors, so 10,000 connections fit where the hard limit is 20,000."""
    import json
    import sys

    import gevent.subprocess

    ok, why = _support.ensure_descriptors(count + 256)
    if not ok:
        pytest.skip(why)
    sizes_up, sizes_down = _plan("tcp", count, size)
    results: dict[int, Any] = {}
    failures: list[str] = []
    indexed = [0]
    all_connected = gevent.event.Event()
    wait = PATIENCE * 6 + count * 0.02
    tests = str(__import__("pathlib").Path(__file__).resolve().parents[1])
    with _support.listening("tcp", backlogSize=min(count + 16, 4096)) as (server, target), \
            Spawned() as spawn:

        def serve(sock: Any) -> None:
            try:
                reader, writer = sock.openReadChannel(), sock.openWriteChannel()
                index = reader.readInt()
                indexed[0] += 1
                if indexed[0] == count:
                    all_connected.set()
                all_connected.wait()
                sending = spawn(send_side, writer, 2 * index + 1, sizes_down[index])
                received = receive_side(reader, 2 * index)
                results[index] = (sending.get(timeout=wait), received)
            except Exception as exc:  # noqa: BLE001 - collected and reported
                failures.append(f"server side: {exc!r}")
            finally:
                sock.close()

        def accept_all() -> None:
            for _ in range(count):
                spawn(serve, server.accept())

        acceptor = spawn(accept_all)
        code = (
            f"import sys; sys.path.insert(0, {tests!r}); "
            "from reliability.test_integrity_under_load import client_process; "
            f"client_process({target[1]}, {count}, {size})"
        )
        child = gevent.subprocess.Popen([sys.executable, "-c", code],
                                        stdout=gevent.subprocess.PIPE)
        out, _ = child.communicate(timeout=wait * 2)
        acceptor.join(wait)
        until = time.monotonic() + PATIENCE
        while len(results) < count and not failures and time.monotonic() < until:
            gevent.sleep(0.05)
    report = json.loads(out.decode().strip().splitlines()[-1])
    assert not failures and not report["failures"], (failures[:5], report["failures"][:5])
    mismatches = []
    for index in range(count):
        client_sent, client_got = report["results"][str(index)]
        server_sent, server_got = results[index]
        if server_got != (sizes_up[index], client_sent):
            mismatches.append(f"connection {index}, client to server")
        if tuple(client_got) != (sizes_down[index], server_sent):
            mismatches.append(f"connection {index}, server to client")
    assert not mismatches, f"{len(mismatches)} streams arrived different: {mismatches[:5]}"


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_ten_thousand_concurrent_connections_exchange_random_data_intact() -> None:
    run_split_load(max(CONNECTIONS, 10_000), LOAD_BYTES // 4)


# -- soak ---------------------------------------------------------------------------------


def _soak_round(rng: random.Random, spawn: Spawned) -> None:
    """A few connections exchanging both ways, some reads interrupted and retried, some
    connections reset by their client."""
    resets = rng.random() < 0.3
    # A reset (lingerSeconds=0) exists over TCP only: a Unix socket closed mid-stream ends
    # it in order, and its peer sees a clean, early end of stream.
    kind = "tcp" if resets else rng.choice(("tcp", "unix"))
    options = {"lingerSeconds": 0} if resets else None
    with _support.connected_pair(kind, options) as (client, server):
        seed = rng.getrandbits(32)
        size = rng.randint(0, 200_000)
        sending = spawn(send_side, client.openWriteChannel(), seed, size)
        reader = server.openReadChannel()
        if resets and rng.random() < 0.5:
            gevent.sleep(rng.random() * 0.01)
            client.close()  # RST: the server's reads end with ConnectionResetError or EOF
            try:
                receive_side(reader, seed)
            except (ConnectionResetError, greensock.ClosedReceiveChannelException):
                pass
            outcome(sending)
            return
        how = rng.choice(sorted(_support.INTERRUPTIONS))
        # An interrupted first read must leave the stream intact.
        _support.interrupt(how, lambda: reader.awaitContent(9), rng.random() * 0.005)
        assert receive_side(reader, seed) == (size, outcome(sending))


@pytest.mark.timeout(max(120, int(SOAK_SECONDS * 3) + 60))
def test_soak_of_connections_interruptions_and_resets_leaves_no_growth() -> None:
    rng = random.Random(20261206)
    with Spawned() as spawn:
        for _ in range(20):  # warm up allocators and caches before measuring
            _soak_round(rng, spawn)
        gc.collect()
        rss_before = _support.rss_bytes()
        fds_before = len(_support.open_fds())
        rounds = 0
        until = time.monotonic() + SOAK_SECONDS
        while time.monotonic() < until:
            _soak_round(rng, spawn)
            rounds += 1
        spawn.greenlets[:] = [g for g in spawn.greenlets if not g.dead]
    gevent.sleep(0.2)
    gc.collect()
    growth = _support.rss_bytes() - rss_before
    assert len(_support.open_fds()) <= fds_before, "descriptors grew during the soak"
    assert growth < 32 * 1024 * 1024, (
        f"resident memory grew by {growth / 2**20:.1f} MiB over {rounds} soak rounds"
    )
