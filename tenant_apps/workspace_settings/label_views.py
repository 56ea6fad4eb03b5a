"""Settings → Labels (owners and admins): the workspace's task labels, their colours, and how many tasks carry each.
Thin: the product's selectors and services (which check the role again)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from shared_apps.accounts.decorators import action_required
from shared_apps.accounts.http import MemberRequest
from shared_apps.accounts.permissions import Action
from tenant_apps.projects import selectors, services
from tenant_apps.projects.forms import LabelForm
from tenant_apps.projects.models import Label, LabelColor
from tenant_apps.projects.permissions import ProjectNotFound
from tenant_apps.projects.services import ProjectInvalid
from tenant_apps.workspace_settings.pages import settings_context


def _label(label_id: int) -> Label:
    try:
        return selectors.label_get(label_id)
    except ProjectNotFound as exc:
        raise Http404(exc.message) from exc


def _page(
    request: MemberRequest, *, form: LabelForm | None = None, editing: Label | None = None, status: int = 200
) -> HttpResponse:
    labels = list(selectors.label_list_with_counts())
    context = settings_context(
        request,
        "labels",
        labels=labels,
        colors=LabelColor.choices,
        form=form or LabelForm(),
        editing=editing,
        edit_form=None,
    )
    if editing is not None:
        context["edit_form"] = form
        context["form"] = LabelForm()
    return render(request, "tenant/settings/labels.html", context, status=status)


@action_required(Action.LABELS_MANAGE)
@require_http_methods(["GET", "POST"])
def labels(request: MemberRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request)
    form = LabelForm(request.POST)
    if form.is_valid():
        try:
            label = services.label_create(
                name=form.cleaned_data["name"], color=form.cleaned_data["color"], acting_user=request.user
            )
        except ProjectInvalid as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("Added the label “%(name)s”.") % {"name": label.name})
            return redirect("settings_labels")
    return _page(request, form=form, status=400)


@action_required(Action.LABELS_MANAGE)
@require_POST
def label_edit(request: MemberRequest, label_id: int) -> HttpResponse:
    label = _label(label_id)
    form = LabelForm(request.POST, prefix=f"label-{label.pk}")
    if form.is_valid():
        try:
            services.label_update(
                label=label, name=form.cleaned_data["name"], color=form.cleaned_data["color"], acting_user=request.user
            )
        except ProjectInvalid as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("Saved the label “%(name)s”.") % {"name": label.name})
            return redirect("settings_labels")
    return _page(request, form=form, editing=label, status=400)


@action_required(Action.LABELS_MANAGE)
@require_POST
def label_delete(request: MemberRequest, label_id: int) -> HttpResponse:
    label = _label(label_id)
    name = label.name
    services.label_delete(label=label, acting_user=request.user)
    messages.success(
        request, _("Deleted the label “%(name)s”; the tasks that carried it keep everything else.") % {"name": name}
    )
    return redirect("settings_labels")
