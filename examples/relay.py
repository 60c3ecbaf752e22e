# A TCP relay: every connection accepted is forwarded to an upstream address, both ways.
import gevent

from greensock import aSocket


def relay(upstream_address):
    """A handler for serve(): forward the connection to upstream_address."""

    def handle(socket):
        with aSocket().tcp().connect(upstream_address, timeout=5) as upstream:
            # Each direction ends with the half-close of its source, passed on as one.
            forward = gevent.spawn(
                socket.openReadChannel().copyAndClose, upstream.openWriteChannel()
            )
            upstream.openReadChannel().copyAndClose(socket.openWriteChannel())
            forward.get()  # raises what ended the other direction, if it failed

    return handle
