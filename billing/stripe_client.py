"""The one way Atrium talks to Stripe: the real SDK, a pinned API version, explicit timeouts and retries.

Without STRIPE_SECRET_KEY the same client talks to the Stripe-compatible server on loopback (`devtools.stripe_local`,
started by `make run` and by the test suite): same SDK, same requests, same webhooks.
"""

from __future__ import annotations

from functools import lru_cache

import stripe
from django.conf import settings

# The API version every request names (and the one the pinned SDK was generated for): Stripe answers in its shapes
# whatever the account's default version is.
API_VERSION = "2026-10-28.endive"
LOCAL_SECRET_KEY = "sk_test_local_atrium"  # noqa: S105  (the loopback server accepts any sk_ key)
LOCAL_WEBHOOK_SECRET = "whsec_local_atrium"  # noqa: S105  (shared with the loopback server; not a secret)


def secret_key() -> str:
    return settings.STRIPE_SECRET_KEY or LOCAL_SECRET_KEY


def webhook_secret() -> str:
    return settings.STRIPE_WEBHOOK_SECRET or LOCAL_WEBHOOK_SECRET


def api_base() -> str:
    """Stripe's own API, or the loopback server when there is no key."""
    if settings.STRIPE_API_BASE:
        return str(settings.STRIPE_API_BASE).rstrip("/")
    if settings.STRIPE_SECRET_KEY:
        return str(stripe.DEFAULT_API_BASE)
    return f"http://127.0.0.1:{settings.STRIPE_LOCAL_PORT}"


def is_local() -> bool:
    return not settings.STRIPE_SECRET_KEY


@lru_cache(maxsize=8)
def _client(key: str, base: str, connect: float, read: float, retries: int) -> stripe.StripeClient:
    return stripe.StripeClient(
        key,
        stripe_version=API_VERSION,
        base_addresses={"api": base},
        http_client=stripe.RequestsClient(timeout=(connect, read)),
        max_network_retries=retries,
    )


def client() -> stripe.StripeClient:
    return _client(
        secret_key(),
        api_base(),
        float(settings.STRIPE_CONNECT_TIMEOUT),
        float(settings.STRIPE_READ_TIMEOUT),
        int(settings.STRIPE_MAX_NETWORK_RETRIES),
    )


StripeError = stripe.StripeError
