"""A workspace's webhook endpoints and the deliveries of its events to them (tenant schema)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from tenant_apps.audit.models import Event
from tenants.references import person_reference

URL_MAX_LENGTH = 2000
DESCRIPTION_MAX_LENGTH = 200
RESPONSE_KEEP_BYTES = 2048


class Endpoint(models.Model):
    url = models.URLField(max_length=URL_MAX_LENGTH)
    description = models.CharField(max_length=DESCRIPTION_MAX_LENGTH, blank=True)
    # The event types it receives; empty: every type.
    event_types = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    # Why it was switched off by Atrium (empty when on, or off by a person).
    disabled_reason = models.CharField(max_length=200, blank=True)
    # The signing secret (`whsec_…`); during a rotation the previous one signs too, until it expires.
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Set by the first failed attempt after a success; cleared by the next success.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_by = person_reference()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar = ["created_at", "id"]

    def __str__(self) -> str:
        return self.url

    def receives(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Failed")


class Delivery(models.Model):
    """One event for one endpoint: attempted until it succeeds or three days have passed."""

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhooks_delivery_once_per_endpoint"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["status", "next_attempt_at"], name="webhooks_delivery_due"),
            models.Index(fields=["endpoint", "-created_at"], name="webhooks_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} of event {self.event_id} to endpoint {self.endpoint_id}"


class Attempt(models.Model):
    """One HTTP request of a delivery, as the log shows it: what was sent, what came back (the first 2 KB, kept as
    text and never rendered as HTML), how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    request_headers = models.JSONField(default=dict)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering: ClassVar = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"

    @property
    def succeeded(self) -> bool:
        return self.response_status is not None and 200 <= self.response_status < 300
