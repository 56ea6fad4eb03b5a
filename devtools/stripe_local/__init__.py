"""A Stripe-compatible server for loopback: the subset of Stripe's API Atrium calls, stateful, in one process.
Development and test tooling: production never imports it (an import-linter contract).

It exists so that `make run` and `make test` work with no Stripe account and no network: the real `stripe` SDK talks
to it over HTTP (`STRIPE_API_BASE`), exactly as production talks to Stripe, and its events are signed the way
Stripe signs them and delivered to the webhook endpoint. Standard library only, no Django.

Served (form-encoded requests in Stripe's bracket notation, JSON answers in Stripe's shapes):
    products, prices (lookup keys, transfer_lookup_key), customers, payment methods (tok_visa / tok_chargeDeclined),
    subscriptions (trials, items with quantities, updates, cancel), invoices (list, retrieve, pay),
    checkout sessions (subscription mode), billing portal sessions and configurations, test clocks (advance runs
    trial ends, renewals, payment retries and the final "unpaid"), events, and Idempotency-Key replay.
Pages (clearly marked TEST MODE): /_local/checkout/<id>, /_local/portal/<id>, /_local/invoices/<id>.
For tests: GET /_local/webhooks?after=N (every signed event, in order), GET /_local/requests, POST /_local/config
(webhook_url, webhook_secret, card_declines).

Modules: `wire` (errors, form decoding, signatures), `store` (the objects and what happens to them), `sessions`
(Checkout and the billing portal), `routes` (the API's route table), `pages` (the TEST MODE pages), `server` (HTTP
and webhook delivery). `python -m devtools.stripe_local --port 12111` serves it.
"""

from devtools.stripe_local.server import serve
from devtools.stripe_local.wire import API_VERSION, sign

__all__ = ["API_VERSION", "serve", "sign"]
