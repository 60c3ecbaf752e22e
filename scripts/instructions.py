"""Instructions per operation, greensock against raw gevent: ``python scripts/instructions.py``.

Needs valgrind. The code lives in ``greensock_bench/instructions.py`` next to this file.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from greensock_bench.instructions import main

if __name__ == "__main__":
    sys.exit(main())
