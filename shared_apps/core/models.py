"""The platform's plumbing tables (public schema)."""

from __future__ import annotations

from django.db import models


class OutboxTask(models.Model):
    """A task whose enqueueing failed (the broker was unreachable) after the transaction it belongs to committed.
    `core.outbox_flush` sends it once the broker answers again, in the schema and request context it was enqueued
    from, then deletes the row."""

    task = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    schema_name = models.CharField(max_length=63)
    context = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ("pk",)

    def __str__(self) -> str:
        return f"{self.task} in {self.schema_name}"


class TaskEffect(models.Model):
    """An effect outside the database (an email sent) that a task has had, by a key naming it: a task run again (a
    message redelivered after its worker died, a retry, a second enqueue) finds it and does not repeat it."""

    key = models.CharField(max_length=255, unique=True)
    done_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key
