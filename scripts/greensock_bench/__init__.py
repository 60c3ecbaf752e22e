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
parent talks to both over stdin/stdout, one JSON object per line.
"""
