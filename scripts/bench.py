"""Run greensock's socket benchmark: ``python scripts/bench.py --help``.

The code lives in the ``greensock_bench`` package next to this file.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from greensock_bench.runner import main

if __name__ == "__main__":
    sys.exit(main())
