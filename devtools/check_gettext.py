"""`python -m devtools.check_gettext`: every translatable string of the code reaches the catalogue and is translated
when it is shown (run by `make lint`).

Two mistakes the catalogue check cannot see, because the string never reaches `makemessages`' view or is translated
once for everybody:

1. A translation function imported under a name `xgettext` does not know (`gettext_lazy as _l`): its strings are
   never extracted, so they stay English in every language. Import them as `_` or under their own names.
2. An eager function (`gettext`, `ngettext`, `pgettext`) called while a module is imported: in a module-level
   constant, a class body (form fields, choices), a decorator or a default argument. It runs once, in the language
   active at start-up (English), and every reader sees that. Use `gettext_lazy` there, or call it inside a function.

Reads the packages that ship (`config`, `tenants`, `shared_apps`, `tenant_apps`, `billing`; migrations aside).
Exits 1 naming each place, 0 otherwise. Standard library only.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "tenants", "shared_apps", "tenant_apps", "billing")
EAGER = {"gettext", "ngettext", "pgettext", "npgettext"}
LAZY = {"gettext_lazy", "ngettext_lazy", "pgettext_lazy", "npgettext_lazy", "gettext_noop"}
# The names `makemessages` passes to xgettext as keywords (Django's defaults).
EXTRACTED = {"_", *EAGER, *LAZY}


class _Eager(ast.NodeVisitor):
    """Calls of the module's eager translation names outside any function or lambda body."""

    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.depth = 0
        self.found: list[tuple[int, str]] = []

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for part in [*node.decorator_list, *node.args.defaults, *(d for d in node.args.kw_defaults if d)]:
            self.visit(part)  # evaluated when the module is imported
        self.depth += 1
        for statement in node.body:
            self.visit(statement)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    def visit_Call(self, node: ast.Call) -> None:
        if self.depth == 0 and isinstance(node.func, ast.Name) and node.func.id in self.names:
            self.found.append((node.lineno, ast.unparse(node)[:80]))
        self.generic_visit(node)


def problems_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    found: list[str] = []
    eager: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
            for alias in node.names:
                name = alias.asname or alias.name
                if alias.name in EAGER | LAZY and name not in EXTRACTED:
                    found.append(f"{where}:{node.lineno}: {alias.name} imported as {name}: makemessages never sees it")
                if alias.name in EAGER and node in tree.body:
                    eager.add(name)
    visitor = _Eager(eager)
    visitor.visit(tree)
    found += [f"{where}:{line}: {call} runs once, at import (use gettext_lazy)" for line, call in visitor.found]
    return found


def main() -> int:
    found: list[str] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                found += problems_of(path)
    for line in found:
        print(line)
    if found:
        print(f"\n{len(found)} translation call problem(s).")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
