"""What the local Stripe server and its clients share: Stripe's API version, objects as dicts, errors in Stripe's
shape, the bracket-notation form decoder and the webhook signature."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from typing import Any

API_VERSION = "2026-10-28.endive"
DAY = 86_400
PERIOD_SECONDS = {"day": DAY, "week": 7 * DAY, "month": 30 * DAY, "year": 365 * DAY}
# Payment retries after a failed renewal, in days after the first failure; after the last one the subscription is
# marked unpaid (Stripe's "Smart Retries" off, "mark the subscription as unpaid" on).
RETRY_DAYS = (3, 7, 14)
DECLINING_CARDS = {"tok_chargeDeclined": "0341", "pm_card_chargeDeclined": "0341"}

Obj = dict[str, Any]


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, code: str = "", param: str = "", kind: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = {
            "error": {
                "type": kind or ("invalid_request_error" if status < 500 else "api_error"),
                "message": message,
                **({"code": code} if code else {}),
                **({"param": param} if param else {}),
            }
        }


def decode_form(pairs: list[tuple[str, str]]) -> Obj:
    """Stripe's bracket notation (`items[0][price]=x&metadata[k]=v&expand[]=y`) to nested dicts and lists."""
    root: Obj = {}
    for key, value in pairs:
        head = key.split("[", 1)[0]
        names = [head, *re.findall(r"\[([^\]]*)\]", key[len(head) :])]
        node: Any = root
        for i, name in enumerate(names):
            if name == "":
                name = str(len(node))
            if i == len(names) - 1:
                node[name] = value
            else:
                node = node.setdefault(name, {})
    return _lists(root)


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        converted = {k: _lists(v) for k, v in node.items()}
        if converted and all(k.isdigit() for k in converted):
            return [converted[k] for k in sorted(converted, key=int)]
        return converted
    return node


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header for `payload`."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def as_bool(value: Any) -> bool:
    return str(value).lower() in ("true", "1", "yes", "on")


def as_int(value: Any, param: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Invalid integer: {value}", param=param) from None
