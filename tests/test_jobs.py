"""Jobs (SPEC section 7): completion, join, handlers, cancel; the pumps behind attachFor*."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import gevent
import pytest
from zope.interface.verify import verifyObject

from greensock import ByteChannel, ClosedChannelException, SelectorManager, aSocket
from greensock.interfaces import IJob, IReaderJob, IWriterJob
from greensock.jobs import Job, PumpJob

LOCAL = "127.0.0.1"


@pytest.fixture
def pair() -> Iterator[tuple[Any, Any]]:
    """A connected (client, accepted) TCP pair on a selector of the test's own."""
    selector = SelectorManager()
    tcp = aSocket(selector).tcp()
    server = tcp.bind(LOCAL, 0)
    client = tcp.connect(LOCAL, server.port)
    accepted = server.accept(timeout=5)
    server.close()
    yield client, accepted
    selector.close()


# -- Job ------------------------------------------------------------------------------------------


def test_a_job_provides_IJob_and_starts_active() -> None:
    job = Job()
    assert verifyObject(IJob, job)
    assert job.isActive and not job.isCompleted and not job.isCancelled


@pytest.mark.timeout(5)
def test_join_returns_False_on_timeout_and_True_once_complete() -> None:
    job = Job()
    assert job.join(0.01) is False
    assert job.join(0) is False
    waiter = gevent.spawn(job.join)
    gevent.sleep(0.01)
    assert not waiter.dead
    job._complete()
    assert waiter.get(timeout=2) is True
    assert job.join(0) is True and job.join() is True
    assert job.isCompleted and not job.isActive and not job.isCancelled


def test_invokeOnCompletion_before_and_after_completion() -> None:
    job = Job()
    before: list[Any] = []
    job.invokeOnCompletion(before.append)
    job.invokeOnCompletion(before.append)
    assert before == []
    cause = RuntimeError("failed")
    assert job._complete(cause) is True
    assert before == [cause, cause]
    after: list[Any] = []
    job.invokeOnCompletion(after.append)
    assert after == [cause]  # at once
    assert job._complete(None) is False  # completes once
    assert before == [cause, cause]


def test_a_normal_completion_passes_None_to_handlers() -> None:
    job = Job()
    causes: list[Any] = []
    job.invokeOnCompletion(causes.append)
    job._complete()
    assert causes == [None]


def test_a_failing_handler_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    job = Job()
    calls: list[str] = []

    def broken(cause: Any) -> None:
        calls.append("broken")
        raise ValueError("handler bug")

    job.invokeOnCompletion(broken)
    job.invokeOnCompletion(lambda cause: calls.append("second"))
    with caplog.at_level(logging.ERROR, logger="greensock.jobs"):
        job._complete()
    assert calls == ["broken", "second"]
    assert job.isCompleted
    assert "handler bug" in caplog.text


def test_invokeOnCompletion_rejects_a_non_callable() -> None:
    with pytest.raises(TypeError, match="callable"):
        Job().invokeOnCompletion("nope")  # type: ignore[arg-type]


def test_cancel_completes_the_job_as_cancelled_with_the_cause() -> None:
    job = Job()
    causes: list[Any] = []
    job.invokeOnCompletion(causes.append)
    cause = ValueError("stop")
    job.cancel(cause)
    assert job.isCancelled and job.isCompleted and not job.isActive
    assert causes == [cause]
    job.cancel(ValueError("again"))  # no effect once complete
    assert causes == [cause]


def test_cancel_without_a_cause_completes_with_GreenletExit() -> None:
    job = Job()
    causes: list[Any] = []
    job.invokeOnCompletion(causes.append)
    job.cancel()
    assert job.isCancelled and job.isCompleted
    assert len(causes) == 1 and isinstance(causes[0], gevent.GreenletExit)


def test_cancel_asks_the_owner_to_stop_and_is_idempotent() -> None:
    asked: list[Any] = []
    job = Job(onCancel=asked.append)
    causes: list[Any] = []
    job.invokeOnCompletion(causes.append)
    cause = ValueError("stop")
    job.cancel(cause)
    job.cancel(ValueError("again"))
    assert asked == [cause]  # asked once
    assert job.isCancelled and not job.isCompleted  # the owner completes it when stopped
    job._complete()  # the owner stopped normally: the job still ends as cancelled by cause
    assert job.isCompleted and job.isCancelled
    assert causes == [cause]


def test_a_job_completing_with_an_error_counts_as_cancelled() -> None:
    job = Job()
    job._complete(OSError("failed"))
    assert job.isCompleted and job.isCancelled


def test_cancel_after_completion_is_not_a_cancellation() -> None:
    job = Job()
    job._complete()
    job.cancel()
    assert job.isCompleted and not job.isCancelled


# -- pump jobs ------------------------------------------------------------------------------------


@pytest.mark.timeout(5)
def test_a_pump_job_runs_its_work_in_a_greenlet_and_completes() -> None:
    channel = ByteChannel()
    job = PumpJob(lambda: channel.readPacket(3), channel)
    assert isinstance(job.greenlet, gevent.Greenlet)
    assert job.channel is channel
    gevent.sleep(0.01)
    assert job.isActive and job.join(0.01) is False
    channel.writeFully(b"abc")
    channel.flush()
    assert job.join(2) is True
    assert job.isCompleted and not job.isCancelled and not job.isActive


@pytest.mark.timeout(5)
def test_a_pump_job_whose_work_fails_completes_with_the_error() -> None:
    failure = OSError("pump failed")

    def work() -> None:
        raise failure

    channel = ByteChannel()
    job = PumpJob(work, channel)
    causes: list[Any] = []
    job.invokeOnCompletion(causes.append)
    assert job.join(2) is True
    assert causes == [failure]
    assert job.isCancelled  # ktor's meaning: a failed job is a cancelled one
    # Whoever uses the channel's other side is not left waiting for a pump that is gone.
    with pytest.raises(OSError, match="pump failed"):
        channel.writeFully(b"x" * 100_000)


@pytest.mark.timeout(5)
def test_cancelling_a_pump_job_kills_it_and_fails_the_channel() -> None:
    channel = ByteChannel()
    job = PumpJob(lambda: channel.readPacket(10), channel)
    gevent.sleep(0.01)
    causes: list[Any] = []
    job.invokeOnCompletion(causes.append)
    job.cancel()
    assert job.join(2) is True
    assert job.isCancelled and job.isCompleted and job.greenlet.dead
    assert len(causes) == 1 and isinstance(causes[0], gevent.GreenletExit)
    # The channel's user gets an ordinary exception, not one that would end its greenlet.
    with pytest.raises(ClosedChannelException):
        channel.readPacket(1)


@pytest.mark.timeout(5)
def test_a_pump_failing_on_its_cancelled_channel_still_ends_with_the_cancel_cause() -> None:
    channel = ByteChannel()
    # The pump writes into the channel: cancel() fails the channel, which the pump sees
    # first as an error of its own.
    job = PumpJob(lambda: [channel.awaitFreeSpace(), channel.readPacket(1)], channel)
    gevent.sleep(0.01)
    causes: list[Any] = []
    job.invokeOnCompletion(causes.append)
    cause = KeyError("cancelled on purpose")
    job.cancel(cause)
    assert job.join(2) is True
    assert causes == [cause]


@pytest.mark.timeout(5)
def test_cancelling_a_pump_job_before_it_started() -> None:
    channel = ByteChannel()
    ran: list[bool] = []
    job = PumpJob(lambda: ran.append(True), channel)
    job.cancel()  # no switch yet: the greenlet never ran
    assert job.isCompleted and job.isCancelled
    assert job.join(1) is True
    gevent.sleep(0.01)
    assert ran == []


@pytest.mark.timeout(10)
def test_attach_jobs_provide_their_interfaces_and_state(pair: tuple[Any, Any]) -> None:
    client, accepted = pair
    incoming, outgoing = ByteChannel(), ByteChannel()
    writer_job = accepted.attachForReading(incoming)
    reader_job = client.attachForWriting(outgoing)
    assert verifyObject(IWriterJob, writer_job) and verifyObject(IReaderJob, reader_job)
    assert writer_job.channel is incoming and reader_job.channel is outgoing
    assert writer_job.isActive and reader_job.isActive
    assert writer_job.join(0.01) is False and reader_job.join(0.01) is False

    outgoing.writeFully(b"payload")
    outgoing.close()
    assert reader_job.join(5) is True  # the writing pump ends at the channel's EOF...
    assert incoming.readRemaining() == b"payload"
    assert writer_job.join(5) is True  # ...and the reading one at the socket's EOF
    for job in (writer_job, reader_job):
        assert job.isCompleted and not job.isActive and not job.isCancelled


@pytest.mark.timeout(10)
def test_cancelled_attach_job_reports_cancelled(pair: tuple[Any, Any]) -> None:
    _, accepted = pair
    job = accepted.attachForReading(ByteChannel())
    gevent.sleep(0.01)
    cause = ValueError("enough")
    job.cancel(cause)
    assert job.join(2) is True
    assert job.isCancelled and job.isCompleted
    with pytest.raises(ValueError, match="enough"):
        job.channel.readPacket(1)


@pytest.mark.timeout(10)
def test_cancelling_socketContext_closes_the_socket_and_reports_GreenletExit(
    pair: tuple[Any, Any],
) -> None:
    client, _ = pair
    causes: list[Any] = []
    client.socketContext.invokeOnCompletion(causes.append)
    client.socketContext.cancel()
    assert client.awaitClosed(2) and client.socketContext.isCancelled
    assert len(causes) == 1 and isinstance(causes[0], gevent.GreenletExit)


@pytest.mark.timeout(10)
def test_socketContext_join_is_awaitClosed(pair: tuple[Any, Any]) -> None:
    client, _ = pair
    context = client.socketContext
    assert context.join(0.01) is False and client.awaitClosed(0.01) is False
    closer = gevent.spawn_later(0.02, client.close)
    assert context.join(2) is True
    closer.join()
    assert client.awaitClosed(0) is True and client.isClosed
