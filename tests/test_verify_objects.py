"""SPEC principle 2: every object greensock hands out provides its interface, verified."""

from __future__ import annotations

import gevent
import pytest
from zope.interface.verify import verifyObject

import greensock
from greensock import interfaces as I


@pytest.fixture
def tcp_pair():
    server = greensock.aSocket().tcp().bind("127.0.0.1", 0)
    accepting = gevent.spawn(server.accept)
    client = greensock.aSocket().tcp().connect("127.0.0.1", server.port)
    accepted = accepting.get(timeout=5)
    yield server, client, accepted
    for sock in (client, accepted, server):
        sock.close()


@pytest.mark.timeout(20)
def test_builders_selector_and_options_verify() -> None:
    selector = greensock.SelectorManager()
    builder = greensock.aSocket(selector)
    assert verifyObject(I.ISelectorManager, selector)
    assert verifyObject(I.ISocketBuilder, builder)
    assert verifyObject(I.IConfigurable, builder)
    assert verifyObject(I.ITcpSocketBuilder, builder.tcp())
    assert verifyObject(I.IUDPSocketBuilder, builder.udp())
    selector.close()


@pytest.mark.timeout(20)
def test_tcp_objects_verify(tcp_pair) -> None:
    server, client, accepted = tcp_pair
    assert verifyObject(I.IServerSocket, server)
    assert verifyObject(I.IJob, server.socketContext)
    for sock in (client, accepted):
        assert verifyObject(I.ISocket, sock)
        assert verifyObject(I.IJob, sock.socketContext)
    assert verifyObject(I.IByteReadChannel, client.openReadChannel())
    assert verifyObject(I.IByteWriteChannel, client.openWriteChannel())
    connection = accepted.connection()
    assert verifyObject(I.IConnection, connection)


@pytest.mark.timeout(20)
def test_jobs_of_attachments_verify(tcp_pair) -> None:
    _, client, accepted = tcp_pair
    incoming = greensock.ByteChannel()
    outgoing = greensock.ByteChannel()
    writer_job = accepted.attachForReading(incoming)
    reader_job = client.attachForWriting(outgoing)
    assert verifyObject(I.IWriterJob, writer_job)
    assert verifyObject(I.IReaderJob, reader_job)
    assert writer_job.channel is incoming and reader_job.channel is outgoing
    outgoing.writeStringUtf8("through two pumps\n")
    outgoing.close()
    assert incoming.readUTF8Line() == "through two pumps"
    assert reader_job.join(5) and writer_job.join(5)


def test_memory_channels_verify() -> None:
    assert verifyObject(I.IByteChannel, greensock.ByteChannel())
    assert verifyObject(I.IByteReadChannel, greensock.ByteReadChannel(b"content"))
