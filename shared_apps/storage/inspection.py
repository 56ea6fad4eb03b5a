"""What an upload really is: decided by its bytes, against an allow-list, before it becomes a document.

The declared name and the browser's Content-Type are never trusted. The bytes are sniffed (`filetype`, plus a strict
UTF-8 check for text); the name's extension must agree with what was found; images are opened by Pillow for their
one expected format under MAX_IMAGE_PIXELS (decompression bombs refused) and verified; polyglots are refused: markup
in the first kilobyte of a binary file (what a browser's sniffer reads), an archive hidden at the end of a file that
is not one (GIFAR and friends), bytes after an image's end. SVG and HTML are not on the list at all: they carry
scripts. The same checks run on a form upload before anything is stored and on a direct upload at confirmation.
"""

from __future__ import annotations

import codecs
import contextlib
import re
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Protocol

import filetype
from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image, UnidentifiedImageError

from shared_apps.core.errors import ApplicationError
from shared_apps.core.l10n import number_text, size_text
from shared_apps.core.text import has_control_characters
from shared_apps.storage.backends import TenantStorage

HEAD_BYTES = 8192
TAIL_BYTES = 65536 + 22  # a ZIP's end-of-central-directory record sits in the last 64 KiB + 22 bytes
SNIFF_WINDOW = 1024  # what browsers read to guess a type
NAME_MAX_LENGTH = 200
_MARKUP = (b"<html", b"<script", b"<svg", b"<!doctype", b"<iframe", b"<body", b"<head", b"<object", b"<embed")
_ZIP_END = b"PK\x05\x06"
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class UploadRefused(ApplicationError):
    """The file is not stored (or is deleted at confirmation); the message says why, in words."""


@dataclass(frozen=True)
class FileType:
    code: str
    label: str | Promise  # what it is called, in the reader's language: "PDF document"
    content_type: str
    extensions: tuple[str, ...]  # the first is the one keys and downloads use
    inline: bool = False  # shown in the browser when opened; everything else downloads as an attachment
    image_format: str | None = None  # Pillow's name, for images

    @property
    def extension(self) -> str:
        return self.extensions[0]

    @property
    def is_image(self) -> bool:
        return self.image_format is not None


_TEXT_EXTENSIONS = ("txt", "md", "markdown", "log", "csv")
ALLOWED: dict[str, FileType] = {
    t.code: t
    for t in (
        FileType("png", gettext_lazy("PNG image"), "image/png", ("png",), inline=True, image_format="PNG"),
        FileType(
            "jpg", gettext_lazy("JPEG image"), "image/jpeg", ("jpg", "jpeg", "jpe"), inline=True, image_format="JPEG"
        ),
        FileType("gif", gettext_lazy("GIF image"), "image/gif", ("gif",), inline=True, image_format="GIF"),
        FileType("webp", gettext_lazy("WebP image"), "image/webp", ("webp",), inline=True, image_format="WEBP"),
        FileType("pdf", gettext_lazy("PDF document"), "application/pdf", ("pdf",), inline=True),
        FileType("txt", gettext_lazy("text file"), "text/plain; charset=utf-8", ("txt", "md", "markdown", "log")),
        FileType("csv", gettext_lazy("CSV file"), "text/csv; charset=utf-8", ("csv",)),
        FileType(
            "docx",
            gettext_lazy("Word document"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ("docx",),
        ),
        FileType(
            "xlsx",
            gettext_lazy("Excel workbook"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ("xlsx",),
        ),
        FileType(
            "pptx",
            gettext_lazy("PowerPoint presentation"),
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            ("pptx",),
        ),
        FileType("zip", gettext_lazy("ZIP archive"), "application/zip", ("zip",)),
    )
}
_SNIFFED_ALIASES = {"apng": "png"}  # an animated PNG is a PNG
_NAMED = {
    "svg": gettext_lazy("SVG images"),
    "html": gettext_lazy("HTML pages"),
    "htm": gettext_lazy("HTML pages"),
    "xhtml": gettext_lazy("HTML pages"),
    "xml": gettext_lazy("XML files"),
    "js": gettext_lazy("scripts"),
    "exe": gettext_lazy("programs"),
}


def allowed_summary() -> str:
    return _("images (PNG, JPEG, GIF, WebP), PDF, text and CSV, Word, Excel, PowerPoint and ZIP files")


def accept_attribute() -> str:
    """The `accept=` of a file input: a hint for the browser's picker (the bytes decide)."""
    return ",".join(f".{ext}" for t in ALLOWED.values() for ext in t.extensions)


@dataclass(frozen=True)
class Inspected:
    type: FileType
    size: int
    name: str  # the display name, cleaned, with an extension that matches the type
    width: int | None = None
    height: int | None = None


class Source(Protocol):
    """The bytes of an upload, wherever they are."""

    size: int

    def head(self, length: int) -> bytes: ...

    def tail(self, length: int) -> bytes: ...

    def whole(self) -> contextlib.AbstractContextManager[IO[bytes]]: ...


class LocalSource:
    """An upload the app received (a form upload: Django's in-memory or temporary file)."""

    def __init__(self, fileobj: IO[bytes], size: int) -> None:
        self.fileobj, self.size = fileobj, size

    def head(self, length: int) -> bytes:
        self.fileobj.seek(0)
        return self.fileobj.read(length)

    def tail(self, length: int) -> bytes:
        self.fileobj.seek(max(0, self.size - length))
        return self.fileobj.read(length)

    @contextlib.contextmanager
    def whole(self) -> Iterator[IO[bytes]]:
        self.fileobj.seek(0)
        yield self.fileobj


class StoredSource:
    """An object already in storage (a direct upload being confirmed): ranged reads, the whole only for images."""

    def __init__(self, storage: TenantStorage, key: str, size: int) -> None:
        self.storage, self.key, self.size = storage, key, size
        self._head: bytes | None = None

    def head(self, length: int) -> bytes:
        if self._head is None or len(self._head) < min(length, self.size):
            self._head = self.storage.read_range(self.key, 0, max(length, HEAD_BYTES))
        return self._head[:length]

    def tail(self, length: int) -> bytes:
        if self.size <= HEAD_BYTES:
            return self.head(self.size)[-length:]
        start = max(0, self.size - length)
        return self.storage.read_range(self.key, start, self.size - start)

    @contextlib.contextmanager
    def whole(self) -> Iterator[IO[bytes]]:
        with (
            tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool,
            self.storage.open_stream(self.key) as stream,
        ):
            while chunk := stream.read(1024 * 1024):
                spool.write(chunk)
            spool.seek(0)
            yield spool


def clean_name(name: str) -> str:
    """The name a person gave the file, safe to show and to put in a Content-Disposition: no folders, no control
    characters, at most 200 characters (its extension kept)."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if not has_control_characters(ch)).strip().strip(".")
    if len(name) > NAME_MAX_LENGTH:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: NAME_MAX_LENGTH - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:200]
    return name or "file"


def _extension_of(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def _sniff(head: bytes, *, complete: bool, declared_ext: str) -> FileType:
    kind = filetype.guess(head) if head else None
    if kind is not None:
        code = _SNIFFED_ALIASES.get(kind.extension, kind.extension)
        if code in ALLOWED:
            return ALLOWED[code]
        raise UploadRefused(
            _("%(upper)s files can't be uploaded here. You can upload %(allowed_summary)s.")
            % {"upper": kind.extension.upper(), "allowed_summary": allowed_summary()}
        )
    text = _as_text(head, complete=complete)
    if text is None:
        raise UploadRefused(
            _(
                "Atrium can't tell what kind of file this is, so it can't be uploaded. You can upload "
                "%(allowed_summary)s."
            )
            % {"allowed_summary": allowed_summary()}
        )
    start = text.lstrip("\ufeff \t\r\n").lower()
    if start.startswith(("<?xml", "<svg", "<!doctype", "<html")) or any(
        m.decode() in start[:SNIFF_WINDOW] for m in _MARKUP
    ):
        raise UploadRefused(
            _("SVG, HTML and XML files can't be uploaded: they can carry scripts. Upload a PDF or an image.")
        )
    return ALLOWED["csv"] if declared_ext == "csv" else ALLOWED["txt"]


def _as_text(head: bytes, *, complete: bool) -> str | None:
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeDecodeError:
        return None
    if _TEXT_CONTROL.search(text):
        return None
    return text


_OFFICE_PARTS = {"docx": b"word/document.xml", "xlsx": b"xl/workbook.xml", "pptx": b"ppt/presentation.xml"}


def _office_by_directory(found: FileType, declared_ext: str, tail: bytes) -> FileType:
    """An Office file whose first entries the sniffer could not place (a large first part) is a ZIP to it; the
    archive's central directory, at its end, names the main part for certain."""
    part = _OFFICE_PARTS.get(declared_ext)
    if found.code == "zip" and part is not None and _ZIP_END in tail and part in tail:
        return ALLOWED[declared_ext]
    return found


def _check_extension(found: FileType, declared_ext: str, name: str) -> None:
    if not declared_ext or declared_ext in found.extensions:
        return
    if found.code in ("txt", "csv") and declared_ext in _TEXT_EXTENSIONS:
        return
    named = _NAMED.get(declared_ext)
    if named:
        shown = str(named)
        raise UploadRefused(_("%(value)s can't be uploaded here.") % {"value": shown[0].upper() + shown[1:]})
    claimed = next((t for t in ALLOWED.values() if declared_ext in t.extensions), None)
    what = (
        _("a %(label)s") % {"label": claimed.label}
        if claimed
        else _("a .%(extension)s file") % {"extension": declared_ext}
    )
    raise UploadRefused(
        _(
            "“%(name)s” is named as %(what)s but its contents are a %(label)s. Rename it to .%(extension)s or upload "
            "the right file."
        )
        % {"name": name, "what": what, "label": found.label, "extension": found.extension}
    )


def _check_polyglot(found: FileType, head: bytes, tail: bytes) -> None:
    if found.code not in ("txt", "csv"):
        window = head[:SNIFF_WINDOW].lower()
        if any(marker in window for marker in _MARKUP):
            raise UploadRefused(
                _("This %(label)s also contains web-page markup at its start (a disguised file), so it was refused.")
                % {"label": found.label}
            )
    if found.code not in ("zip", "docx", "xlsx", "pptx") and _ZIP_END in tail:
        raise UploadRefused(
            _("This %(label)s has an archive hidden at its end (a disguised file), so it was refused.")
            % {"label": found.label}
        )


def _image_end_ok(found: FileType, tail: bytes, size: int) -> bool:
    if found.code == "png":
        end = tail.rfind(b"IEND")
        return end != -1 and len(tail) - (end + 8) == 0
    if found.code == "jpg":
        return tail.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9")
    if found.code == "gif":
        return tail.rstrip(b"\x00").endswith(b"\x3b")
    if found.code == "webp":
        head = tail if size == len(tail) else b""
        if head[:4] == b"RIFF":
            return int.from_bytes(head[4:8], "little") + 8 == size
        return True  # checked on the head by the caller
    return True


def _check_image(found: FileType, source: Source, tail: bytes) -> tuple[int, int]:
    limit = int(settings.STORAGE_IMAGE_MAX_PIXELS)
    assert found.image_format is not None  # noqa: S101
    if found.code == "webp":
        head = source.head(12)
        if int.from_bytes(head[4:8], "little") + 8 != source.size:
            raise UploadRefused(
                _("This WebP image has extra bytes after its end (a disguised file), so it was refused.")
            )
    elif not _image_end_ok(found, tail, source.size):
        raise UploadRefused(
            _("This %(label)s has extra bytes after its end (a disguised file, or a damaged one), so it was refused.")
            % {"label": found.label}
        )
    try:
        with source.whole() as fh, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(fh, formats=[found.image_format]) as image:
                width, height = image.size
                if width * height > limit:
                    raise UploadRefused(_too_many_pixels(width, height, limit))
                image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UploadRefused(
            _("This image is too large to open safely (more than %(limit)s pixels).") % {"limit": number_text(limit)}
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UploadRefused(
            _("This %(label)s is damaged or is not really a %(label)s.") % {"label": found.label}
        ) from exc
    if width <= 0 or height <= 0:
        raise UploadRefused(_("This %(label)s has no pixels.") % {"label": found.label})
    return width, height


def _too_many_pixels(width: int, height: int, limit: int) -> str:
    return _("This image is %(width)s by %(height)s pixels; images can have at most %(limit)s pixels.") % {
        "width": number_text(width),
        "height": number_text(height),
        "limit": number_text(limit),
    }


def inspect_upload(source: Source, *, declared_name: str, max_bytes: int) -> Inspected:
    """The file's type, size and display name, or UploadRefused saying why in words."""
    name = clean_name(declared_name)
    if source.size <= 0:
        raise UploadRefused(_("This file is empty."))
    if source.size > max_bytes:
        raise UploadRefused(
            _("This file is %(human_size)s; files can be at most %(human_size2)s.")
            % {"human_size": size_text(source.size), "human_size2": size_text(max_bytes)}
        )
    declared_ext = _extension_of(name)
    complete = source.size <= HEAD_BYTES
    head = source.head(HEAD_BYTES)
    found = _sniff(head, complete=complete, declared_ext=declared_ext)
    tail = head if complete else source.tail(TAIL_BYTES)
    found = _office_by_directory(found, declared_ext, tail)
    _check_extension(found, declared_ext, name)
    _check_polyglot(found, head, tail)
    width = height = None
    if found.is_image:
        width, height = _check_image(found, source, tail)
    if not declared_ext:
        name = f"{name}.{found.extension}"
    return Inspected(type=found, size=source.size, name=name, width=width, height=height)
