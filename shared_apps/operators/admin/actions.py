"""What every operator action shares: forms that ask for a reason (and the value an action needs), and the mixin that
runs an action on each selected row through a workspace service.

Nothing here writes a row directly: every change is an admin action that declares the Django permission it needs,
asks for a reason, and calls the workspace services (`services`, `operators`, `impersonation`), which check the
operator's permission again, apply the rules, and record the change in the operator log and in the workspace's own
audit log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from billing import selectors as billing_selectors
from billing.plans import Interval
from billing.services import TRIAL_EXTENSION_MAX_DAYS
from shared_apps.accounts.models import User
from shared_apps.core.errors import ApplicationError
from shared_apps.core.text import has_control_characters
from shared_apps.workspaces.services import REASON_MAX
from tenants.validators import validate_custom_domain, validate_subdomain


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=REASON_MAX,
        required=True,
        strip=True,
        help_text=_("Required. Recorded in the operator log and in the workspace's audit log."),
        widget=forms.TextInput(attrs={"size": 60, "autocomplete": "off"}),
    )

    def clean_reason(self) -> str:
        reason = str(self.cleaned_data["reason"])
        if has_control_characters(reason):
            raise forms.ValidationError(_("The reason cannot contain line breaks or control characters."))
        return reason


class TrialForm(ReasonForm):
    days = forms.IntegerField(label=_("Extend by (days)"), min_value=1, max_value=TRIAL_EXTENSION_MAX_DAYS, initial=7)
    field_order = ["days", "reason"]


class PlanForm(ReasonForm):
    plan = forms.ChoiceField(label=_("Plan"))
    interval = forms.ChoiceField(
        label=_("Billing"), choices=[(Interval.MONTH, _("Monthly")), (Interval.YEAR, _("Yearly"))]
    )
    field_order = ["plan", "interval", "reason"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["plan"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101
        field.choices = [(p.code, p.name) for p in billing_selectors.plan_choices()]


class EmailChangeForm(ReasonForm):
    """Checked again by the service (format, control characters, no other account has it)."""

    email = forms.CharField(label=_("New email address"), max_length=254, widget=forms.EmailInput(attrs={"size": 40}))
    field_order = ["email", "reason"]


class SubdomainForm(forms.Form):
    """Hosts typed by operators pass the same validators as the command and signup (again in the service)."""

    new_slug = forms.CharField(label=_("New subdomain"), max_length=63)

    def clean_new_slug(self) -> str:
        try:
            return validate_subdomain(self.cleaned_data["new_slug"])
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc


class DomainForm(forms.Form):
    domain = forms.CharField(label=_("Custom domain"), max_length=253, help_text=_("e.g. projects.acme.com"))

    def clean_domain(self) -> str:
        try:
            return validate_custom_domain(self.cleaned_data["domain"])
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc


Change = Callable[[Any, User, dict[str, Any]], object]
Text = str | Promise  # a message, or a lazy translation of one


class OperatorActions:
    """Admin actions that ask for input on an intermediate page, then run a service once per selected row, report
    each refusal, and go back where they came from (the list, or a workspace's own page)."""

    admin_site: admin.AdminSite
    model: Any
    message_user: Callable[..., None]  # ModelAdmin's

    def _each(
        self, request: HttpRequest, queryset: QuerySet[Any], done_message: Text, change: Change, **data: Any
    ) -> int:
        """Run `change` on each row; `done_message` is a plural message with a `%(count)d` placeholder, counted on
        "count" (`ngettext_lazy("Suspended %(count)d workspace.", "Suspended %(count)d workspaces.", "count")`)."""
        done = 0
        operator = request.user
        if not isinstance(operator, User):
            return 0
        for obj in queryset:
            try:
                outcome = change(obj, operator, data)
                done += 1
                if isinstance(outcome, str) and outcome:
                    self.message_user(request, outcome, messages.INFO)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.WARNING)
        if done:
            self.message_user(request, str(done_message % {"count": done}), messages.SUCCESS)
        return done

    def _with_form(
        self,
        request: HttpRequest,
        queryset: QuerySet[Any],
        *,
        form_class: type[forms.Form],
        title: Text,
        button: Text,
        apply: Callable[[dict[str, Any]], object],
        single: bool = False,
        warning: Text = "",
    ) -> HttpResponse | None:
        """An action that asks for input first: the form on an intermediate page, then `apply(cleaned_data)`."""
        if single and queryset.count() != 1:
            self.message_user(request, _("Select exactly one for this action."), messages.WARNING)
            return None
        form = form_class(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            apply(form.cleaned_data)
            return self._back(request, queryset)
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "button": button,
            "warning": warning,
            "form": form,
            "objects": list(queryset),
            "action": request.POST.get("action", ""),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "from_detail": request.POST.get("_from_detail", ""),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/workspaces/action_form.html", context)

    def _back(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        if request.POST.get("_from_detail"):
            pk = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)[:1]
            if pk and pk[0].isdigit():
                opts = self.model._meta
                return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk[0]]))
        return None

    def _with_reason(
        self,
        request: HttpRequest,
        queryset: QuerySet[Any],
        *,
        title: Text,
        button: Text,
        done: Text,
        change: Change,
        warning: Text = "",
        form_class: type[forms.Form] = ReasonForm,
        single: bool = False,
    ) -> HttpResponse | None:
        """An action that asks for a reason (and whatever else `form_class` asks), then runs `change` on each row with
        the form's cleaned data; `done` says how many were changed (see `_each`)."""
        return self._with_form(
            request,
            queryset,
            form_class=form_class,
            title=title,
            button=button,
            warning=warning,
            single=single,
            apply=lambda data: self._each(request, queryset, done, change, **data),
        )
