"""Every page in German and Spanish, with no English word left in what it shows.

The hostile sweep's world (one of everything a page can show) is walked page by page on the workspace host as its
owner and on the root domain as a visitor, both reading German (or Spanish). Each
page's visible text (scripts, styles and the values of form fields left out) is split into words; a word is English
when the English messages use it and no translation of the language does (so "Workspace", "Pro" or "Atrium", which the
translations keep, never count) and it is not a word of the world's own data (project names, addresses). Such a word
on a page is a string that reached it without going through the catalogue: a hard-coded label, a plan's description,
an unlocalised unit. The browser tests look at a few pages as a person sees them; this one reads all of them.
"""

from __future__ import annotations

import re
import zoneinfo
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from devtools.check_messages import parse_po
from shared_apps.accounts.models import User
from tenant_apps.audit.models import Event
from tenant_apps.projects.models import Project, Task
from tests.conftest import HostClient, host_of
from tests.core.test_hostile_sweep import (
    OWNER,
    PUBLIC_PARAMETERS,
    PUBLIC_URLCONF,
    STRANGER,
    Sweep,
    World,
    _clients,
    _paths,
    world,
)
from tests.urlwalk import PARAMETERS, URLCONF

__all__ = ["world"]  # the hostile sweep's fixture: Acme with one of everything a page can show

LOCALE = Path(settings.BASE_DIR) / "locale"
_WORD = re.compile(r"[A-Za-z][a-z]{3,}")
_GLUE = "\x00"
_IDENTIFIER = re.compile(r"[/@_=]|\w\.\w|^\.\w")
_PLACEHOLDER = re.compile(r"%(\([^)]+\))?[sd]|\{[^}]*\}|<[^>]+>|&[a-z#0-9]+;")
# Words both languages use as they are (names, borrowed terms), which a translation of this catalogue happens not to
# contain: they are not English left behind.
SHARED_WORDS = {"atrium", "django", "stripe", "google", "github", "microsoft", "okta", "saml", "scim", "webauthn"}
# What the hostile sweep's world is named and says (projects, task, comment, labels, groups, keys, reasons).
WORLD_TEXT = (
    "Launch Old Ship it On it Sweep Sweepers Support Google Acme Inc invitee example Laptop "
    "Sweep endpoint Sweep answer Sweep task"
)
# Pages whose text is a third party's (the API's OpenAPI document is JSON; the browsable API's own pages), or
# made for machines.
# The operators' console (/admin/) is left out: its chrome and Atrium's own labels are translated, but the names of
# models, fields and permissions that Django's admin prints come from the models' verbose names, which are not.
SKIPPED = ("/api/", "/static/", "/media/", "/i18n/", "/health", "/.well-known/", "/live/", "/scim/", "/admin/")


class _Text(HTMLParser):
    """The text a reader sees: data outside <script>, <style>, <template> and <textarea>; titles and labels of
    controls (aria-label, title, placeholder, alt) too."""

    HIDDEN = {"script", "style", "template", "textarea", "noscript"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "wbr":  # a place a long word may break (addresses, hosts): still one word
            self.parts.append(_GLUE)
        if tag in self.HIDDEN:
            self._hidden += 1
        for name, value in attrs:
            if name in ("aria-label", "title", "placeholder", "alt") and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts).replace(f" {_GLUE} ", "")


def _words(text: str) -> set[str]:
    """The words of `text`, leaving out addresses, paths, codes and names of things ("task.created", "Europe/Berlin",
    "https://…", "_atrium-verification.example"): identifiers read the same in every language."""
    return {w.lower() for w in _WORD.findall(_prose(text))}


def _prose(text: str) -> str:
    return " ".join(t for t in _PLACEHOLDER.sub(" ", text).split() if not _IDENTIFIER.search(t))


def english_words(language: str) -> set[str]:
    """Words of the English messages that no translation into `language` contains."""
    english: set[str] = set()
    translated: set[str] = set()
    for domain in ("django", "djangojs"):
        for entry in parse_po((LOCALE / language / "LC_MESSAGES" / f"{domain}.po").read_text(encoding="utf-8")):
            english |= _words(entry.msgid) | _words(entry.plural or "")
            for text in entry.msgstr:
                translated |= _words(text)
    return english - translated - SHARED_WORDS


def _in_context(word: str, text: str) -> str:
    """The word with the words around its first appearance: "plan (… the Free plan includes …)"."""
    prose = _prose(text)
    match = re.search(rf"(?i)\b{word}\b", prose)
    if match is None:
        return word
    return f"{word} ({prose[max(match.start() - 30, 0) : match.end() + 30]})"


def _data_words(world: World) -> set[str]:
    """The world's own words (names, titles, addresses, labels): data is shown as it was typed."""
    found: set[str] = set()
    for value in world.values.values():
        found |= _words(str(value))
    for user in User.objects.all():
        found |= _words(f"{user.email} {user.name}")
    zones = " ".join(name.replace("/", " ").replace("_", " ") for name in zoneinfo.available_timezones())
    return found | _words(WORLD_TEXT) | _words(zones)


@pytest.mark.parametrize("language", ["de", "es"])
def test_no_page_shows_an_english_word_in_german_or_spanish(world: World, in_tenant: Any, language: str) -> None:
    User.objects.filter(pk__in=[world.owner.pk, world.operator.pk]).update(language=language)
    with in_tenant(world.tenant):
        Project.objects.update(description="")  # the factory's English "A project"
        # what people typed, as the pages and the activity feed show it (an English owner's welcome project, made by
        # an earlier test in this workspace, is data too)
        events = Event.objects.values_list("data", flat=True)
        named = [str(d.get("name") or d.get("title") or "") for d in events if d]
        projects = Project.objects.values_list("name", flat=True)
        typed = " ".join([*projects, *Task.objects.values_list("title", flat=True), *named])
    clients = _clients(world)
    root = settings.BASE_DOMAIN
    clients[(root, STRANGER)] = lambda: HostClient(root, HTTP_ACCEPT_LANGUAGE=language)
    sweep = Sweep(clients=clients)
    english = english_words(language)
    data = _data_words(world) | _words(world.tenant.name) | _words(typed)
    workspace = host_of(world.tenant)
    leftovers: dict[str, list[str]] = {}
    pages = 0
    for host, urlconf, parameters in ((workspace, URLCONF, PARAMETERS), (root, PUBLIC_URLCONF, PUBLIC_PARAMETERS)):
        for _pattern, path in _paths(urlconf, {**PARAMETERS, **parameters}, world):
            if path is None or path.startswith(SKIPPED):
                continue
            who = OWNER if host == workspace else STRANGER
            page = sweep.send(host, who, "GET", path, {})
            if isinstance(page, Exception) or page.status_code != 200:
                continue
            if "text/html" not in page.get("Content-Type", ""):
                continue
            pages += 1
            text = " ".join(visible_text(page.content.decode()).split())
            found = sorted((_words(text) & english) - data)
            if found:
                leftovers[f"{host}{path} ({who})"] = [_in_context(word, text) for word in found]

    assert pages >= 50, pages
    report = "\n".join(f"  {where}: {'; '.join(words)}" for where, words in sorted(leftovers.items()))
    assert not leftovers, f"English words on {len(leftovers)} of {pages} pages in {language}:\n{report}"
