"""greensock touches gevent's internals in one module only, and says loudly when one is gone."""

from __future__ import annotations

import re
from pathlib import Path

import gevent

import greensock
from greensock._gevent import missing_internals

#: How code reaches into gevent's private parts: private modules and attributes, and the
#: hub and loop methods that are not gevent's public API.
INTERNAL = re.compile(
    r"gevent\._|\._read_event|\._write_event|\.closing_fd|cancel_waits_close|\.cancel_wait\("
    r"|wait_on_socket"
)


def test_every_gevent_internal_greensock_uses_is_there() -> None:
    assert missing_internals() == [], (
        f"gevent {gevent.__version__} lacks internals greensock._gevent uses: "
        f"{missing_internals()}; update greensock/_gevent.py for this release"
    )


def test_no_module_but_greensock_gevent_touches_gevent_internals() -> None:
    package = Path(greensock.__file__).parent
    offenders = {
        path.name: sorted(set(INTERNAL.findall(path.read_text())))
        for path in package.glob("*.py")
        if path.name != "_gevent.py" and INTERNAL.search(path.read_text())
    }
    assert offenders == {}


def test_only_greensock_lookup_asks_the_resolver() -> None:
    package = Path(greensock.__file__).parent
    asking = re.compile(r"(gsocket|socket|gevent\.socket)\.getaddrinfo\(")
    offenders = [
        path.name
        for path in package.glob("*.py")
        if path.name != "lookup.py" and asking.search(path.read_text())
    ]
    assert offenders == []
