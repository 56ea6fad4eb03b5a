"""Notifications (tenant schema): one row per person and event that concerns them, made by the `notifications`
consumer of the workspace's event stream (`services.notifications_create_for_events`).

A notification keeps what it shows (who acted, the task's title, a comment's first words) as it was when the event
happened, and where it points (`project_id`, `task_id`): the page checks again that the reader may still see the
project before showing it. `(recipient, event_id)` is unique, so an event handed out twice notifies once.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tenants.references import person_reference, public_reference


class NotificationKind(models.TextChoices):
    ASSIGNED = "assigned", _("Assigned to you")
    MENTIONED = "mentioned", _("Mentioned you")
    COMMENTED = "commented", _("Commented on a task you follow")
    INVITATION_ACCEPTED = "invitation_accepted", _("Accepted your invitation")
    DUE_TOMORROW = "due_tomorrow", _("A task assigned to you is due tomorrow")


class Notification(models.Model):
    recipient = public_reference(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    event_id = models.CharField(max_length=40)
    actor = person_reference()
    actor_name = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=254, blank=True, help_text="The task's title or the invited address.")
    excerpt = models.CharField(max_length=280, blank=True, help_text="A comment's first words.")
    project_id = models.BigIntegerField(null=True, blank=True)
    task_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["recipient", "event_id"], name="notification_once_per_event"),
        ]
        indexes: ClassVar = [
            # the page: a person's notifications, newest first
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_inbox"),
            # the bell: a person's unread ones
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="notification_unread"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id} ({self.event_id})"


class TaskFollow(models.Model):
    """Someone follows a task explicitly (its creator, assignee and commenters follow it without a row)."""

    task = models.ForeignKey("projects.Task", on_delete=models.CASCADE, related_name="+", db_index=False)
    user = public_reference(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [models.UniqueConstraint(fields=["task", "user"], name="task_follow_once")]

    def __str__(self) -> str:
        return f"{self.user_id} follows task {self.task_id}"


class Delivery(models.TextChoices):
    IMMEDIATELY = "immediately", _("Email me at once")
    DIGEST = "digest", _("Email me a daily digest")
    OFF = "off", _("Don't email me")


class NotificationPreference(models.Model):
    """How a person hears of one kind of notification by email in this workspace (no row: at once). The bell and
    the page list every notification whatever this says."""

    user = public_reference(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    email = models.CharField(max_length=16, choices=Delivery.choices, default=Delivery.IMMEDIATELY)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints: ClassVar = [models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_once")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: {self.email}"


class DailyRun(models.Model):
    """A person's daily run in this workspace, one row per local day: the unique (user, day) is what holds the digest
    to at most one email a day, however often the beat runs or a worker retries."""

    user = public_reference(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField(help_text="The person's local date the run was for.")
    ran_at = models.DateTimeField(auto_now_add=True)
    digest_count = models.PositiveIntegerField(default=0, help_text="Notifications the digest listed (0: no email).")

    class Meta:
        constraints: ClassVar = [models.UniqueConstraint(fields=["user", "day"], name="daily_run_once")]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.day}"
