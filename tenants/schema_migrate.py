"""Placeholder: replaced by the bulk executor."""

from __future__ import annotations

from typing import Any

from django_tenants.migration_executors import get_executor as _dt_get_executor


def get_executor(codename: str | None = None) -> Any:
    return _dt_get_executor(codename)
