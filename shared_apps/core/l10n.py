"""Numbers and sizes as the reader writes them: the active language's decimal point and thousands separator."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.utils.formats import number_format
from django.utils.translation import gettext as _

SIZE_UNITS = (("TB", 1024**4), ("GB", 1024**3), ("MB", 1024**2), ("KB", 1024))


def number_text(value: int | float | Decimal, *, decimals: int = 0) -> str:
    """`value` rounded half up to `decimals` places: "1,200.5" (en), "1.200,5" (de), "1 200,5" (es)."""
    exact = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return number_format(exact, decimal_pos=decimals, use_l10n=True, force_grouping=True)


def size_text(value: int | None) -> str:
    """Bytes in the largest unit that keeps a whole number before the point: "50 GB", "1.5 MB" ("1,5 MB" in de),
    "600 B"; None (no limit) is "Unlimited"."""
    if value is None:
        return _("Unlimited")
    for unit, size in SIZE_UNITS:
        if value >= size:
            amount = value / size
            whole = amount == int(amount) or amount >= 10
            return f"{number_text(amount, decimals=0 if whole else 1)} {unit}"
    return f"{number_text(value)} B"
