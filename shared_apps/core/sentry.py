"""Sentry: events tagged with the tenant's schema; no PII by default (`send_default_pii=False`). Enabled only when
SENTRY_DSN is set."""

from __future__ import annotations

from typing import Any


def _tag_tenant(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    from django.db import connection

    event.setdefault("tags", {})["tenant"] = getattr(connection, "schema_name", None)
    return event


def init_sentry(dsn: str, *, environment: str) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        traces_sample_rate=0.0,
        before_send=_tag_tenant,  # type: ignore[arg-type]
    )
