"""Numbers as the reader writes them: the active language's decimal point and thousands separator."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.utils.formats import number_format


def number_text(value: int | float | Decimal, *, decimals: int = 0) -> str:
    """`value` rounded half up to `decimals` places: "1,200.5" (en), "1.200,5" (de), "1 200,5" (es)."""
    exact = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return number_format(exact, decimal_pos=decimals, use_l10n=True, force_grouping=True)
