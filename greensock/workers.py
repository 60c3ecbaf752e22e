"""``serveWorkers``: one port served by several forked processes (SPEC section 10).

The parent forks exactly ``workers`` processes and does no serving itself. Each worker binds
the address with SO_REUSEPORT, so that the kernel spreads incoming connections among their
listening sockets, and runs :func:`~greensock.serving.serve` there. The parent supervises:
a worker that dies is replaced; SIGTERM or SIGINT stops them all.

How the pieces fit, and why:

* **Fork with gevent.** ``gevent.os.fork_and_watch`` forks, calls ``gevent.reinit()`` in the
  child, and in the parent starts a child watcher, whose callback tells us of the exit
  without polling. A forked child is a copy of the parent at the moment of the fork,
  greenlets, signal watchers and hub included: the child cancels the parent's signal
  watchers at once, serves with a ``SelectorManager`` of its own (the default one, keyed by
  the hub, would be the parent's copy), and never returns into the caller's code: it ends
  with ``os._exit``.
* **Readiness.** Each worker reports through a pipe once it listens (its address, pickled)
  or why it could not (the exception, pickled), so that the first workers' bind errors
  (a port in use, a bad host) reach the caller as the exception they are, and so that
  ``ready`` is called only once connections can be accepted. With port 0, the first worker
  picks the port and the others bind the one it reports.
* **Stopping.** SIGTERM or SIGINT in the parent is forwarded as SIGTERM to every worker
  (a Ctrl-C in a terminal also reaches the workers directly: they take SIGINT the same
  way), which stops accepting and lets its handlers finish (``Serving.stopTimeout``); the
  parent waits :attr:`WorkerSupervisor.stopGrace` for them, then kills what is left.
* **Signals.** ``gevent.signal_handler`` watchers replace Python's handlers while serving
  (:func:`stop_signals`), and the previous ones are put back on the way out: a Ctrl-C after
  ``serveWorkers`` returned is a KeyboardInterrupt again.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import logging
import os
import pickle
import signal
import socket as stdsocket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import gevent
import gevent.os
from gevent.event import Event

from .addresses import InetSocketAddress
from .builders import aSocket
from .selector import SelectorManager
from .serving import Handler, ServeSettings, Serving, serve_settings

__all__ = ["WorkerSupervisor", "serveWorkers", "stop_signals"]

log = logging.getLogger(__name__)

#: The signals that stop serving, in the parent and in the workers.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_OK, _FAILED = b"+", b"-"


@contextlib.contextmanager
def stop_signals(callback: Callable[[int], object]) -> Iterator[list[Any]]:
    """Call ``callback(signal number)`` on SIGTERM or SIGINT while in the block (from the
    hub); yield the gevent watchers. Python's previous handlers are back afterwards.

    Main thread only (signal handlers are). The watchers replace Python's handlers, and
    cancelling them leaves the signals at their default action (libev's doing): put back,
    Python's handler makes a Ctrl-C a KeyboardInterrupt again.
    """
    previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}
    watchers = [gevent.signal_handler(number, callback, number) for number in STOP_SIGNALS]
    try:
        yield watchers
    finally:
        for watcher in watchers:
            watcher.cancel()
        for number, handler in previous.items():
            if handler is not None:
                signal.signal(number, handler)


def _exit_description(status: int) -> str:
    """``exited with status 3`` or ``was killed by SIGKILL``, from a wait status."""
    code = os.waitstatus_to_exitcode(status)
    if code >= 0:
        return f"exited with status {code}"
    try:
        return f"was killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"was killed by signal {-code}"


class WorkerSupervisor:
    """The parent side of :func:`serveWorkers`: forks, watches and stops the workers.

    The tunables below can be set on the class (or on an instance, for the curious).
    """

    #: Seconds a worker has, after SIGTERM, to stop before it is killed (SIGKILL). Longer
    #: than ``Serving.stopTimeout``, which a worker's handlers get to finish.
    stopGrace: float = 10.0
    #: Seconds to wait for killed workers to be reaped; the kernel takes microseconds.
    killGrace: float = 5.0
    #: Seconds a new worker has to report that it listens before it is killed as stuck.
    startTimeout: float = 30.0
    #: A worker that dies sooner than this after its start counts as a crash at start-up:
    #: its replacement waits :attr:`restartDelayFirst`, doubled at each crash in a row up to
    #: :attr:`restartDelayMax`, so a worker that cannot start costs a fork now and then,
    #: not a fork loop.
    quickDeath: float = 1.0
    restartDelayFirst: float = 0.1
    restartDelayMax: float = 10.0

    def __init__(
        self,
        address: InetSocketAddress,
        handler: Handler,
        workers: int,
        configure: Any,
        settings: ServeSettings,
    ) -> None:
        self._address = address
        self._handler = handler
        self._count = workers
        self._configure = configure
        self._settings = settings
        #: Live workers: pid -> time.monotonic() at their start.
        self._workers: dict[int, float] = {}
        #: (pid, wait status) of workers that exited, filled by the child watchers.
        self._exited: collections.deque[tuple[int, int]] = collections.deque()
        #: Workers that failed to start, killed, not reaped yet.
        self._failedStarts: set[int] = set()
        self._wake = Event()
        self._stopSignal: int | None = None
        self._signalWatchers: list[Any] = []
        self._restartDelay = 0.0
        self._restartAt = 0.0

    # -- the parent ------------------------------------------------------------------------

    def run(self, ready: Any = None) -> None:
        """Start the workers, call ``ready(address)``, supervise until a stop signal, stop
        them all; return once every worker has exited. Raises what kept the first workers
        from listening (after stopping those that did)."""
        with stop_signals(self._onSignal) as self._signalWatchers:
            try:
                for _ in range(self._count):
                    if self._stopSignal is not None:
                        return
                    self._address = self._start(raiseErrors=True)
                log.info("%d workers serve %s", self._count, self._address)
                if ready is not None and self._stopSignal is None:
                    ready(self._address)
                self._supervise()
            finally:
                self._stopAll()

    def _onSignal(self, number: int) -> None:
        log.info("%s: stopping the workers", signal.Signals(number).name)
        self._stopSignal = number
        self._wake.set()

    def _onExit(self, watcher: Any) -> None:
        """Child watcher callback (in the hub): note the exit, wake the supervisor."""
        self._exited.append((watcher.pid, watcher.rstatus))
        self._wake.set()

    def _supervise(self) -> None:
        """Replace workers that die until a stop signal arrives."""
        while self._stopSignal is None:
            missing = self._count - len(self._workers)
            now = time.monotonic()
            if missing and now >= self._restartAt:
                if self._start() is None:
                    self._backOff()
                continue
            self._wake.wait(max(0.0, self._restartAt - now) if missing else None)
            self._wake.clear()
            self._reap(replacing=True)

    def _reap(self, replacing: bool = False) -> None:
        """Forget the workers that exited; log them; plan their replacement if *replacing*."""
        while self._exited:
            pid, status = self._exited.popleft()
            started = self._workers.pop(pid, None)
            if started is None or pid in self._failedStarts or not replacing:
                self._failedStarts.discard(pid)
                continue
            log.warning("worker %d %s; starting another", pid, _exit_description(status))
            if time.monotonic() - started < self.quickDeath:
                self._backOff()
            else:
                self._restartDelay = 0.0

    def _backOff(self) -> None:
        delay = self._restartDelay
        delay = self._restartDelay = min(
            delay * 2 if delay else self.restartDelayFirst, self.restartDelayMax
        )
        self._restartAt = time.monotonic() + delay

    def _start(self, raiseErrors: bool = False) -> Any:
        """Fork a worker and wait for its report: the address it listens on, or None when it
        failed (logged) — raised instead with *raiseErrors*."""
        readable, writable = os.pipe()
        try:
            # ref: a live worker keeps the parent's hub from finding nothing to wait for (the
            # signal watchers do not count) and raising LoopExit in _supervise.
            pid = gevent.os.fork_and_watch(callback=self._onExit, ref=True)
        except BaseException:
            os.close(readable)
            os.close(writable)
            raise
        if pid == 0:  # the worker: never returns
            os.close(readable)
            self._work(writable)
        os.close(writable)
        self._workers[pid] = time.monotonic()
        try:
            report = self._readReport(readable)
        finally:
            os.close(readable)
        if report[:1] == _OK:
            address: InetSocketAddress = pickle.loads(report[1:])
            log.debug("worker %d listens on %s", pid, address)
            return address
        error = self._reportedError(pid, report)
        # Its exit, when the watcher reports it, is expected: no warning, no replacement
        # of its own (the caller decides). Until then it counts as a worker to wait for.
        self._failedStarts.add(pid)
        self._kill(pid, signal.SIGKILL)
        if raiseErrors:
            raise error
        log.error("worker %d could not start: %s", pid, error)
        return None

    def _readReport(self, readable: int) -> bytes:
        """The worker's report: everything it writes to the pipe until it closes it."""
        gevent.os.make_nonblocking(readable)
        report = b""
        with gevent.Timeout(self.startTimeout, False):
            while chunk := gevent.os.nb_read(readable, 65536):
                report += chunk
        return report

    def _reportedError(self, pid: int, report: bytes) -> BaseException:
        if report[:1] == _FAILED:
            try:
                error = pickle.loads(report[1:])
                if isinstance(error, BaseException):
                    return error
            except Exception:  # noqa: BLE001 -- an unpicklable error: say what we know
                pass
            return RuntimeError(f"worker {pid} failed to start: {report[1:200]!r}")
        if not report:
            return RuntimeError(
                f"worker {pid} ended, or did not listen within {self.startTimeout} s"
            )
        return RuntimeError(f"worker {pid} sent a garbled report {report[:50]!r}")

    def _kill(self, pid: int, number: int) -> None:
        try:
            os.kill(pid, number)
        except ProcessLookupError:
            pass  # gone already; its watcher will tell

    def _stopAll(self) -> None:
        """SIGTERM to every worker, SIGKILL to those still there after :attr:`stopGrace`;
        return once all have exited (or, killed, still not within :attr:`killGrace`)."""
        self._reap()
        for pid in list(self._workers):
            self._kill(pid, signal.SIGTERM)
        self._awaitExits(self.stopGrace)
        if self._workers:
            log.warning(
                "killing %d workers still running %s s after SIGTERM",
                len(self._workers),
                self.stopGrace,
            )
            for pid in list(self._workers):
                self._kill(pid, signal.SIGKILL)
            self._awaitExits(self.killGrace)
        if self._workers:
            log.error("workers %s did not exit, even killed", sorted(self._workers))

    def _awaitExits(self, seconds: float) -> None:
        """Wait until every worker has exited, for at most *seconds*."""
        deadline = time.monotonic() + seconds
        while self._workers and time.monotonic() < deadline:
            self._wake.wait(deadline - time.monotonic())
            self._wake.clear()
            self._reap()

    # -- a worker --------------------------------------------------------------------------

    def _work(self, report: int) -> None:
        """The worker process: serve until SIGTERM or SIGINT, then exit. Never returns."""
        status = 1
        try:
            status = self._serve(report)
        except BaseException:  # the worker must never unwind into the caller's code
            log.exception("worker %d failed", os.getpid())
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:  # noqa: BLE001 -- exiting anyway
                    pass
            os._exit(status)

    def _serve(self, report: int) -> int:
        # The parent's signal watchers were copied by the fork: ours first, then theirs
        # cancelled (the last watcher of a signal cancelled leaves it at its default action).
        stop = Event()
        for number in STOP_SIGNALS:
            gevent.signal_handler(number, stop.set)
        for watcher in self._signalWatchers:
            watcher.cancel()
        try:
            selector = SelectorManager()  # the default one would be the parent's copy
            server = (
                aSocket(selector)
                .tcp()
                .bind(self._address, configure=_withReusePort(self._configure))
            )
        except Exception as exc:  # noqa: BLE001 -- reported to the parent, which raises it
            _write_all(report, _FAILED + _pickled(exc))
            os.close(report)
            return 1
        serving = Serving(server, self._handler, self._settings)
        _write_all(report, _OK + pickle.dumps(server.localAddress))
        os.close(report)
        ended = gevent.spawn(serving.join)
        gevent.wait([stop, ended], count=1)
        serving.stop()
        serving.join(Serving.stopTimeout)
        selector.close()
        # Accepting that ended by itself (the listener broke: logged) is a failure.
        return 0 if stop.is_set() else 1


def _withReusePort(configure: Any) -> Any:
    """*configure* (None, a dict of options, or a callable), with reusePort forced on."""
    if configure is None:
        return {"reusePort": True}
    if isinstance(configure, dict):
        return {**configure, "reusePort": True}

    def both(options: Any) -> None:
        configure(options)
        options.reusePort = True

    return both


def _pickled(exc: BaseException) -> bytes:
    try:
        return pickle.dumps(exc)
    except Exception:  # noqa: BLE001 -- e.g. an unpicklable argument
        return pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def serveWorkers(
    address: InetSocketAddress,
    handler: Handler,
    *,
    workers: int,
    configure: Any = None,
    ready: Any = None,
    **serveOptions: Any,
) -> None:
    """Serve *address* with *workers* forked processes; return once they have all exited.

    Each worker binds *address* (an ``InetSocketAddress``; port 0 lets the first worker
    pick the port, which the others then share) with ``reusePort``, so that the kernel
    spreads connections among them, and runs ``serve(server, handler, **serveOptions)``
    there. *configure* (a callable or a dict, as ``bind`` takes it) applies to each worker's
    ``AcceptorOptions``. The parent forks exactly *workers* processes and serves nothing
    itself; it replaces a worker that dies (waiting a little longer each time one dies at
    start-up), and on SIGTERM or SIGINT sends SIGTERM to every worker, which stops
    accepting and lets its handlers finish, waits for them
    (:attr:`WorkerSupervisor.stopGrace`), kills those still running, and returns.
    ``ready(address)``, when given, is called in the parent once every worker listens, with
    the address they listen on (the actual port when *address* had port 0).

    Blocks the calling greenlet (and, as a fork copies the process, must be called from the
    main thread of a program that keeps nothing else running: the workers start as copies
    of it). Raises OSError (``ENOSYS``) where there is no ``fork`` (not POSIX), OSError
    (``ENOPROTOOPT``) where there is no SO_REUSEPORT; RuntimeError outside the main thread;
    TypeError or ValueError for bad arguments (those of :func:`serve` included, checked
    before any fork); and the exception that kept the first workers from listening
    (``OSError`` with ``EADDRINUSE``, ``socket.gaierror``...), after stopping those that did.
    """
    if not hasattr(os, "fork"):
        raise OSError(errno.ENOSYS, "serveWorkers needs os.fork: it runs on POSIX systems only")
    if not hasattr(gevent.os, "fork_and_watch"):
        raise OSError(errno.ENOSYS, "serveWorkers needs gevent.os.fork_and_watch (POSIX)")
    if not isinstance(address, InetSocketAddress):
        raise TypeError(
            "address must be an InetSocketAddress (SO_REUSEPORT shares TCP/IP ports only), "
            f"not {type(address).__name__}"
        )
    if isinstance(workers, bool) or not isinstance(workers, int):
        raise TypeError(f"workers must be an int, not {type(workers).__name__}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    if not callable(handler):
        raise TypeError(f"handler must be callable, not {type(handler).__name__}")
    if configure is not None and not (callable(configure) or isinstance(configure, dict)):
        raise TypeError(
            f"configure must be None, a callable or a dict, not {type(configure).__name__}"
        )
    if ready is not None and not callable(ready):
        raise TypeError(f"ready must be None or callable, not {type(ready).__name__}")
    settings = serve_settings(**serveOptions)
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("serveWorkers must run in the main thread: it handles SIGTERM/SIGINT")
    if not hasattr(stdsocket, "SO_REUSEPORT"):
        raise OSError(
            errno.ENOPROTOOPT, "serveWorkers needs SO_REUSEPORT, which this system lacks"
        )
    WorkerSupervisor(address, handler, workers, configure, settings).run(ready)
