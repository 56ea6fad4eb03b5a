"""Cursor pagination for every list: stable under inserts, no COUNT query, one query per page. A cursor is opaque;
one that was tampered with is "not found" like any unknown page, never a server error."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import QuerySet
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor as DRFCursor
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request

POSITION_MAX_LENGTH = 300


class Cursor(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("id",)
    invalid_cursor_message = "That cursor is not one this list gave out."

    def decode_cursor(self, request: Request) -> DRFCursor | None:
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            position = str(cursor.position)
            if "\x00" in position or len(position) > POSITION_MAX_LENGTH:
                raise NotFound(self.invalid_cursor_message)
        return cursor

    def paginate_queryset(self, queryset: QuerySet[Any], request: Request, view: Any = None) -> list[Any] | None:
        cursor = self.decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            field = self.get_ordering(request, queryset, view)[0].lstrip("-")
            _check_position(queryset, field, str(cursor.position), self.invalid_cursor_message)
        return super().paginate_queryset(queryset, request, view)


def _check_position(queryset: QuerySet[Any], name: str, position: str, message: str) -> None:
    """A cursor's position must be a value of the ordering field's type (else the database would be asked to compare
    a date with "banana")."""
    annotation = queryset.query.annotations.get(name)
    try:
        field = annotation.output_field if annotation is not None else queryset.model._meta.get_field(name)
        field.get_prep_value(field.to_python(position))
    except (FieldDoesNotExist, ValidationError, ValueError, TypeError, OverflowError) as exc:
        raise NotFound(message) from exc
    if (
        getattr(field, "get_internal_type", lambda: "")()
        in {
            "IntegerField",
            "BigIntegerField",
            "BigAutoField",
            "AutoField",
        }
        and not -(2**63) <= int(position) < 2**63
    ):
        raise NotFound(message)
