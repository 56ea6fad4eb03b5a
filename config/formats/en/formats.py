"""English dates: "Dec 7, 2026", "Dec 7, 2026 14:05" — the one format every page, email and export uses."""

DATE_FORMAT = "M j, Y"
DATETIME_FORMAT = "M j, Y H:i"
SHORT_DATETIME_FORMAT = "M j, H:i"
MONTH_DAY_FORMAT = "M j"
TIME_FORMAT = "H:i"
