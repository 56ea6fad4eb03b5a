"""Operators' admin for billing (root domain): the webhook inbox with replay (and a dry run), and each workspace's
billing account, read-only. Replays call the same service the processing task calls."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from billing import services
from billing.models import BillingAccount, Invoice, WebhookEvent


class _ReadOnly(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]


class ProcessedFilter(admin.SimpleListFilter):
    title = _("processed")
    parameter_name = "processed"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("yes", gettext("Processed")),
            ("no", gettext("Not processed")),
            ("failed", gettext("Failed at least once")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(processed_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(processed_at__isnull=True)
        if self.value() == "failed":
            return queryset.exclude(last_error="")
        return queryset


@admin.register(WebhookEvent)
class WebhookEventAdmin(_ReadOnly):
    list_display = (
        "event_id",
        "type",
        "created",
        "received_at",
        "processed_at",
        "attempts",
        "tenant_id",
        "short_error",
    )
    list_filter = ("type", ProcessedFilter, "created", "received_at")
    search_fields = ("event_id", "customer_id", "tenant_id")
    date_hierarchy = "created"
    actions = ("replay_dry_run", "replay")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The list's actions need "change"; an event's own page is read-only.
        return obj is None and request.user.has_perm("billing.change_webhookevent")

    @admin.display(description=_("Last error"))
    def short_error(self, obj: WebhookEvent) -> str:
        return obj.last_error[:80]

    def _replay(self, request: HttpRequest, queryset: QuerySet[WebhookEvent], *, dry_run: bool) -> None:
        for event in queryset.order_by("created", "id")[:100]:
            result = services.webhook_event_process(event_pk=event.pk, replay=True, dry_run=dry_run)
            if result.error:
                failed = gettext("%(event)s: failed: %(error)s") % {"event": event.event_id, "error": result.error}
                self.message_user(request, failed, messages.ERROR)
            elif result.skipped:
                self.message_user(request, f"{event.event_id}: {result.skipped}", messages.INFO)
            else:
                changes = result.sync.changes if result.sync else {}
                described = ", ".join(f"{k} {a!s} → {b!s}" for k, (a, b) in changes.items()) or gettext("no change")
                said = {"event": event.event_id, "type": event.type, "changes": described}
                message = (
                    gettext("%(event)s (%(type)s): would change: %(changes)s")
                    if dry_run
                    else gettext("%(event)s (%(type)s): replayed: %(changes)s")
                )
                self.message_user(request, message % said, messages.SUCCESS)

    @admin.action(
        description=_("Replay selected events — dry run (shows what would change, changes nothing)"),
        permissions=["change"],
    )
    def replay_dry_run(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        self._replay(request, queryset, dry_run=True)

    @admin.action(description=_("Replay selected events (read back from Stripe and apply)"), permissions=["change"])
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        self._replay(request, queryset, dry_run=False)


class InvoiceInline(admin.TabularInline[Invoice, BillingAccount]):
    model = Invoice
    extra = 0
    can_delete = False
    fields = ("number", "status", "amount_due", "amount_paid", "created", "hosted_invoice_url")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(BillingAccount)
class BillingAccountAdmin(_ReadOnly):
    list_display = ("tenant", "plan", "interval", "status", "seats_paid", "trial_end", "past_due_since", "synced_at")
    list_filter = ("plan", "status")
    search_fields = ("tenant__name", "stripe_customer_id", "stripe_subscription_id")
    list_select_related = ("tenant",)
    inlines = (InvoiceInline,)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
