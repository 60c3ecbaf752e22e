"""``.. autointerface:: greensock.interfaces.ISocket``: document a zope.interface declaration.

autodoc does not see into an ``InterfaceClass`` (its methods are ``zope.interface.Method``
objects without ``self``, annotations or keyword-only markers), so this reads the module's
source instead: each ``Interface`` subclass, its bases, its ``Attribute(...)`` members and
its methods with their signatures exactly as declared, in source order, with their
docstrings. It emits the usual ``py:class``/``py:attribute``/``py:method`` directives, so
cross-references (``:class:`~greensock.interfaces.ISocket```) work as for any class.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective


def _doc(node: ast.AST) -> str:
    if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
        return inspect.cleandoc(ast.get_docstring(node, clean=False) or "")
    return ""


def _indent(text: str, prefix: str) -> list[str]:
    return [prefix + line if line.strip() else "" for line in text.splitlines()]


def _attribute_doc(value: ast.expr) -> str | None:
    """The docstring of ``Attribute("...")``; None for anything else."""
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id == "Attribute"
        and value.args
        and isinstance(value.args[0], ast.Constant)
    ):
        return inspect.cleandoc(str(value.args[0].value))
    return None


def _signature(function: ast.FunctionDef) -> str:
    text = f"({ast.unparse(function.args)})"
    if function.returns is not None:
        text += f" -> {ast.unparse(function.returns)}"
    return text


def interface_lines(module_name: str, class_name: str) -> list[str]:
    """The reStructuredText that documents *class_name* of *module_name*."""
    module = importlib.import_module(module_name)
    tree = ast.parse(inspect.getsource(module))
    node = next(
        (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name), None
    )
    if node is None:
        raise ValueError(f"no interface {class_name} in {module_name}")
    lines = [f".. py:class:: {class_name}", f"   :module: {module_name}", ""]
    bases = [ast.unparse(base) for base in node.bases if ast.unparse(base) != "Interface"]
    if bases:
        lines += ["   Extends " + ", ".join(f":class:`{base}`" for base in bases) + ".", ""]
    lines += [*_indent(_doc(node), "   "), ""]
    for item in node.body:
        if isinstance(item, ast.Assign) and len(item.targets) == 1:
            doc = _attribute_doc(item.value)
            target = item.targets[0]
            if doc is not None and isinstance(target, ast.Name):
                lines += [f"   .. py:attribute:: {target.id}", "", *_indent(doc, "      "), ""]
        elif isinstance(item, ast.FunctionDef):
            lines += [f"   .. py:method:: {item.name}{_signature(item)}", ""]
            lines += [*_indent(_doc(item), "      "), ""]
    return lines


class AutoInterface(SphinxDirective):
    required_arguments = 1
    has_content = False

    def run(self) -> list[Any]:
        module_name, _, class_name = self.arguments[0].rpartition(".")
        lines = interface_lines(module_name, class_name)
        source = inspect.getsourcefile(importlib.import_module(module_name)) or module_name
        self.env.note_dependency(source)
        container = nodes.Element()
        self.state.nested_parse(StringList(lines, source=source), 0, container)
        return list(container.children)


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("autointerface", AutoInterface)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
