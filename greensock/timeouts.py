"""The one check every ``timeout=`` argument goes through (SPEC section 5, "Timeout values").

``connect``, ``accept``, ``receive``, ``tls``, ``awaitClosed`` and ``join`` hand their
``timeout`` to :func:`checked_timeout` before doing anything else, and use what it returns.
"""

from __future__ import annotations

import numbers

__all__ = ["checked_timeout"]


def checked_timeout(timeout: object) -> float | None:
    """Return a call's ``timeout=`` argument as gevent can take it, or raise.

    ``None`` (wait without bound) and positive numbers of seconds come back as they are;
    ``float("inf")``, or an integer too large for a float, waits without bound too and comes
    back as ``None``. A negative number is a deadline that has already passed: it comes back
    as ``0.0``, so the call completes only if it can without waiting (a connection already
    in the backlog, a datagram already queued) and otherwise times out at once. gevent's
    libev loop fires a negative timer at once too, but its libuv loop turns one into 1 ms
    with a warning; 0 fires on the next turn of either.

    Raises ``TypeError`` for anything that is not a real number (``bool`` included: a flag
    passed by mistake is no duration), and ``ValueError`` for NaN, which would otherwise
    reach the loop's timer heap, where it compares false with every other deadline and
    stops every timer of the thread from firing (``gevent.sleep`` and ``gevent.Timeout``
    included), while the call itself waits forever.

    Callers on a hot path test ``timeout is None`` themselves first and call this only
    for a number.
    """
    if timeout is None:
        return None
    if type(timeout) is not float and type(timeout) is not int:
        if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
            raise TypeError(
                f"timeout must be None or a number of seconds, not {type(timeout).__name__}"
            )
    try:
        seconds = float(timeout)
    except OverflowError:  # an int beyond any float: an unbounded wait, or one long past
        return None if timeout > 0 else 0.0  # type: ignore[operator]
    if seconds != seconds:
        raise ValueError("timeout must be a number of seconds or None, not NaN")
    if seconds < 0.0:
        return 0.0
    if seconds == float("inf"):
        return None
    return seconds
