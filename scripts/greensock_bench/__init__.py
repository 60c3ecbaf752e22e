"""greensock's benchmark harness: the same socket workloads on several network stacks.

Layout (one job per module):

- ``protocol``: the wire protocol and bounds shared by every stack, and the workload table.
- ``framing``: hand-written line framing for stacks without a line reader (raw gevent, trio).
- ``workloads_sync`` / ``workloads_async``: server and client of every workload, written once
  against a tiny per-stack adapter (greenlet-blocking stacks / async stacks).
- ``stacks``: the registry of stacks, and one adapter module per library.
- ``child``: the entry point of a server or client subprocess.
- ``orchestrate``: the parent side: start server and client, relay control, kill on timeout.
- ``stats`` / ``report``: medians and ratios; Markdown, JSON and PNG output.
- ``runner``: the command line (``scripts/bench.py``).

Every benchmark run is two processes started with ``sys.executable`` on 127.0.0.1: the
server binds an ephemeral port and reports it on stdout; the client connects to it. The
parent talks to both over stdin/stdout, one JSON object per line, and kills both process
groups when the run ends or a child outlives its hard timeout (each child also has a
watchdog thread). Every loop is bounded in count (``protocol.MAX_*``) and in time.

W3/W6 (many connections): the client opens the connections (50 at a time, one round trip
each so the server has accepted them), then stops at a checkpoint; the parent reads the
server's RSS (psutil, else /proc/self/status) before any connection, with all of them idle,
and after the active phase. Memory per connection = (idle - before) / connections. One client
process holds all connections: both processes raise their soft RLIMIT_NOFILE to what they
need (at most the hard limit), and a workload whose need exceeds the hard limit is skipped.

A stack whose library is missing is skipped ("not installed"), one that fails to import is
skipped with the error, and a stack module may name workload kinds it cannot run yet
(``missing()``), which are skipped with that reason.
"""
