"""Sphinx configuration of greensock's documentation.

Build with ``python -m sphinx -W --keep-going -b html docs docs/_build/html`` (the
``[docs]`` extra installs what it needs); CI does, and any warning fails it.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))  # the greensock of this checkout
sys.path.insert(0, str(DOCS / "_ext"))

import greensock  # noqa: E402

import benchmark_results  # noqa: E402

project = "greensock"
author = "the greensock authors"
copyright = "2026, the greensock authors"  # noqa: A001 -- Sphinx's name
version = release = greensock.__version__

extensions = [
    "sphinx.ext.autodoc",
    "myst_parser",  # the Markdown pages: benchmark results, design and reliability notes
    "zope_interfaces",  # .. autointerface:: for greensock.interfaces
    "optional_toctree",  # .. optional-toctree:: for pages other branches add
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# The benchmark result files are included by the generated results page, not read alone.
exclude_patterns = ["_build", "benchmarks/*.md", "Thumbs.db", ".DS_Store"]
templates_path: list[str] = []

# Pages may link to files beside them (README-style links in the Markdown pages).
myst_heading_anchors = 3
suppress_warnings: list[str] = []

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"undoc-members": False}
# Names in signatures stay as written: greensock's annotations use forward references.
autodoc_type_aliases: dict[str, str] = {}
nitpicky = False

html_theme = "furo"
html_title = f"greensock {release}"
html_static_path: list[str] = []

# docs/_generated/benchmark-results.rst lists every file of docs/benchmarks/, newest first.
benchmark_results.write(DOCS / "benchmarks", DOCS / "_generated" / "benchmark-results.rst")
