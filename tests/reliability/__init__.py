"""The reliability suite: integrity under load, interruption, faults, back-pressure, bad input
and interoperability with real peers (see ``_support`` for the knobs and ``conftest`` for the
leak checks every module runs under)."""
