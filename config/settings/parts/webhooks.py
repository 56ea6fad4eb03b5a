"""Outgoing webhooks: how long an attempt may take, and whether endpoints may be on this machine's own network."""

from __future__ import annotations

from config.env import env

# Webhook endpoints may be http:// and resolve to loopback or private addresses only when this is on: development
# and tests (a receiver on 127.0.0.1). Production refuses both, whatever this says (production.py).
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES: bool = env.bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", default=False)
# Seconds to connect, and for each read of the answer.
WEBHOOKS_TIMEOUT_SECONDS: float = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=10.0)
