from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def cents(value: int | None) -> str:
    """1200 → "$12.00"."""
    return f"${(value or 0) / 100:,.2f}"
