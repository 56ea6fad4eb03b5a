"""Live updates (tenant_apps.live): how long one Server-Sent Events stream stays open before the browser reconnects
(and the viewer's access is checked again). The bus is Redis pub/sub with REDIS_URL, PostgreSQL LISTEN/NOTIFY
without it."""

from __future__ import annotations

from config.env import env

LIVE_STREAM_MAX_SECONDS: float = env.float("LIVE_STREAM_MAX_SECONDS", default=600.0)
