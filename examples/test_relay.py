# The testing kit's conformance checks, run through relay.py: python -m pytest examples/
import pytest

from greensock import aSocket, serve
from greensock.testing import (
    checkHalfCloseableStream,
    checkNothingLost,
    checkTwoWayStream,
)

from relay import relay


@pytest.fixture
def make_pair():
    """A maker of (client, upstream) pairs that talk to each other through the relay."""
    tcp = aSocket().tcp()
    with tcp.bind("127.0.0.1", 0) as upstream:
        with serve(tcp.bind("127.0.0.1", 0), relay(upstream.localAddress)) as serving:

            def make():
                client = tcp.connect("127.0.0.1", serving.server.port, timeout=5)
                return client, upstream.accept(timeout=5)

            yield make


@pytest.mark.parametrize("check", [checkTwoWayStream, checkHalfCloseableStream, checkNothingLost])
def test_the_relay_behaves_like_a_socket(make_pair, check):
    check(make_pair)  # raises AssertionError saying what broke, and the seed to replay it
