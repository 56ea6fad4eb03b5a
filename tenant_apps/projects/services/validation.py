"""Input cleaning and access shared by every write of the product."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from shared_apps.accounts.models import User
from shared_apps.core.errors import ApplicationError
from shared_apps.core.l10n import number_text
from shared_apps.core.text import has_control_characters, has_control_characters_in_text
from tenant_apps.projects.models import TEXT_MAX_LENGTH
from tenant_apps.projects.permissions import ProjectAccess, ProjectNotAllowed, Viewer, current_workspace_id

# Due dates a person can mean: far dates are typing mistakes (and year 10000 is no date at all).
DUE_DATE_MIN = dt.date(2000, 1, 1)
DUE_DATE_MAX = dt.date(2100, 12, 31)


class ProjectInvalid(ApplicationError):
    """Input a person can correct; `field` names the form field it belongs to ("" for the whole form)."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message, extra={"field": field})
        self.field = field


# --- validation shared by every write ----------------------------------------------------------------------------


def clean_line(value: str, *, label: str, max_length: int, field: str, required: bool = True) -> str:
    """A one-line name or title: trimmed, no control characters, within its length."""
    value = value.strip()
    if required and not value:
        raise ProjectInvalid(_("%(label)s can't be empty.") % {"label": label}, field=field)
    if has_control_characters(value):
        raise ProjectInvalid(
            _("%(label)s can't contain line breaks or control characters.") % {"label": label}, field=field
        )
    if len(value) > max_length:
        raise ProjectInvalid(
            _("%(label)s can be at most %(max_length)s characters (it has %(len)s).")
            % {"label": label, "max_length": max_length, "len": len(value)},
            field=field,
        )
    return value


def clean_text(value: str, *, label: str, field: str, required: bool = False) -> str:
    """Free text (a description, a comment): line breaks and tabs are fine, other control characters are not."""
    value = value.strip().replace("\r\n", "\n")
    if required and not value:
        raise ProjectInvalid(_("%(label)s can't be empty.") % {"label": label}, field=field)
    if has_control_characters_in_text(value):
        raise ProjectInvalid(_("%(label)s can't contain control characters.") % {"label": label}, field=field)
    if len(value) > TEXT_MAX_LENGTH:
        raise ProjectInvalid(
            _("%(label)s can be at most %(TEXT_MAX_LENGTH)s characters.")
            % {"label": label, "TEXT_MAX_LENGTH": number_text(TEXT_MAX_LENGTH)},
            field=field,
        )
    return value


def clean_due_date(value: dt.date | None) -> dt.date | None:
    if value is not None and not DUE_DATE_MIN <= value <= DUE_DATE_MAX:
        raise ProjectInvalid(
            _("Pick a due date between %(year)s and %(year2)s.")
            % {"year": DUE_DATE_MIN.year, "year2": DUE_DATE_MAX.year},
            field="due_date",
        )
    return value


def acting_access(acting_user: User | None) -> ProjectAccess:
    return ProjectAccess(Viewer.of_user(acting_user))


def required_workspace_id() -> int:
    tenant_id = current_workspace_id()
    if tenant_id is None:
        raise ProjectNotAllowed(_("Projects live in a workspace; this is not one."))
    return tenant_id
