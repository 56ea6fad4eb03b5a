"""Keys carry the workspace, are generated, and are checked by the storage classes themselves: traversal, absolute
paths and keys outside a workspace prefix never reach the disk or the bucket, whichever backend."""

from __future__ import annotations

import re

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from shared_apps.storage.backends import files
from shared_apps.storage.keys import (
    KeyRefused,
    key_check,
    key_in_workspace,
    key_new,
    prefix_check,
    thumbnail_key_for,
)

HOSTILE = [
    "t_aaaaaaaaaa/../t_bbbbbbbbbb/files/x.png",  # normalises to another workspace's key
    "t_aaaaaaaaaa/files/../../etc/passwd",
    "/t_aaaaaaaaaa/files/x.png",
    "/etc/passwd",
    "t_aaaaaaaaaa\\files\\x.png",
    "t_aaaaaaaaaa/files/x.png\x00.txt",
    "t_aaaaaaaaaa//files/x.png",
    "t_aaaaaaaaaa/./files/x.png",
    "t_aaaaaaaaaa/files/.hidden",
    "files/x.png",  # no workspace prefix
    "public/files/x.png",  # the platform's schema
    "pg_catalog/x",
    "T_AAAAAAAAAA/files/x.png",
    "t_aaaaaaaaaa",  # a prefix is not a file
    "t_aaaaaaaaaa/files/" + "a" * 300,
    "t_aaaaaaaaaa/files/x y.png",
    "t_aaaaaaaaaa/files/x.png?",
]


@pytest.mark.parametrize("key", HOSTILE)
def test_hostile_keys_are_refused(key: str) -> None:
    with pytest.raises(KeyRefused):
        key_check(key)


def test_keys_are_generated_under_the_prefix_with_a_clean_extension() -> None:
    key = key_new("t_aaaaaaaaaa", ".PNG")

    assert re.fullmatch(r"t_aaaaaaaaaa/files/[0-9a-f]{32}\.png", key)
    assert key_new("t_aaaaaaaaaa", "png") != key
    assert thumbnail_key_for(key) == key.removesuffix(".png") + ".thumb.webp"
    for bad in ("p/ng", "", "a" * 11, "ph p", "../x"):
        with pytest.raises(KeyRefused):
            key_new("t_aaaaaaaaaa", bad)
    for bad in ("public", "", "Acme", "a/b", "t-a"):
        with pytest.raises(KeyRefused):
            prefix_check(bad)


def test_a_key_bound_to_a_prefix_refuses_another_workspaces_key() -> None:
    assert key_check("t_aaaaaaaaaa/files/x.png", prefix="t_aaaaaaaaaa")
    with pytest.raises(KeyRefused, match="another workspace"):
        key_check("t_bbbbbbbbbb/files/x.png", prefix="t_aaaaaaaaaa")
    with pytest.raises(KeyRefused, match="another workspace"):
        key_check("t_aaaaaaaaaab/files/x.png", prefix="t_aaaaaaaaaa")


@pytest.mark.parametrize("key", [*HOSTILE, "t_bbbbbbbbbb/files/x.png", "t_aaaaaaaaaab/files/x.png"])
def test_a_stored_key_is_used_only_under_the_workspace_being_served(key: str) -> None:
    """The one check before a key read from a row is signed, served, read, deleted, counted or imported."""
    assert key_in_workspace("t_aaaaaaaaaa/files/x.png", workspace="t_aaaaaaaaaa") == "t_aaaaaaaaaa/files/x.png"
    with pytest.raises(KeyRefused):
        key_in_workspace(key, workspace="t_aaaaaaaaaa")
    for workspace in ("", "public", "t_aaaaaaaaaa/files"):  # nothing is "the workspace" but a workspace prefix
        with pytest.raises(KeyRefused):
            key_in_workspace("t_aaaaaaaaaa/files/x.png", workspace=workspace)


@pytest.mark.parametrize("key", HOSTILE[:6])
def test_the_storage_classes_refuse_hostile_keys_in_every_operation(backend: str, key: str) -> None:
    storage = files()
    for call in (
        lambda: default_storage.save(key, ContentFile(b"x")),
        lambda: default_storage.open(key),
        lambda: default_storage.exists(key),
        lambda: default_storage.delete(key),
        lambda: default_storage.size(key),
        lambda: default_storage.url(key),
        lambda: storage.sign_download(key, filename="x", content_type="", inline=False),
        lambda: storage.sign_upload(key, max_bytes=10),
        lambda: storage.head(key),
        lambda: storage.read_range(key, 0, 10),
        lambda: storage.delete_many([key]),
    ):
        with pytest.raises((KeyRefused, Exception)) as caught:
            call()
        assert isinstance(caught.value, KeyRefused) or "Detected path traversal" in str(caught.value), caught.value


def test_listings_stay_inside_a_prefix(backend: str) -> None:
    with pytest.raises(KeyRefused):
        default_storage.listdir("")
    with pytest.raises(KeyRefused):
        list(files().iter_prefix("../t_aaaaaaaaaa"))
