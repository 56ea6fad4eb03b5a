"""The translation-call check (`devtools/check_gettext.py`, run by `make lint`) finds what it says; the code passes."""

from __future__ import annotations

from pathlib import Path

from devtools.check_gettext import main, problems_of


def _module(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "module.py"
    path.write_text(text, encoding="utf-8")
    return problems_of(path)


def test_an_eager_call_at_import_is_found_and_one_inside_a_function_is_not(tmp_path: Path) -> None:
    found = _module(
        tmp_path,
        "from django.utils.translation import gettext as _\n"
        "LABELS = {'a': _('At import')}\n"
        "class Form:\n"
        "    label = _('In a class body')\n"
        "def shown(x=_('A default')):\n"
        "    return _('In a function'), (lambda: _('In a lambda'))\n",
    )
    assert [line.split(": ", 1)[1] for line in found] == [
        "_('At import') runs once, at import (use gettext_lazy)",
        "_('In a class body') runs once, at import (use gettext_lazy)",
        "_('A default') runs once, at import (use gettext_lazy)",
    ]


def test_lazy_calls_at_import_are_fine_and_an_unknown_alias_is_found(tmp_path: Path) -> None:
    assert _module(tmp_path, "from django.utils.translation import gettext_lazy as _\nX = _('Fine')\n") == []
    found = _module(tmp_path, "from django.utils.translation import gettext_lazy as _l\nX = _l('Never extracted')\n")
    assert found == [f"{tmp_path / 'module.py'}:1: gettext_lazy imported as _l: makemessages never sees it"]


def test_the_shipped_code_has_no_such_call() -> None:
    assert main() == 0
