"""`python -m devtools.check_messages`: the shipped translations are complete (run by `make lint`).

1. `makemessages` extracts every msgid of the code and templates (into a temporary directory, both domains: `django`
   and `djangojs`); each one must be in every shipped catalogue (locale/<lang>/LC_MESSAGES/<domain>.po). A msgid the
   catalogues lack is listed by language, exactly as it reads, with the file that asks for it.
2. No shipped entry is empty or marked fuzzy, and none is obsolete (in a catalogue but no longer in the code).
3. Each compiled `.mo` is the compilation of its `.po` (`msgfmt` of the committed `.po` gives the same bytes).

To fix a failure: `make messages` (updates the catalogues and compiles them), translate what it added, commit.
Exits 1 naming every problem, 0 otherwise. Needs GNU gettext (`xgettext`, `msgfmt`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale"
DOMAINS = ("django", "djangojs")
# Paths makemessages never reads: tools, tests, installed packages, generated files (docs/i18n.md).
IGNORE = (
    ".venv/*",
    ".data/*",
    "tests/*",
    "bench/*",
    "devtools/*",
    "infra/*",
    "node_modules/*",
    "static/js/htmx.min.js",
)
_LINE = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (".*")$')


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    plural: str | None = None
    msgstr: list[str] = field(default_factory=list)
    fuzzy: bool = False
    obsolete: bool = False
    references: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.msgctxt, self.msgid)


def parse_po(text: str) -> list[Entry]:
    """The entries of a .po file (the header, msgid "", left out)."""
    entries: list[Entry] = []
    current = Entry()
    last: str | None = None
    started = False

    def close() -> None:
        nonlocal current, started, last
        if started and current.msgid:
            entries.append(current)
        current, started, last = Entry(), False, None

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            close()
            continue
        if line.startswith("#~"):
            current.obsolete = True
            line = line[2:].strip()
            if not line or line.startswith("#"):
                continue
        elif line.startswith("#,"):
            current.fuzzy = current.fuzzy or "fuzzy" in line
            continue
        elif line.startswith("#:"):
            current.references.extend(line[2:].split())
            continue
        elif line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match:
            if match.group(1) in ("msgctxt", "msgid") and started and last and last.startswith("msgstr"):
                close()
            last = match.group(1)
            started = True
            _append(current, last, json.loads(match.group(2)), new=True)
        elif line.startswith('"') and last:
            _append(current, last, json.loads(line), new=False)
    close()
    return entries


def _append(entry: Entry, key: str, value: str, *, new: bool) -> None:
    if key == "msgid":
        entry.msgid += value
    elif key == "msgctxt":
        entry.msgctxt = (entry.msgctxt or "") + value
    elif key == "msgid_plural":
        entry.plural = (entry.plural or "") + value
    elif new:
        entry.msgstr.append(value)
    else:
        entry.msgstr[-1] += value


def languages() -> list[str]:
    """The shipped languages: every directory of locale/ except the source language."""
    return sorted(p.name for p in LOCALE.iterdir() if p.is_dir() and p.name != "en")


def extract(out: Path) -> dict[str, list[Entry]]:
    """Every msgid of the code and templates, per domain, as makemessages finds them (into `out`, not locale/)."""
    script = (
        "import django, sys\n"
        "from django.conf import settings\n"
        "from django.core.management import call_command\n"
        "django.setup()\n"
        "settings.LOCALE_PATHS = [sys.argv[1]]\n"
        "for domain in ('django', 'djangojs'):\n"
        "    call_command('makemessages', locale=['en'], domain=domain, ignore_patterns=sys.argv[2:],\n"
        "                 no_obsolete=True, verbosity=0)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "PYTHONPATH": str(ROOT)}
    # "locale" too: makemessages would otherwise file every source under the locale/ it walks past.
    ignore = [*IGNORE, "locale"]
    subprocess.run([sys.executable, "-c", script, str(out), *ignore], cwd=ROOT, env=env, check=True)  # noqa: S603
    found: dict[str, list[Entry]] = {}
    for domain in DOMAINS:
        po = out / "en" / "LC_MESSAGES" / f"{domain}.po"
        found[domain] = parse_po(po.read_text(encoding="utf-8")) if po.exists() else []
    return found


def check_catalogue(lang: str, domain: str, wanted: list[Entry]) -> list[str]:
    """The problems of one shipped catalogue, one line each."""
    po = LOCALE / lang / "LC_MESSAGES" / f"{domain}.po"
    if not po.exists():
        return [f"{po.relative_to(ROOT)} is missing ({len(wanted)} msgids to translate)"]
    shipped = parse_po(po.read_text(encoding="utf-8"))
    live = {e.key: e for e in shipped if not e.obsolete}
    problems: list[str] = []
    for entry in wanted:
        if entry.key not in live:
            where = entry.references[0] if entry.references else "?"
            problems.append(f"{lang}/{domain}: missing msgid {json.dumps(entry.msgid, ensure_ascii=False)} ({where})")
    wanted_keys = {e.key for e in wanted}
    for entry in shipped:
        text = json.dumps(entry.msgid, ensure_ascii=False)
        if entry.obsolete or entry.key not in wanted_keys:
            problems.append(f"{lang}/{domain}: obsolete msgid {text} (no longer in the code; run make messages)")
        elif entry.fuzzy:
            problems.append(f"{lang}/{domain}: fuzzy entry {text}")
        elif not entry.msgstr or any(not s for s in entry.msgstr):
            problems.append(f"{lang}/{domain}: empty translation of {text}")
    problems.extend(_check_compiled(po))
    return problems


def _check_compiled(po: Path) -> list[str]:
    mo = po.with_suffix(".mo")
    if not mo.exists():
        return [f"{mo.relative_to(ROOT)} is missing: run make messages"]
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "fresh.mo"
        subprocess.run(["msgfmt", "--check", "-o", str(fresh), str(po)], check=True)  # noqa: S603, S607
        if fresh.read_bytes() != mo.read_bytes():
            return [f"{mo.relative_to(ROOT)} is not the compilation of its .po: run make messages"]
    return []


def update() -> int:
    """`make messages`: bring every shipped catalogue up to date with the code, then compile it."""
    langs = [arg for lang in languages() for arg in ("-l", lang)]
    ignore = [arg for pattern in IGNORE for arg in ("-i", pattern)]
    for domain in DOMAINS:
        command = ["makemessages", "-d", domain, *langs, *ignore, "--no-location", "--no-obsolete"]
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, check=True)  # noqa: S603
    for po in sorted(LOCALE.glob("*/LC_MESSAGES/*.po")):
        subprocess.run(["msgfmt", "--check", "-o", str(po.with_suffix(".mo")), str(po)], check=True)  # noqa: S603, S607
    return 0


def main() -> int:
    if sys.argv[1:] == ["--update"]:
        return update()
    # Inside the repository: makemessages files each source under the first locale path whose parent holds it.
    with tempfile.TemporaryDirectory(dir=ROOT, prefix=".messages-") as tmp:
        wanted = extract(Path(tmp))
    problems = [p for lang in languages() for domain in DOMAINS for p in check_catalogue(lang, domain, wanted[domain])]
    for problem in problems:
        print(problem)
    if problems:
        print(f"\n{len(problems)} translation problem(s). `make messages`, translate, commit (docs/i18n.md).")
        return 1
    counts = ", ".join(f"{domain} {len(entries)}" for domain, entries in wanted.items())
    print(f"translations complete: {', '.join(languages())} ({counts} msgids)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
