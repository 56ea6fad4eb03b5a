"""German dates: "7. Dez. 2026", "7. Dez. 2026, 14:05"."""

DATE_FORMAT = "j. M Y"
DATETIME_FORMAT = "j. M Y, H:i"
SHORT_DATETIME_FORMAT = "j. M, H:i"
MONTH_DAY_FORMAT = "j. M"
TIME_FORMAT = "H:i"
