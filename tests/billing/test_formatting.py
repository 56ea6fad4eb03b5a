"""Money, sizes and plan limits read in the reader's language: separators, the currency's place, whole phrases
(never an English word between translated ones), and the limit messages people meet when a plan is full."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import translation

from billing.entitlements import entitlement_check, plan_outgrown
from billing.formatting import limit_text, money_text, number_text, size_text
from billing.plans import GB, PLANS, Limit, Resource
from tenants.models import Tenant


@pytest.mark.parametrize(
    ("language", "cents", "decimals", "shown"),
    [
        ("en", 123456, 2, "$1,234.56"),
        ("de", 123456, 2, "1.234,56 $"),
        ("es", 123456, 2, "1\u00a0234,56 US$"),  # Spanish groups thousands with a no-break space
        ("en", 3650, 0, "$37"),  # half up, not truncated
        ("de", 1200, 0, "12 $"),
        ("en", None, 2, "$0.00"),
    ],
)
def test_money_is_shown_with_the_locales_separators_and_symbol(
    language: str, cents: int | None, decimals: int, shown: str
) -> None:
    with translation.override(language):
        assert money_text(cents, decimals=decimals) == shown


def test_sizes_and_counts_follow_the_locale() -> None:
    with translation.override("de"):
        assert size_text(int(1.5 * 1024**2)) == "1,5 MB"
        assert size_text(50 * GB) == "50 GB"
        assert size_text(None) == "Unbegrenzt"
        assert size_text(1000) == "1.000 B"
        assert number_text(1200) == "1.200"
    with translation.override("en"):
        assert size_text(int(1.5 * 1024**2)) == "1.5 MB"
        assert number_text(1200) == "1,200"


def test_limits_read_as_whole_phrases_with_plurals() -> None:
    with translation.override("en"):
        assert limit_text(Resource.SEATS, Limit(1)) == "1 seat"
        assert limit_text(Resource.SEATS, Limit(3)) == "3 seats"
        assert limit_text(Resource.PROJECTS, Limit(None)) == "Unlimited projects"
        assert limit_text(Resource.STORAGE_BYTES, Limit(GB)) == "1 GB storage"
        assert limit_text(Resource.WEBHOOK_DELIVERIES_PER_MINUTE, Limit(1200)) == "1,200 webhook deliveries per minute"
    with translation.override("de"):
        assert limit_text(Resource.SEATS, Limit(1)) == "1 Platz"
        assert limit_text(Resource.WEBHOOK_DELIVERIES_PER_MINUTE, Limit(1200)) == (
            "1.200 Webhook-Zustellungen pro Minute"
        )
    with translation.override("es"):
        assert limit_text(Resource.PROJECTS, Limit(None)) == "Proyectos ilimitados"


@pytest.mark.django_db
def test_a_full_plans_message_is_in_the_readers_language(tenant: Tenant) -> None:
    free = PLANS["free"]
    with translation.override("de"):
        refused = entitlement_check(tenant_id=tenant.pk, resource=Resource.SEATS, used=10**6)
        outgrown = plan_outgrown(free, {Resource.SEATS: 5})
    assert refused.message.startswith("Der Tarif ")
    assert " Plätze, und 1.000.000 sind belegt. Wechseln Sie auf der Abrechnungsseite" in refused.message
    assert outgrown == ["Free erlaubt 3 Plätze, und der Workspace nutzt 5"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "expected", "english"),
    [
        (
            "de",
            ["12 $ pro Platz", "50 Plätze", "Unbegrenzt viele Projekte", "1.200 Webhook-Zustellungen"],
            ["seats", "storage", "For teams", "$12", "deliveries per minute"],
        ),
        (
            "es",
            ["12 US$", "50 puestos", "Proyectos ilimitados", "Para equipos"],
            ["seats", "storage", "For teams", "$12 ", "deliveries per minute"],
        ),
    ],
)
def test_the_pricing_page_speaks_the_readers_language(
    public_client: Client, language: str, expected: list[str], english: list[str]
) -> None:
    page = public_client.get("/pricing/", HTTP_ACCEPT_LANGUAGE=language)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.content.decode()))
    for phrase in expected:
        assert phrase in text
    for word in english:
        assert word not in text, word
