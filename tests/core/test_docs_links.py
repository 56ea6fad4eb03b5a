"""The docs' link check (`make lint` runs it): relative links to files and headings must lead somewhere."""

from __future__ import annotations

from pathlib import Path

from devtools.check_links import anchor_of, broken_links


def test_the_repositorys_markdown_has_no_broken_link() -> None:
    assert broken_links() == []


def test_a_missing_file_and_a_missing_heading_are_reported(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A page\n\n## `make bench-x` — what it times\n")
    (tmp_path / "README.md").write_text(
        "[fine](docs/a.md#make-bench-x--what-it-times) [gone](docs/b.md) [no heading](docs/a.md#nope) "
        "[elsewhere](https://example.com/x) ![picture](static/none.png)\n\n```\n[in code](nowhere.md)\n```\n"
    )

    problems = broken_links(tmp_path)

    assert problems == [
        "README.md: (docs/b.md) → no such file",
        "README.md: (docs/a.md#nope) → no heading #nope in docs/a.md",
        "README.md: (static/none.png) → no such file",
    ]


def test_anchors_follow_githubs_rule() -> None:
    assert anchor_of("`make bench-pooler` — transaction pooling, against direct!") == (
        "make-bench-pooler--transaction-pooling-against-direct"
    )
    assert anchor_of("Tenancy: routing") == "tenancy-routing"
