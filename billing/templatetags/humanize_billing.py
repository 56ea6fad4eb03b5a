from __future__ import annotations

from django import template

from billing.formatting import money_text

register = template.Library()


@register.filter
def cents(value: int | None) -> str:
    """1200 → "$12.00" (in the active language: "12,00 $" in German)."""
    return money_text(value)


@register.filter
def whole_cents(value: int | None) -> str:
    """3600 → "$36", for sums shown in whole dollars (MRR)."""
    return money_text(value, decimals=0)
