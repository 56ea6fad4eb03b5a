"""Filtering (django-filter), search and ordering for the lists. Every value is bounded and checked here, so a
hostile query string is a 400 or an empty list, never a database error."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.request import Request

from shared_apps.accounts.models import Membership, Role
from shared_apps.core.text import without_nul
from tenant_apps.projects.models import Document, Project, Task, TaskStatus, Visibility
from tenant_apps.projects.selectors import MAX_ID, ProjectShow

SEARCH_MAX_LENGTH = 100


class Filters(DjangoFilterBackend):
    """django-filter's backend, skipped when the query string names none of the view's filters (a form built and
    validated for nothing costs more than the rest of a small page) — unless the filter set applies a default."""

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None:
            return queryset
        named = set(request.query_params) & set(filterset_class.base_filters)
        if not named and not getattr(filterset_class, "applies_defaults", False):
            return queryset
        return super().filter_queryset(request, queryset, view)


class Search(SearchFilter):
    """DRF's search over the view's `search_fields`, without NUL characters and at most 100 characters."""

    def get_search_terms(self, request: Request) -> list[str]:
        raw = request.query_params.get(self.search_param, "")
        params = without_nul(raw)[:SEARCH_MAX_LENGTH].replace(",", " ")
        return [term for term in params.split() if term][:5]


class Ordering(OrderingFilter):
    """DRF's ordering over the view's `ordering_fields` (anything else is ignored), id last for a stable order."""

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        ordering = super().get_ordering(request, queryset, view)
        if ordering and not any(f.lstrip("-") in {"id", "pk"} for f in ordering):
            ordering = [*ordering, "id"]
        return ordering


class IdField(forms.IntegerField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)


class IdFilter(django_filters.NumberFilter):
    field_class = IdField


class ProjectFilter(django_filters.FilterSet):
    applies_defaults = True  # `show` is "active" unless asked otherwise
    show = django_filters.ChoiceFilter(
        choices=[(s.value, s.value) for s in ProjectShow], method="filter_show", help_text=_("Default: active.")
    )
    visibility = django_filters.ChoiceFilter(choices=Visibility.choices)

    class Meta:
        model = Project
        fields = ("show", "visibility")

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        if data is not None and not data.get("show"):
            data = data.copy()
            data["show"] = ProjectShow.ACTIVE.value
        super().__init__(data, *args, **kwargs)

    def filter_show(self, queryset: QuerySet[Project], name: str, value: str) -> QuerySet[Project]:
        if value == ProjectShow.ACTIVE:
            return queryset.filter(archived_at__isnull=True)
        if value == ProjectShow.ARCHIVED:
            return queryset.filter(archived_at__isnull=False)
        return queryset


class TaskFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=TaskStatus.choices)
    assignee = IdFilter(field_name="assignee_id", help_text=_("A member's user id."))
    unassigned = django_filters.BooleanFilter(field_name="assignee", lookup_expr="isnull")
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lte")
    due_after = django_filters.DateFilter(field_name="due_date", lookup_expr="gte")
    label = IdFilter(field_name="labels", help_text="A label's id: only tasks carrying it.")

    class Meta:
        model = Task
        fields = ("status", "assignee", "unassigned", "due_before", "due_after", "label")


class DocumentFilter(django_filters.FilterSet):
    task = IdFilter(field_name="task_id", help_text=_("Only this task's attachments."))
    file_type = django_filters.CharFilter(max_length=16, help_text=_("png, jpg, pdf, docx, … (the detected type)."))

    class Meta:
        model = Document
        fields = ("task", "file_type")


class MemberFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ("role",)
