"""greensock's serving helpers: ``serve()`` in one process (variant ``serve``), or
``serveWorkers()`` with :data:`WORKERS` forked processes on one port (variant ``workers``).

Only the server differs from the ``greensock`` stack: it runs the same per-connection
handlers of ``workloads_sync`` through ``serve``, and the client is greensock's. With
workers, the server's RSS and CPU time answered to the harness are those of the whole
process tree, workers included.
"""

from __future__ import annotations

from typing import Any

from greensock import InetSocketAddress, aSocket, serve, serveWorkers

from .. import sysinfo, workloads_sync
from ..child import Control
from ..protocol import BACKLOG, HOST, SERVE_SECONDS, Params
from .greensock_stack import GreensockConn, adapter

#: Processes of the ``workers`` variant: one per core of the 2-core machines it is run on.
WORKERS = 2


def missing() -> dict[str, str]:
    """UDP has no connections to serve."""
    return {"udp": "serve() and serveWorkers() serve stream connections"}


def main(role: str, params: Params, control: Control, variant: str) -> dict[str, float] | None:
    """Run one side of ``params.workload``: the server through serve() or serveWorkers()."""
    stack = adapter("")
    if role == "client":
        return workloads_sync.main(stack, role, params, control)
    handle = workloads_sync.connection_handler(params.kind)

    def handler(sock: Any) -> None:
        handle(stack, GreensockConn(sock))

    options = {"backlogSize": BACKLOG}
    if variant == "workers":
        control.measures = {"rss": sysinfo.tree_rss_bytes, "cpu": sysinfo.tree_cpu_seconds}
        serveWorkers(
            InetSocketAddress(HOST, 0),
            handler,
            workers=WORKERS,
            configure=options,
            ready=lambda address: control.ready(address.port),
        )
        return None
    server = aSocket().tcp().bind(HOST, 0, configure=options)
    serving = serve(server, handler)
    assert server.port is not None  # an IP server always has one
    control.ready(server.port)
    serving.join(SERVE_SECONDS)
    return None
