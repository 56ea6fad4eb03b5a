"""Admin building blocks shared by the apps' admin modules (nothing is registered here)."""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

_Child = TypeVar("_Child", bound=Model)
_Parent = TypeVar("_Parent", bound=Model)


class ReadOnlyTabularInline(admin.TabularInline[_Child, _Parent]):
    """Rows shown next to their parent and never changed there: their changes go through a service (with its rules
    and audit entry), never through a bare inline form. `fields` are all read-only."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [name for name in self.fields or () if isinstance(name, str)]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyModelAdmin(admin.ModelAdmin[Any]):
    """Records operators look up and never add, change or delete here (a log, or something only a service changes)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
