"""Bounded memory (SPEC principle 5, section 6): a writer whose peer never reads blocks once
the channel's capacity and the kernel's buffers are full, however much it tries to write
(200 MB here), and the process's resident memory grows by far less than that; a reader
facing a flood holds what its read needs plus at most one receive of spare.
"""

from __future__ import annotations

import gc
import os
from typing import Any

import gevent
import pytest

import greensock

from . import _support
from ._support import PATIENCE, STREAM_KINDS, Spawned, connected_pair, outcome, rss_bytes

pytestmark = pytest.mark.timeout(90)

ATTEMPTED = 200 * 1024 * 1024
CHUNK = 1024 * 1024
#: A loose bound: 200 MB of attempted writes must not show up as more than this.
RSS_BOUND = 32 * 1024 * 1024
#: What a socket write channel holds unflushed, and one receive of spare (SPEC section 6).
SOCKET_CAPACITY = 65536

STYLES = ("writeFully", "writePacket", "writeAvailable-autoFlush", "writeStringUtf8",
          "attachForWriting")


def _needs(kind: str) -> None:
    if kind == "tls" and not _support.has_trustme():
        pytest.skip("trustme is not installed")


def _writer_loop(style: str, channel: Any, chunk: bytes, text: str) -> None:
    for _ in range(ATTEMPTED // CHUNK):
        if style in ("writeFully", "attachForWriting"):
            channel.writeFully(chunk)
        elif style == "writePacket":
            channel.writePacket(chunk)
        elif style == "writeAvailable-autoFlush":
            done = 0
            while done < len(chunk):
                done += channel.writeAvailable(chunk, done)
        elif style == "writeStringUtf8":
            channel.writeStringUtf8(text)
        else:
            raise AssertionError(style)
        if style != "writeAvailable-autoFlush":
            channel.flush()


def _peak_rss_while_stalling(progress: Any, writing: gevent.Greenlet) -> int:
    peak = rss_bytes()

    def sampled() -> int:
        nonlocal peak
        peak = max(peak, rss_bytes())
        return int(progress())

    _support.wait_until_stalled(sampled, quiet=0.3)
    assert not writing.dead, f"the writer ended: {outcome(writing)!r}"
    return peak


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("kind", STREAM_KINDS)
def test_a_writer_facing_a_peer_that_never_reads_blocks_within_bounded_memory(
    kind: str, style: str
) -> None:
    _needs(kind)
    chunk = os.urandom(CHUNK)
    text = "\u20ac" * (CHUNK // 3)
    with connected_pair(kind) as (client, server), Spawned() as spawn:
        server.openReadChannel()  # opened, never read
        if style == "attachForWriting":
            channel = greensock.ByteChannel(capacity=CHUNK)
            client.attachForWriting(channel)
        else:
            channel = client.openWriteChannel(autoFlush=style == "writeAvailable-autoFlush")
        gc.collect()
        before = rss_bytes()
        writing = spawn(_writer_loop, style, channel, chunk, text)
        peak = _peak_rss_while_stalling(lambda: channel.totalBytesWritten, writing)
        written = channel.totalBytesWritten
        assert written < ATTEMPTED // 4, f"{written} bytes went to a peer that reads nothing"
        growth = peak - before
        assert growth < RSS_BOUND, (
            f"{style} over {kind}: resident memory grew by {growth / 2**20:.1f} MiB while "
            f"{written / 2**20:.1f} MiB were taken by a peer that never reads"
        )
        client.close()
        server.close()
        failure = outcome(writing)
        assert isinstance(failure, greensock.ClosedWriteChannelException), (
            f"the blocked writer woken by close() got {failure!r}"
        )


def test_a_bytechannel_writer_without_a_reader_blocks_at_the_capacity() -> None:
    chunk = os.urandom(CHUNK)
    channel = greensock.ByteChannel(capacity=CHUNK)
    with Spawned() as spawn:
        gc.collect()
        before = rss_bytes()
        writing = spawn(_writer_loop, "writeFully", channel, chunk, "")
        peak = _peak_rss_while_stalling(lambda: channel.totalBytesWritten, writing)
        assert channel.availableForRead <= CHUNK
        assert peak - before < RSS_BOUND
        channel.close()
        assert isinstance(outcome(writing), greensock.ClosedWriteChannelException)


@pytest.mark.parametrize("kind", STREAM_KINDS)
def test_a_reader_facing_a_flood_buffers_what_its_read_needs_plus_one_receive(kind: str) -> None:
    _needs(kind)
    chunk = os.urandom(CHUNK)
    with connected_pair(kind) as (client, server), Spawned() as spawn:
        reader = server.openReadChannel()
        writer = client.openWriteChannel()
        gc.collect()
        before = rss_bytes()
        flooding = spawn(_writer_loop, "writeFully", writer, chunk, "")
        with gevent.Timeout(PATIENCE):
            assert len(reader.readPacket(10)) == 10
        peak = _peak_rss_while_stalling(lambda: writer.totalBytesWritten, flooding)
        assert reader.availableForRead <= SOCKET_CAPACITY, (
            f"a read of 10 bytes left {reader.availableForRead} buffered"
        )
        assert peak - before < RSS_BOUND
        client.close()
        server.close()
        outcome(flooding)
