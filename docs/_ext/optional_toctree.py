"""``.. optional-toctree::``: a toctree whose entries may not exist yet.

Some pages (``design.md``, ``reliability.md``) are written on other branches; the index
lists them here, and this directive leaves out those not present, instead of the warning
(an error under ``-W``) that a plain toctree gives for a missing document.
"""

from __future__ import annotations

from typing import Any

from docutils.statemachine import StringList
from sphinx.directives.other import TocTree


class OptionalTocTree(TocTree):
    def run(self) -> list[Any]:
        env = self.state.document.settings.env
        env.note_reread()  # which entries exist may change between builds
        kept = StringList()
        for line, (source, offset) in zip(self.content, self.content.items, strict=True):
            name = line.strip()
            if not name or name in env.found_docs:
                kept.append(line, source, offset)
        self.content = kept
        return super().run() if any(line.strip() for line in kept) else []


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("optional-toctree", OptionalTocTree)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
