"""`python -m devtools.check_links`: every relative link of the Markdown pages leads somewhere (run by `make lint`).

Checks README.md, docs/, infra/ and devtools/: a link to a file must name one that exists (relative to the page, as
GitHub resolves it), and a link to a heading (`page.md#anchor`, `#anchor`) must name a heading of that page, by
GitHub's anchor rule (lower case; punctuation other than `-` and `_` dropped; spaces become `-`). Links to other sites
are not fetched. Exits 1 naming each broken link, 0 otherwise. Standard library only.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("README.md", "docs/*.md", "infra/**/*.md", "devtools/**/*.md")
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def anchor_of(heading: str) -> str:
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"`|\*\*|__", "", heading).strip().lower()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link keeps its text
    text = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return text.replace(" ", "-")


def _outside_code(text: str) -> list[str]:
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(re.sub(r"`[^`]*`", "", line))
    return lines


def _heading_texts(page: Path) -> list[str]:
    """Headings with their code spans kept (anchors are made from the text inside backticks too)."""
    texts, fenced = [], False
    for line in page.read_text().splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else _HEADING.match(line)
        if match:
            texts.append(match.group(2))
    return texts


def page_anchors(page: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for text in _heading_texts(page):
        base = anchor_of(text)
        n = seen.get(base, 0)
        found.add(base if n == 0 else f"{base}-{n}")
        seen[base] = n + 1
    return found


def broken_links(root: Path = ROOT) -> list[str]:
    problems: list[str] = []
    pages = sorted({p for pattern in PAGES for p in root.glob(pattern) if p.is_file()})
    for page in pages:
        for line in _outside_code(page.read_text()):
            for target in _LINK.findall(line) + _IMAGE.findall(line):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: …
                    continue
                path_part, _, anchor = target.partition("#")
                destination = (page.parent / path_part).resolve() if path_part else page
                where = f"{page.relative_to(root)}: ({target})"
                if not destination.exists():
                    problems.append(f"{where} → no such file")
                elif anchor and destination.suffix == ".md" and anchor not in page_anchors(destination):
                    problems.append(f"{where} → no heading #{anchor} in {destination.relative_to(root)}")
    return problems


def main() -> int:
    problems = broken_links()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} broken link(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
