"""Object keys: where a workspace's files live, and the rules every key obeys.

A key is `<prefix>/<path>`: the prefix is the workspace's opaque schema name, taken when the file is saved and stored
in the row that points at it (never worked out again from the connection when the file is read). Keys Atrium makes
are `<prefix>/files/<uuid>.<extension>`, never the uploaded name. The storage classes check every key they are given
against `key_check`: no `..`, no absolute path, no backslash or control character, nothing outside a workspace prefix
(and, for a storage bound to one workspace, nothing outside that prefix). A key read from a row is used only after
`key_in_workspace` has checked it against the workspace being served.
"""

from __future__ import annotations

import re
import uuid

from django.utils.translation import gettext as _

from shared_apps.core.errors import ApplicationError

KEY_MAX_LENGTH = 255
# A workspace prefix is a workspace's opaque schema name (`t_` and lower-case letters and digits): never `public`,
# the template's schema or a folder anyone could name.
_PREFIX = re.compile(r"t_[a-z0-9]{1,61}")
# One path segment: letters, digits, dot, dash, underscore; never starting with a dot.
_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")
_EXTENSION = re.compile(r"[a-z0-9]{1,10}")
FILES_DIR = "files"
THUMBNAIL_SUFFIX = ".thumb.webp"


class KeyRefused(ApplicationError):
    """A key that breaks the rules: refused before any storage call."""


def prefix_check(prefix: str) -> str:
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        raise KeyRefused(_("%(prefix)s is not a workspace's storage prefix.") % {"prefix": f"{prefix!r}"})
    return prefix


def key_check(key: str, *, prefix: str | None = None, directory: bool = False) -> str:
    """`key` itself if it obeys the rules (under `prefix` when one is given); `directory=True` also accepts a bare
    prefix or a folder under it (for listings). Raises KeyRefused otherwise; nothing is normalised away."""
    if not isinstance(key, str):
        raise KeyRefused(_("A storage key is text."))
    if directory:
        key = key.removesuffix("/")
    if not key or len(key) > KEY_MAX_LENGTH:
        raise KeyRefused(_("A storage key is between 1 and 255 characters."))
    if key.startswith("/") or "\\" in key or "\x00" in key:
        raise KeyRefused(_("Absolute paths, backslashes and NUL are refused in storage keys."))
    segments = key.split("/")
    if any(s in ("", ".", "..") for s in segments) or ".." in key:
        raise KeyRefused(_("Storage keys have no empty, '.' or '..' segments."))
    head, rest = segments[0], segments[1:]
    prefix_check(head)
    if prefix is not None and head != prefix:
        raise KeyRefused(_("That key belongs to another workspace."))
    if not rest and not directory:
        raise KeyRefused(_("A storage key names a file under its workspace prefix."))
    for segment in rest:
        if not _SEGMENT.fullmatch(segment):
            raise KeyRefused(_("%(segment)s is not allowed in a storage key.") % {"segment": f"{segment!r}"})
    return key


def key_in_workspace(key: str, *, workspace: str) -> str:
    """The one check a stored key passes before it is used — signed, served, read for a thumbnail, deleted, counted
    or imported: `key` itself when it names a file under `workspace`'s own prefix, KeyRefused otherwise.
    `workspace` is the schema being served (the request's, the task's), never a value read from the row that holds
    the key: a row's `storage_prefix` came from the same place as its key and proves nothing."""
    return key_check(key, prefix=prefix_check(workspace))


def extension_clean(extension: str) -> str:
    """A lower-case extension of letters and digits (without the dot), or KeyRefused."""
    extension = extension.lower().lstrip(".")
    if not _EXTENSION.fullmatch(extension):
        raise KeyRefused(_("A file extension is 1 to 10 letters or digits."))
    return extension


def key_new(prefix: str, extension: str) -> str:
    """A fresh key for a new file of `prefix`: `<prefix>/files/<uuid>.<extension>`."""
    return f"{prefix_check(prefix)}/{FILES_DIR}/{uuid.uuid4().hex}.{extension_clean(extension)}"


def thumbnail_key_for(key: str) -> str:
    """The key of a file's thumbnail: next to it, under the same prefix."""
    key_check(key)
    stem = key.rsplit(".", 1)[0] if "." in key.rsplit("/", 1)[-1] else key
    return f"{stem}{THUMBNAIL_SUFFIX}"
