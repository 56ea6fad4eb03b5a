"""JSON log lines that carry the tenant (the connection's schema), the user id and the request id."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from django.db import connection
from django.http import HttpRequest
from django.utils.functional import empty

from shared_apps.core import context

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def _user_id(request: HttpRequest) -> int | None:
    # Only a user the request already loaded: logging must never cause a query.
    user = request.__dict__.get("user")
    wrapped = getattr(user, "_wrapped", empty)
    return getattr(wrapped, "pk", None) if wrapped is not empty else None


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "tenant"):
            record.tenant = getattr(connection, "schema_name", None)
        request_id = context.current().request_id
        if request_id:
            record.request_id = request_id
        request = context.current_request.get()
        if request is not None:
            record.user_id = _user_id(request)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = value if isinstance(value, str | int | float | bool | type(None)) else repr(value)
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)
