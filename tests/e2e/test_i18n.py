"""Atrium in German and Spanish, and in a pseudo-locale: the browser walks sign-up, the board and the settings pages.

- In `de` and `es`, no line of visible text may be an English msgid of the catalogue whose translation differs (an
  untranslated string slipped through: a missing `{% translate %}`, a catalogue entry not compiled, a page that does
  not activate the language).
- In the pseudo-locale (every msgid accented and about a third longer, the catalogue generated here and never
  shipped), no page may be wider than a phone (390 px) or a laptop (1280 px) window: layouts must survive longer
  words than English.

The German board is also the README's picture of a translated page (static/img/readme/board-de.png).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from devtools.check_messages import Entry, parse_po
from tests.e2e.conftest import LiveSite
from tests.e2e.test_layout_and_accessibility import (
    DESKTOP,
    OWNER,
    PHONE,
    README_SHOTS,
    ids,
    overflow,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]
__all__ = ["ids"]  # the module fixture that seeds a project, a task, members and an invitation

LOCALE = Path(settings.BASE_DIR) / "locale"
PSEUDO = "en-xa"
SIGN_UP = ["/signup/", "/login/", "/pricing/"]
_PLACEHOLDER = re.compile(r"%(\([^)]+\))?[sd%]|<[^>]+>|&[a-z#0-9]+;")
_ACCENTS = str.maketrans("aeiouAEIOUcnsyzCNSYZ", "àéîõüÀÉÎÕÜçñšýžÇÑŠÝŽ")


def pseudo(text: str) -> str:
    """`text` accented and a third longer (vowels doubled), placeholders, markup and entities untouched."""
    out: list[str] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        out.append(_stretch(text[position : match.start()]))
        out.append(match.group(0))
        position = match.end()
    out.append(_stretch(text[position:]))
    return "".join(out)


def _stretch(part: str) -> str:
    letters = sum(ch.isalpha() for ch in part)
    extra, added, out = round(letters * 0.3), 0, []
    for ch in part:
        out.append(ch.translate(_ACCENTS))
        if added < extra and ch.lower() in "aeiou":
            out.append(ch.translate(_ACCENTS))
            added += 1
    return "".join(out)


def _po_entry(entry: Entry) -> str:
    lines = [f"msgid {json.dumps(entry.msgid, ensure_ascii=False)}"]
    if entry.plural is not None:
        lines.append(f"msgid_plural {json.dumps(entry.plural, ensure_ascii=False)}")
        lines.append(f"msgstr[0] {json.dumps(pseudo(entry.msgid), ensure_ascii=False)}")
        lines.append(f"msgstr[1] {json.dumps(pseudo(entry.plural), ensure_ascii=False)}")
    else:
        lines.append(f"msgstr {json.dumps(pseudo(entry.msgid), ensure_ascii=False)}")
    return "\n".join(lines)


def live_site_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The pseudo-locale's catalogues, made from the German ones' msgids, for this module's server (conftest)."""
    root = tmp_path_factory.mktemp("pseudo-locale")
    folder = root / "en_XA" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    header = "\n".join(
        [
            'msgid ""',
            'msgstr ""',
            '"Content-Type: text/plain; charset=UTF-8\\n"',
            '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"',
        ]
    )
    for domain in ("django", "djangojs"):
        entries = parse_po((LOCALE / "de" / "LC_MESSAGES" / f"{domain}.po").read_text(encoding="utf-8"))
        po = folder / f"{domain}.po"
        po.write_text("\n\n".join([header, *(_po_entry(e) for e in entries)]) + "\n", encoding="utf-8")
        subprocess.run(["msgfmt", "-o", str(po.with_suffix(".mo")), str(po)], check=True)
    return {"ATRIUM_PSEUDO_LOCALE_DIR": str(root)}


def english_lines(language: str) -> set[str]:
    """English msgids (no placeholder, a few words) whose `language` translation is something else."""
    found = set()
    for domain in ("django", "djangojs"):
        for entry in parse_po((LOCALE / language / "LC_MESSAGES" / f"{domain}.po").read_text(encoding="utf-8")):
            text = entry.msgid.strip()
            if _PLACEHOLDER.search(text) or len(text) < 4 or entry.msgstr[0].strip() == text:
                continue
            found.add(text)
    return found


@pytest.fixture
def page_in(browser: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def make(locale: str, viewport: dict[str, int] = DESKTOP) -> Any:
        context = browser.new_context(viewport=viewport, locale=locale, has_touch=viewport["width"] < 600)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def sign_in(page: Any, live_site: LiveSite) -> None:
    """Signs in the owner whatever the page's language (by field names, not labels)."""
    page.goto(live_site.url("e2e-co.localhost", "/login/"))
    page.locator("input[name=login]").fill(OWNER[0])
    page.locator("input[name=password]").fill(OWNER[1])
    page.locator("input[name=password]").press("Enter")
    page.wait_for_url(live_site.url("e2e-co.localhost", "/"))


def walk(page: Any, live_site: LiveSite, ids: dict[str, int]) -> Iterator[tuple[str, Any]]:
    """Visits sign-up (as a visitor), then signs in and visits the board and the settings pages; yields each."""
    for path in SIGN_UP:
        response = page.goto(live_site.url("localhost", path))
        assert response is not None, path
        assert response.status == 200, path
        yield path, page
    sign_in(page, live_site)
    project = ids["project"]
    for path in [f"/projects/{project}/", "/settings/", "/settings/members/", "/settings/profile/"]:
        response = page.goto(live_site.url("e2e-co.localhost", path))
        assert response is not None, path
        assert response.status == 200, path
        yield "workspace " + path, page


@pytest.mark.parametrize("language", ["de", "es"])
def test_sign_up_the_board_and_settings_have_no_english_left(
    page_in: Any, live_site: LiveSite, ids: dict[str, int], language: str
) -> None:
    english = english_lines(language)
    page = page_in(language)
    leftovers: dict[str, list[str]] = {}
    for where, shown in walk(page, live_site, ids):
        assert shown.locator("html").get_attribute("lang") == language, where
        lines = {line.strip() for line in shown.locator("body").inner_text().splitlines()}
        found = sorted(lines & english)
        if found:
            leftovers[where] = found
        if language == "de" and where.startswith("workspace /projects/"):
            shown.screenshot(path=str(README_SHOTS / "board-de.png"))

    assert leftovers == {}


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_longer_words_of_the_pseudo_locale_never_widen_a_page(
    page_in: Any, live_site: LiveSite, ids: dict[str, int], viewport: dict[str, int]
) -> None:
    page = page_in(PSEUDO, viewport)
    wide: dict[str, Any] = {}
    for where, shown in walk(page, live_site, ids):
        assert shown.locator("html").get_attribute("lang") == PSEUDO, where
        measured = overflow(shown)
        if measured:  # what runs off the window (empty: the page fits)
            wide[where] = measured

    assert wide == {}
