"""The one test seam for kernel faults that loopback cannot produce.

Some errors the kernel reports only outside a loopback test: accept(2) failing with
ECONNABORTED, EPROTO or EPERM for a connection that died in the backlog (Linux reports those
only behind a firewall rule), and a UDP send failing with EAGAIN (loopback hands each
datagram to the receiver at once, so a sender's buffer never fills: a tiny SO_SNDBUF and a
burst of the largest datagrams give none over IPv4, and ENOBUFS, not EAGAIN, over IPv6).

:func:`kernel_faults` puts those errors where the kernel would raise them, in front of a
real kernel socket that serves every other call: the next calls of one method of the kernel
socket fail, one error each, then reach the kernel again. To get there it takes the one
private link the tests use, here and nowhere else: a greensock socket's ``_sock``, the
:class:`greensock._gevent.KernelSocket` under it, whose public ``raw`` is the kernel socket
its transfers call (``raw._accept`` is accept(2), as ``socket.accept`` calls it;
``raw.sendto``/``raw.send`` are sendto(2)/send(2)). When greensock renames that link, this is
the one place to change.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

__all__ = ["KernelFaults", "kernel_faults"]


class KernelFaults:
    """Stands in for a kernel socket: the next calls of *call* raise ``OSError`` with
    *codes*, one each (EAGAIN makes the ``BlockingIOError`` the kernel's would be), then
    are the real socket's; everything else is the real socket's."""

    def __init__(self, real: Any, call: str, codes: list[int]) -> None:
        self.real = real
        self.call = call
        #: The errors still to come, in order: ``[]`` once all were raised.
        self.codes = list(codes)

    def _failing(self, method: Any) -> Any:
        def call(*args: Any) -> Any:
            if self.codes:
                code = self.codes.pop(0)
                raise OSError(code, os.strerror(code))
            return method(*args)

        return call

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.real, name)
        return self._failing(attribute) if name == self.call else attribute


@contextlib.contextmanager
def kernel_faults(sock: Any, call: str, codes: list[int]) -> Iterator[KernelFaults]:
    """Within the block, the next calls of *call* on the kernel socket under the greensock
    socket or server *sock* fail with *codes* (see :class:`KernelFaults`)."""
    link = sock._sock  # the private link, see the module's docstring
    real = link.raw
    faults = link.raw = KernelFaults(real, call, codes)
    try:
        yield faults
    finally:
        if link.raw is faults:  # not closed meanwhile (a close lets go of it)
            link.raw = real
