"""Forms of the product's pages: parsing and field-level messages; the rules (and the same checks again) live in the
services, whose `ProjectInvalid` errors are put back next to the field they name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tenant_apps.projects.models import (
    LABEL_NAME_MAX_LENGTH,
    NAME_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Label,
    LabelColor,
    TaskStatus,
    Visibility,
)
from tenant_apps.projects.services import ProjectInvalid, clean_due_date, clean_line, clean_text

# What a browser could send in a field at most; anything longer is refused before any validation runs.
SEARCH_MAX_LENGTH = 100


class ServiceErrorsMixin(forms.Form):
    def add_service_error(self, error: ProjectInvalid) -> None:
        self.add_error(error.field if error.field in self.fields else None, error.message)


class ProjectForm(ServiceErrorsMixin):
    name = forms.CharField(
        label=_("Name"),
        max_length=NAME_MAX_LENGTH,
        widget=forms.TextInput(attrs={"placeholder": "Website relaunch", "autocomplete": "off"}),
    )
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Optional. What the project is for, in a sentence or two."),
    )
    visibility = forms.ChoiceField(
        label=_("Who can see it"),
        choices=Visibility.choices,
        initial=Visibility.WORKSPACE,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, with_visibility: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not with_visibility:
            del self.fields["visibility"]

    def clean_name(self) -> str:
        return _checked(self, clean_line, self.cleaned_data["name"], label=_("Name"), max_length=NAME_MAX_LENGTH)

    def clean_description(self) -> str:
        return _checked(self, clean_text, self.cleaned_data["description"], label=_("Description"))


class TaskCreateForm(ServiceErrorsMixin):
    title = forms.CharField(
        label=_("Task title"),
        max_length=TITLE_MAX_LENGTH,
        widget=forms.TextInput(attrs={"placeholder": "What needs doing?", "autocomplete": "off"}),
    )
    status = forms.ChoiceField(choices=TaskStatus.choices, initial=TaskStatus.TODO, widget=forms.HiddenInput)

    def clean_title(self) -> str:
        return _checked(self, clean_line, self.cleaned_data["title"], label=_("Title"), max_length=TITLE_MAX_LENGTH)


class TaskForm(ServiceErrorsMixin):
    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX_LENGTH)
    description = forms.CharField(
        label=_("Description"), required=False, max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 5})
    )
    status = forms.ChoiceField(label=_("Status"), choices=TaskStatus.choices)
    assignee = forms.TypedChoiceField(label=_("Assignee"), required=False, coerce=int, empty_value=None)
    due_date = forms.DateField(
        label=_("Due date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "min": "2000-01-01", "max": "2100-12-31"}, format="%Y-%m-%d"),
        help_text=_("Optional."),
    )

    labels = forms.TypedMultipleChoiceField(
        label=_("Labels"), required=False, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    # The task's version the page showed: a save made from an older one is refused (someone else saved meanwhile).
    version = forms.IntegerField(min_value=0, max_value=2**31 - 1, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        assignees: list[tuple[int, str]],
        labels: Sequence[Label] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, forms.TypedChoiceField)  # noqa: S101
        field.choices = [("", _("Nobody")), *assignees]
        choices = self.fields["labels"]
        assert isinstance(choices, forms.TypedMultipleChoiceField)  # noqa: S101
        choices.choices = [(label.pk, label.name) for label in labels]
        self._labels = list(labels)

    def label_options(self) -> list[dict[str, object]]:
        """Each label of the workspace with its colour and whether the form has it ticked (for the picker)."""
        ticked = {str(v) for v in (self["labels"].value() or [])}
        return [
            {"id": label.pk, "name": label.name, "color": label.color, "checked": str(label.pk) in ticked}
            for label in self._labels
        ]

    def clean_title(self) -> str:
        return _checked(self, clean_line, self.cleaned_data["title"], label=_("Title"), max_length=TITLE_MAX_LENGTH)

    def clean_description(self) -> str:
        return _checked(self, clean_text, self.cleaned_data["description"], label=_("Description"))

    def clean_due_date(self) -> Any:
        value = self.cleaned_data["due_date"]
        try:
            return clean_due_date(value)
        except ProjectInvalid as exc:
            raise forms.ValidationError(exc.message) from exc


class CommentForm(ServiceErrorsMixin):
    body = forms.CharField(
        label=_("Comment"),
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("Write a comment…")}),
    )

    def clean_body(self) -> str:
        return _checked(self, clean_text, self.cleaned_data["body"], label=_("Comment"), required=True)


class ProjectDeleteForm(ServiceErrorsMixin):
    confirm_name = forms.CharField(label=_("Project name"), max_length=NAME_MAX_LENGTH + 10, strip=True)


class VisibilityForm(ServiceErrorsMixin):
    visibility = forms.ChoiceField(label=_("Who can see it"), choices=Visibility.choices, widget=forms.RadioSelect)


def _checked(form: forms.Form, check: Any, value: str, **kwargs: Any) -> str:
    """Run one of the services' own checks at the edge, so its message appears next to the field."""
    try:
        return str(check(value, field="", **kwargs))
    except ProjectInvalid as exc:
        raise forms.ValidationError(exc.message) from exc


class DocumentUploadForm(ServiceErrorsMixin):
    """The plain upload form (it works without JavaScript; with it, the same form sends the file straight to storage
    with a progress bar). The file's bytes decide what it is, not this form."""

    file = forms.FileField(label=_("File"), allow_empty_file=True)
    task = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, widget=forms.HiddenInput)

    def __init__(self, *args: Any, task_ids: list[int] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["task"]
        assert isinstance(field, forms.TypedChoiceField)  # noqa: S101
        field.choices = [("", ""), *((pk, str(pk)) for pk in (task_ids or []))]


class DirectUploadForm(forms.Form):
    """What the page's script sends to start a direct upload: the file's name and size (checked again, by its bytes,
    once it has arrived)."""

    name = forms.CharField(max_length=1000)
    size = forms.IntegerField(min_value=0, max_value=2**62)
    task = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


class DocumentDeleteForm(ServiceErrorsMixin):
    confirm_name = forms.CharField(label=_("File name"), max_length=260, strip=True)


class LabelForm(ServiceErrorsMixin):
    name = forms.CharField(
        label=_("Name"),
        max_length=LABEL_NAME_MAX_LENGTH,
        widget=forms.TextInput(attrs={"placeholder": _("Bug"), "autocomplete": "off"}),
    )
    color = forms.ChoiceField(label=_("Colour"), choices=LabelColor.choices, initial=LabelColor.BLUE)

    def clean_name(self) -> str:
        return _checked(self, clean_line, self.cleaned_data["name"], label=_("Name"), max_length=LABEL_NAME_MAX_LENGTH)
