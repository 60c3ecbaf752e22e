"""Process facts the harness needs: resident memory, the open-file limit, a machine summary."""

from __future__ import annotations

import os
import platform
import resource
import sys
import time


def rss_bytes() -> int:
    """This process's resident set size in bytes (psutil when installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        pass
    else:
        return int(psutil.Process().memory_info().rss)
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    # Peak, not current: the best a platform without /proc offers.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _children() -> list[int]:
    """The processes the main thread of this one forked and has not reaped (Linux /proc)."""
    try:
        with open(f"/proc/self/task/{os.getpid()}/children", encoding="ascii") as listing:
            return [int(pid) for pid in listing.read().split()]
    except OSError:
        return []


def _proc_fields(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (empty when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return []


def tree_rss_bytes() -> int:
    """Resident memory of this process and its children (the workers of a forking server).

    Pages the children still share with this process after the fork count once per
    process, as every RSS sum does: an upper bound.
    """
    pages = sum(int(fields[21]) for fields in map(_proc_fields, _children()) if fields)
    return rss_bytes() + pages * os.sysconf("SC_PAGE_SIZE")


def tree_cpu_seconds() -> float:
    """CPU seconds of this process, of its live children, and of those it has reaped."""
    ticks = sum(
        int(fields[11]) + int(fields[12]) for fields in map(_proc_fields, _children()) if fields
    )
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (
        time.process_time() + ticks / os.sysconf("SC_CLK_TCK") + reaped.ru_utime + reaped.ru_stime
    )


def nofile_hard_limit() -> int:
    """The hard RLIMIT_NOFILE (a very large number when unlimited)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return sys.maxsize if hard == resource.RLIM_INFINITY else hard


def raise_nofile(wanted: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards ``wanted`` (at most the hard limit); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def fds_needed(connections: int) -> int:
    """File descriptors one process needs to hold ``connections`` sockets, with a margin."""
    return connections + 256


def machine() -> dict[str, object]:
    """A short description of the machine and interpreter, for the JSON report."""
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "nofile_hard": nofile_hard_limit(),
    }
