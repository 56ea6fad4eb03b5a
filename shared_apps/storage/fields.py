"""Model fields for columns that name storage: a workspace's prefix, or a key under it.

They are CharFields in the database and in migrations (`deconstruct` says so); the class is how the rest of the
platform finds every such column from the models alone — an import moves them to the new workspace's prefix and
refuses any value outside it — so a new column that names a file is covered the day it is added.
"""

from __future__ import annotations

from typing import Any

from django.db import models


class StorageKeyField(models.CharField):
    """A storage key under the workspace's own prefix (`<prefix>/files/…`); blank when the field allows it."""

    def deconstruct(self) -> Any:
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.CharField", args, kwargs


class StoragePrefixField(StorageKeyField):
    """The workspace's storage prefix itself (its schema name), as it was when the file was saved."""
