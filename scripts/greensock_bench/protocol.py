"""The wire protocol, the bounds every loop obeys, and the table of workloads.

All stacks speak exactly this protocol, so their numbers are comparable:

- TCP line echo (W2, W3, W4, W6): the client sends ``LINE_TEXT`` + ``"\\n"`` (64 bytes); the
  server reads one line and writes it back; EOF from the client ends the connection.
- Except W4, where the server closes after its one line and the client reads to EOF before
  closing. Whoever closes first keeps the connection in TIME_WAIT for a minute; on the
  client side that holds an ephemeral port, and with the client closing first every stack
  ran into the kernel's port reuse (a flat ~14,100 connections/s here, whatever the stack).
- TCP bulk (W1): the client writes ``CHUNK_SIZE`` chunks, then half-closes; the server counts
  the bytes to EOF and answers with one line holding the decimal count, then closes.
- UDP echo (W5): the client sends a ``DATAGRAM_SIZE`` datagram and waits for it to come back.
"""

from __future__ import annotations

from dataclasses import dataclass

HOST = "127.0.0.1"
LINE_SIZE = 64
LINE_TEXT = "x" * (LINE_SIZE - 1)  # plus "\n": 64 bytes on the wire
CHUNK_SIZE = 64 * 1024
DATAGRAM_SIZE = 64
DATAGRAM = b"d" * DATAGRAM_SIZE
BACKLOG = 1024

# Bounds on every loop, whatever the duration says.
MAX_CHUNKS = 10_000_000  # W1: 640 GiB
MAX_ROUND_TRIPS = 50_000_000  # per connection or datagram socket
MAX_ACCEPTS = 10_000_000  # per server process
CHURN_WORKERS = 50  # W4
CONNECT_PARALLEL = 50  # W3/W6: connections being opened at once
MAX_CONNECTIONS = 15_000  # W3/W6 upper bound, below the usual hard RLIMIT_NOFILE of 20,000

# Servers serve until the parent kills them; this only bounds the wait (the watchdog is
# shorter still).
SERVE_SECONDS = 24 * 3600.0

# Seconds, beyond the measured duration, that a child may take before it is killed.
STARTUP_ALLOWANCE = 30.0


@dataclass(frozen=True)
class Metric:
    """One number a workload reports."""

    key: str
    unit: str
    higher_is_better: bool = True


@dataclass(frozen=True)
class Workload:
    """A benchmark workload: which server/client pair runs, and what it measures."""

    key: str
    kind: str  # "bulk" | "pingpong" | "many" | "churn" | "udp"
    title: str
    metrics: tuple[Metric, ...]
    default_connections: int = 1

    def describe(self, connections: int) -> str:
        """The title, with the connection count filled in."""
        return self.title.format(n=f"{connections:,}")

    def connections(self, override: int | None) -> int:
        """Connection count for this workload: ``override`` when given, else the default."""
        return override if override is not None else self.default_connections


THROUGHPUT = Metric("throughput", "MiB/s")
ROUND_TRIPS = Metric("round_trips", "round trips/s")
CONNECTIONS = Metric("connections", "connections/s")
IDLE_MEMORY = Metric("idle_memory", "KiB/conn (server RSS)", higher_is_better=False)
#: CPU time of server and client together per operation (round trip, connection, 64 KiB
#: chunk) in the measured window. Unlike the rates it leaves out the time a process waits to
#: be scheduled, which is most of the noise of a shared machine.
CPU_PER_OP = Metric("cpu_per_op", "µs CPU/op (server+client)", higher_is_better=False)

WORKLOADS: dict[str, Workload] = {
    w.key: w
    for w in (
        Workload("W1", "bulk", "bulk 64 KiB writes, half-close", (THROUGHPUT, CPU_PER_OP)),
        Workload("W2", "pingpong", "64-byte line ping-pong", (ROUND_TRIPS, CPU_PER_OP)),
        Workload(
            "W3", "many", "{n} connections ping-pong", (ROUND_TRIPS, IDLE_MEMORY, CPU_PER_OP), 1000
        ),
        Workload("W4", "churn", "50 workers connect/line/close", (CONNECTIONS, CPU_PER_OP)),
        Workload("W5", "udp", "UDP 64-byte echo", (ROUND_TRIPS, CPU_PER_OP)),
        Workload(
            "W6",
            "many",
            "{n} idle connections, then active",
            (ROUND_TRIPS, IDLE_MEMORY, CPU_PER_OP),
            10_000,
        ),
    )
}


@dataclass(frozen=True)
class Params:
    """What one server or client process is asked to do."""

    workload: str
    duration: float
    port: int = 0
    connections: int = 1

    @property
    def kind(self) -> str:
        """The workload's kind (selects the server and client functions)."""
        return WORKLOADS[self.workload].kind


def metric_values(
    workload: Workload,
    result: dict[str, float],
    rss: dict[str, int],
    cpu: dict[str, float],
    connections: int,
) -> dict[str, float]:
    """Turn a client's raw result, the server's RSS readings and both processes' CPU seconds
    into the workload's metrics."""
    seconds = max(result["seconds"], 1e-9)
    values: dict[str, float] = {}
    for metric in workload.metrics:
        if metric is THROUGHPUT:
            values[metric.key] = result["bytes"] / seconds / (1024 * 1024)
        elif metric is IDLE_MEMORY:
            values[metric.key] = (rss["idle"] - rss["base"]) / connections / 1024
        elif metric is CPU_PER_OP:
            values[metric.key] = sum(cpu.values()) / max(result["count"], 1) * 1e6
        else:
            values[metric.key] = result["count"] / seconds
    return values
