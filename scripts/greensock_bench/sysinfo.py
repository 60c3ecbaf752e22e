"""Process facts the harness needs: resident memory, the open-file limit, a machine summary."""

from __future__ import annotations

import os
import platform
import resource
import sys


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
