"""What an upload is, decided by its bytes: allowed types pass with their name; bombs, polyglots, SVG/HTML with
scripts, wrong extensions, empty and oversized files are refused with a sentence that says why."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import Any

import pytest

from shared_apps.storage.inspection import Inspected, LocalSource, UploadRefused, clean_name, inspect_upload
from tests import storage_fixtures as make

LIMIT = 5 * 1024 * 1024


def inspect(data: bytes, name: str, limit: int = LIMIT) -> Inspected:
    return inspect_upload(LocalSource(io.BytesIO(data), len(data)), declared_name=name, max_bytes=limit)


@pytest.mark.parametrize(
    ("builder", "name", "code", "content_type"),
    [
        (make.png, "photo.png", "png", "image/png"),
        (make.jpeg, "photo.JPEG", "jpg", "image/jpeg"),
        (make.gif, "anim.gif", "gif", "image/gif"),
        (make.webp, "pic.webp", "webp", "image/webp"),
        (make.pdf, "Plan.pdf", "pdf", "application/pdf"),
        (lambda: "Grüße, notes\n".encode(), "notes.txt", "txt", "text/plain; charset=utf-8"),
        (lambda: b"a,b\n1,2\n", "table.csv", "csv", "text/csv; charset=utf-8"),
        (make.docx, "brief.docx", "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (make.zip_archive, "bundle.zip", "zip", "application/zip"),
    ],
)
def test_allowed_types_pass(builder: Callable[[], bytes], name: str, code: str, content_type: str) -> None:
    found = inspect(builder(), name)

    assert (found.type.code, found.type.content_type, found.name) == (code, content_type, name)


def test_images_report_their_size_and_a_name_without_extension_gets_one() -> None:
    found = inspect(make.png(120, 80), "screenshot")

    assert (found.width, found.height, found.name) == (120, 80, "screenshot.png")


def test_a_decompression_bomb_is_refused_before_it_is_decoded() -> None:
    bomb = make.png_bomb()
    assert len(bomb) < 10_000

    with pytest.raises(UploadRefused, match="pixels"):
        inspect(bomb, "bomb.png")


def test_an_image_past_the_pixel_limit_is_refused(settings: Any) -> None:
    settings.STORAGE_IMAGE_MAX_PIXELS = 100 * 100

    with pytest.raises(UploadRefused, match="at most 10,000 pixels"):
        inspect(make.png(101, 100), "big.png")


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (make.gif() + make.zip_archive(), "gifar.gif", "archive hidden at its end"),
        (make.png() + b"appended payload", "tail.png", "extra bytes after its end"),
        (make.jpeg()[:2] + b"\xff\xfe\x00\x1c<html><script>alert(1)</script>" + make.jpeg()[2:], "x.jpg", "markup"),
        (make.pdf()[:9] + b"<html><script>alert(1)</script></html>\n" + make.pdf()[9:], "x.pdf", "markup"),
        (make.pdf() + make.zip_archive(), "x.pdf", "archive hidden"),
    ],
)
def test_polyglots_are_refused(data: bytes, name: str, message: str) -> None:
    with pytest.raises(UploadRefused, match=message):
        inspect(data, name)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>', "logo.svg"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "logo.txt"),
        (b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "page.html"),
        (b"  <html><script>fetch('/settings/')</script>", "notes.txt"),
    ],
)
def test_svg_and_html_are_refused(data: bytes, name: str) -> None:
    with pytest.raises(UploadRefused, match=r"SVG, HTML and XML|HTML pages|SVG images"):
        inspect(data, name)


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (make.pdf(), "photo.png", "named as a PNG image but its contents are a PDF document"),
        (make.png(), "report.pdf", "named as a PDF document but its contents are a PNG image"),
        (b"plain words", "report.pdf", "named as a PDF document but its contents are a text file"),
        (make.zip_archive(), "brief.docx", "named as a Word document but its contents are a ZIP archive"),
        (make.png(), "logo.svg", "SVG images can't be uploaded"),
    ],
)
def test_a_name_that_lies_about_the_contents_is_refused(data: bytes, name: str, message: str) -> None:
    with pytest.raises(UploadRefused, match=message):
        inspect(data, name)


def test_unknown_binary_empty_and_oversized_files_are_refused() -> None:
    with pytest.raises(UploadRefused, match="can't tell what kind of file"):
        inspect(bytes(range(256)) * 4, "blob.bin")
    with pytest.raises(UploadRefused, match="EXE files can't be uploaded"):
        inspect(b"MZ" + b"\x90" * 200, "setup.exe")
    with pytest.raises(UploadRefused, match="empty"):
        inspect(b"", "empty.txt")
    with pytest.raises(UploadRefused, match=r"at most 1 KB"):
        inspect(b"x" * 2048, "big.txt", limit=1024)
    with pytest.raises(UploadRefused, match="damaged"):
        inspect(make.png()[:40] + make.png()[-12:], "cut.png")


def test_names_are_cleaned_for_display_and_headers() -> None:
    assert clean_name("../../etc/passwd") == "passwd"
    assert clean_name("C:\\Users\\me\\plan.pdf") == "plan.pdf"
    assert clean_name("bad\x00name\r\n.txt") == "badname.txt"
    assert clean_name("") == "file"
    long = clean_name("a" * 500 + ".pdf")
    assert len(long) == 200
    assert long.endswith(".pdf")


def test_an_office_file_with_a_large_first_part_is_recognised_by_its_directory() -> None:

    noise = os.urandom(20_000)  # stored, not compressed: the sniffer's window ends before the next entry
    data = make.zip_archive({"[Content_Types].xml": noise, "_rels/.rels": b"<r/>", "xl/workbook.xml": b"<w/>"})

    assert inspect(data, "budget.xlsx").type.code == "xlsx"
    assert inspect(data, "budget.zip").type.code == "zip"
    with pytest.raises(UploadRefused, match="named as a Word document"):
        inspect(data, "budget.docx")
