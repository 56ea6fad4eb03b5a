"""The operators' dashboard: how the platform is doing over a date range, against the range before it. One module per
group of figures (growth, activity, revenue, sizes), each read into a small dataclass; `board` puts them together.

Everything comes from the public schema, in a fixed number of queries whatever the number of workspaces, accounts or
days (tests/workspaces/test_dashboard.py counts them): accounts and workspaces created (live), members, the billing
ledger (trials, conversions, churn, MRR on any day: today's MRR minus the changes since), billing accounts (MRR and
trials now), and what the metrics refresh stored (activity, API calls and sizes per workspace per day, the bytes of
files from storage's accounting and the API calls from the API's daily counters).
"""

from shared_apps.operators.dashboard.activity import Activity
from shared_apps.operators.dashboard.board import (
    ATTENTION_ROWS,
    DORMANT_DAYS,
    TRIAL_ENDING_DAYS,
    attention_list,
    dashboard_build,
)
from shared_apps.operators.dashboard.figures import MINUS, Attention, Dashboard, Figure, count, money, size
from shared_apps.operators.dashboard.growth import Growth
from shared_apps.operators.dashboard.period import DEFAULT_PRESET, EARLIEST, MAX_DAYS, PRESETS, Period, period_from
from shared_apps.operators.dashboard.revenue import LedgerRow, Revenue
from shared_apps.operators.dashboard.sizes import Sizes

__all__ = [
    "ATTENTION_ROWS",
    "DEFAULT_PRESET",
    "DORMANT_DAYS",
    "EARLIEST",
    "MAX_DAYS",
    "MINUS",
    "PRESETS",
    "TRIAL_ENDING_DAYS",
    "Activity",
    "Attention",
    "Dashboard",
    "Figure",
    "Growth",
    "LedgerRow",
    "Period",
    "Revenue",
    "Sizes",
    "attention_list",
    "count",
    "dashboard_build",
    "money",
    "period_from",
    "size",
]
