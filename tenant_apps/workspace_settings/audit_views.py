"""The audit log page and its CSV export (owners and admins). Thin: the selector filters, the template renders."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.http import require_GET
from django_tenants.utils import schema_context

from shared_apps.accounts.decorators import action_required
from shared_apps.accounts.http import MemberRequest
from shared_apps.accounts.permissions import Action, allowed_actions
from tenant_apps.audit.actions import AuditAction, action_label
from tenant_apps.audit.forms import AuditFilterForm
from tenant_apps.audit.selectors import audit_entry_list
from tenant_apps.audit.services import audit_record

ENTRIES_PER_PAGE = 50
CSV_COLUMNS = ["time", "action", "description", "actor", "target_type", "target", "ip_address", "user_agent", "details"]


@action_required(Action.AUDIT_VIEW)
@require_GET
def audit_log(request: MemberRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    return _audit_page(request, form, status=200)


def _audit_page(request: MemberRequest, form: AuditFilterForm, *, status: int) -> HttpResponse:
    """The log filtered by the valid fields of `form` (an invalid field is shown with its error and ignored)."""
    entries = audit_entry_list(**form.filters())
    page = Paginator(entries, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    rows = [{"entry": e, "label": action_label(e.action)} for e in page.object_list]
    context = {
        "section": "audit",
        "allowed": {str(a) for a in allowed_actions(request.membership.role)},
        "form": form,
        "page": page,
        "rows": rows,
        "filtered": any(form.filters().values()),
        "export_query": request.GET.urlencode(),
    }
    return render(request, "tenant/settings/audit.html", context, status=status)


class _Echo:
    def write(self, value: str) -> str:
        return value


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SEPARATORS = re.compile(r"[;,\n]")


def _safe(value: Any) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection): one that starts like a formula, or holds a
    separator a spreadsheet in another locale would split on (`;=…`, `,+…`) followed by one, gets a leading quote."""
    text = "" if value is None else str(value)
    pieces = [text, *(piece.lstrip(" ") for piece in _SEPARATORS.split(text)[1:])]
    return "'" + text if any(piece[:1] in _FORMULA_START for piece in pieces) else text


@action_required(Action.AUDIT_EXPORT)
@require_GET
def audit_export(request: MemberRequest) -> HttpResponseBase:
    """The filtered log as CSV, streamed from a server-side cursor: memory stays flat whatever the log's size."""
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        # The page shows what is wrong; nothing is exported and nothing is recorded.
        return _audit_page(request, form, status=400)
    filters = form.filters()
    schema = request.route.schema_name
    exported = audit_record(
        tenant=request.route,
        action=AuditAction.AUDIT_EXPORTED,
        actor=request.user,
        metadata={k: str(v) for k, v in filters.items() if v},
    )
    writer = csv.writer(_Echo())
    # Times in the reader's zone, which the first header names ("time (Europe/Berlin)"); the rows are streamed after
    # the view returns, so the zone and language are taken now and applied while they are written.
    zone, language = timezone.get_current_timezone(), translation.get_language()
    header = [f"time ({timezone.get_current_timezone_name()})", *CSV_COLUMNS[1:]]

    def rows() -> Iterator[str]:
        yield writer.writerow(header)
        with schema_context(schema), translation.override(language):  # pin the schema for the cursor
            for e in audit_entry_list(**filters).exclude(pk=exported.pk).iterator(chunk_size=2000):
                yield writer.writerow(
                    [
                        _safe(timezone.localtime(e.created_at, zone).isoformat()),
                        _safe(e.action),
                        _safe(action_label(e.action)),
                        _safe(e.actor_label),
                        _safe(e.target_type),
                        _safe(e.target_label),
                        _safe(e.ip_address),
                        _safe(e.user_agent),
                        _safe(json.dumps(e.metadata, sort_keys=True) if e.metadata else ""),
                    ]
                )

    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
