"""Money, sizes and plan limits as people read them, in the active language.

Amounts are kept in cents (Stripe's unit); they are shown with the locale's separators ("$1,234.00", "1.234,00 $",
"1.234,00 US$"), the symbol placed by the translation of "$%(amount)s". Limits read as whole phrases ("3 seats",
"Unlimited projects", "50 GB storage"), each a message of its own so that a translator can inflect and order them.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from billing.plans import Limit, Resource
from shared_apps.core.l10n import number_text, size_text

__all__ = ["limit_text", "money_text", "number_text", "size_text"]


def money_text(cents: int | float | None, *, decimals: int = 2) -> str:
    """1200 → "$12.00" (en), "12,00 $" (de); `decimals=0` for whole dollars (prices, MRR)."""
    amount = number_text(Decimal(str(cents or 0)) / 100, decimals=decimals)
    return _("$%(amount)s") % {"amount": amount}


def limit_text(resource: Resource, limit: Limit) -> str:
    """A plan's limit of one resource as a phrase: "3 seats", "Unlimited projects", "1 GB storage"."""
    if limit.value is None:
        return _unlimited(resource)
    if resource == Resource.STORAGE_BYTES:
        return _("%(size)s storage") % {"size": size_text(limit.value)}
    count, shown = limit.value, number_text(limit.value)
    phrases = {
        Resource.SEATS: ngettext("%(count)s seat", "%(count)s seats", count),
        Resource.PROJECTS: ngettext("%(count)s project", "%(count)s projects", count),
        Resource.API_REQUESTS_PER_MINUTE: ngettext(
            "%(count)s API request per minute", "%(count)s API requests per minute", count
        ),
        Resource.API_REQUESTS_PER_MINUTE_PER_KEY: ngettext(
            "%(count)s API request per minute per key", "%(count)s API requests per minute per key", count
        ),
        Resource.WEBHOOK_ENDPOINTS: ngettext("%(count)s webhook endpoint", "%(count)s webhook endpoints", count),
        Resource.WEBHOOK_DELIVERIES_PER_MINUTE: ngettext(
            "%(count)s webhook delivery per minute", "%(count)s webhook deliveries per minute", count
        ),
    }
    return phrases[resource] % {"count": shown}


def _unlimited(resource: Resource) -> str:
    phrases = {
        Resource.SEATS: _("Unlimited seats"),
        Resource.PROJECTS: _("Unlimited projects"),
        Resource.STORAGE_BYTES: _("Unlimited storage"),
        Resource.API_REQUESTS_PER_MINUTE: _("Unlimited API requests"),
        Resource.API_REQUESTS_PER_MINUTE_PER_KEY: _("Unlimited API requests per key"),
        Resource.WEBHOOK_ENDPOINTS: _("Unlimited webhook endpoints"),
        Resource.WEBHOOK_DELIVERIES_PER_MINUTE: _("Unlimited webhook deliveries"),
    }
    return phrases[resource]
