"""Gunicorn settings for Atrium: `gunicorn -c infra/gunicorn.conf.py config.wsgi:application`.

One image runs in every environment, so every value below can be overridden from the environment:

    WEB_CONCURRENCY               worker processes (default 2 x CPUs + 1, at most WEB_CONCURRENCY_MAX, default 8)
    GUNICORN_THREADS              threads per worker (default 4)
    GUNICORN_BIND                 listen address (default 0.0.0.0:8000)
    GUNICORN_TIMEOUT              seconds before a silent worker is killed and replaced (default 30)
    GUNICORN_GRACEFUL_TIMEOUT     seconds to finish in-flight requests on reload or stop (default 30)
    GUNICORN_KEEPALIVE            seconds an idle keep-alive connection from the proxy stays open (default 5)
    GUNICORN_MAX_REQUESTS         requests before a worker is recycled (default 1000; 0 disables)
    GUNICORN_MAX_REQUESTS_JITTER  random spread so workers do not recycle together (default 100)
    GUNICORN_CONTROL_SOCKET       gunicornc control socket (default /tmp/gunicorn.ctl)
    FORWARDED_ALLOW_IPS           proxies trusted for X-Forwarded-* (default 127.0.0.1,::1; "*" only when the
                                  port is reachable from the proxy alone, as in infra/compose.yaml)
    LOG_LEVEL                     error-log level (default info)

Each worker thread may hold its own database connection (CONN_MAX_AGE), so one container opens up to
workers x threads connections: size PostgreSQL's max_connections or the pooler for that (infra/README.md).
Access lines are JSON objects on stdout, shaped like the application's log lines, with the X-Request-ID nginx sets.
"""

from __future__ import annotations

import json
import math
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gunicorn import glogging


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _env_str(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def _cpu_count() -> int:
    """CPUs this process may use: the affinity mask, lowered to the cgroup v2 CPU quota when one is set."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        available = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota == "max":
            return available
        return max(1, min(available, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        return available


class JsonAccessLogger(glogging.Logger):
    """Writes each access line as one JSON object, escaped properly (a format string cannot escape backslashes).

    Query strings and referers are left out: password-reset and invitation tokens travel in them.
    """

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> None:
        if not self.access_log_enabled:
            return
        status = resp.status
        status_code = int(status.split(None, 1)[0]) if isinstance(status, str) else status
        line = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": "INFO",
            "logger": "gunicorn.access",
            "message": f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')} {status_code}",
            "request_id": environ.get("HTTP_X_REQUEST_ID"),
            "method": environ.get("REQUEST_METHOD"),
            "host": environ.get("HTTP_HOST"),
            "path": environ.get("PATH_INFO"),
            "status": status_code,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "remote_addr": environ.get("REMOTE_ADDR"),
            "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
            "protocol": environ.get("SERVER_PROTOCOL"),
            "user_agent": environ.get("HTTP_USER_AGENT"),
            "pid": os.getpid(),
        }
        try:
            self.access_log.info(json.dumps(line, default=str))
        except Exception:  # noqa: BLE001  (a logging failure must never fail the request)
            self.exception("Could not write the access log line")


# Server socket
bind: list[str] = [_env_str("GUNICORN_BIND", "0.0.0.0:8000")]
backlog: int = _env_int("GUNICORN_BACKLOG", 2048)

# Workers: threads keep a worker responsive while a request waits on PostgreSQL, Redis, S3 or Stripe.
worker_class: str = "gthread"
workers: int = _env_int("WEB_CONCURRENCY", min(2 * _cpu_count() + 1, _env_int("WEB_CONCURRENCY_MAX", 8)))
threads: int = _env_int("GUNICORN_THREADS", 4)
timeout: int = _env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout: int = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive: int = _env_int("GUNICORN_KEEPALIVE", 5)
max_requests: int = _env_int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter: int = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 100)
# Heartbeat files on tmpfs: a container's overlay filesystem can stall them and get healthy workers killed.
worker_tmp_dir: str | None = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108
# Not preloaded: each worker imports the app after the fork, so no database connection crosses a fork.
preload_app: bool = False

# Proxy: nginx sets X-Forwarded-For/-Proto. Django reads X-Forwarded-Proto itself (SECURE_PROXY_SSL_HEADER).
forwarded_allow_ips: str = _env_str("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Logging: access lines on stdout, gunicorn's own messages on stderr.
accesslog: str = "-"
errorlog: str = "-"
loglevel: str = _env_str("LOG_LEVEL", "info").lower()
logger_class: type[glogging.Logger] = JsonAccessLogger

# Process
proc_name: str = "atrium-web"
control_socket: str = _env_str("GUNICORN_CONTROL_SOCKET", "/tmp/gunicorn.ctl")  # noqa: S108
