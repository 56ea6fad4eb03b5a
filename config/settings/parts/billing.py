"""Billing (Stripe). With STRIPE_SECRET_KEY unset, the SDK talks to the Stripe-compatible server on loopback
(`python -m devtools.stripe_local`, started by `make run` and by the tests) at STRIPE_API_BASE, or else at
127.0.0.1:STRIPE_LOCAL_PORT."""

from __future__ import annotations

from config.env import env

STRIPE_SECRET_KEY: str = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET: str = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_PORTAL_CONFIGURATION: str = env.str("STRIPE_PORTAL_CONFIGURATION", default="")
STRIPE_API_BASE: str = env.str("STRIPE_API_BASE", default="")
STRIPE_LOCAL_PORT: int = env.int("STRIPE_LOCAL_PORT", default=12111)
STRIPE_CONNECT_TIMEOUT: float = env.float("STRIPE_CONNECT_TIMEOUT", default=3.0)
STRIPE_READ_TIMEOUT: float = env.float("STRIPE_READ_TIMEOUT", default=10.0)
STRIPE_MAX_NETWORK_RETRIES: int = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
# Days a past-due workspace keeps working (with a banner) before it becomes read-only.
BILLING_PAST_DUE_GRACE_DAYS: int = env.int("BILLING_PAST_DUE_GRACE_DAYS", default=7)
# Seconds of quiet after a burst of member/invitation changes before the seat count is pushed to Stripe (one update).
BILLING_SEAT_SYNC_DEBOUNCE: int = env.int("BILLING_SEAT_SYNC_DEBOUNCE", default=10)
