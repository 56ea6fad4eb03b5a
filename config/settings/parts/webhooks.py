"""Outgoing webhooks: how long an attempt may take, and whether endpoints may be on this machine's own network."""

from __future__ import annotations

from config.env import env

# Webhook endpoints may be http:// and resolve to loopback or private addresses only when this is on: development
# and tests (a receiver on 127.0.0.1). Production refuses both, whatever this says (production.py).
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES: bool = env.bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", default=False)
# Seconds an attempt may take in all: resolving, connecting, sending and reading the answer.
WEBHOOKS_TIMEOUT_SECONDS: float = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=10.0)
# Requests a process sends at once (to different endpoints; one endpoint's go one after another on one connection).
WEBHOOKS_SEND_CONCURRENCY: int = env.int("WEBHOOKS_SEND_CONCURRENCY", default=16)
# Deliveries claimed and sent together by one task.
WEBHOOKS_BATCH_SIZE: int = env.int("WEBHOOKS_BATCH_SIZE", default=100)
