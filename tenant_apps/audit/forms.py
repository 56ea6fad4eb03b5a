from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from tenant_apps.audit.actions import filter_choices

# Dates the log can hold: far outside these, "the day after" overflows, and no entry can match anyway.
EARLIEST = date(2000, 1, 1)
LATEST = date(2999, 12, 31)
_DATE_RANGE = [
    MinValueValidator(
        EARLIEST, message=_("Choose a date from %(EARLIEST)s on.") % {"EARLIEST": f"{EARLIEST:%Y-%m-%d}"}
    ),
    MaxValueValidator(LATEST, message=_("Choose a date up to %(LATEST)s.") % {"LATEST": f"{LATEST:%Y-%m-%d}"}),
]


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(label=_("Action"), required=False)
    actor = forms.CharField(
        label=_("Actor"),
        required=False,
        max_length=254,
        widget=forms.TextInput(attrs={"placeholder": "name@example.com", "type": "search"}),
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}), validators=_DATE_RANGE
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}), validators=_DATE_RANGE
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        action = self.fields["action"]
        assert isinstance(action, forms.ChoiceField)  # noqa: S101
        action.choices = [("", _("All actions")), *filter_choices()]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def filters(self) -> dict[str, Any]:
        """The valid filters (an invalid field is ignored, and shown with its error)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "action": data.get("action") or "",
            "actor": data.get("actor") or "",
            "date_from": data.get("date_from") if "date_from" not in self.errors else None,
            "date_to": data.get("date_to") if "date_to" not in self.errors else None,
        }
