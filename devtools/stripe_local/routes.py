"""The API's routes: each (method, path pattern) points at the function that answers it, given the store, the path's
arguments and the decoded parameters. `answer` finds the route; the table is the only list of what is served."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from devtools.stripe_local import sessions
from devtools.stripe_local.store import Store
from devtools.stripe_local.wire import DAY, ApiError, Obj, as_bool, as_int

# (store, path arguments, parameters, path) -> the answer
Endpoint = Callable[[Store, dict[str, str], Obj, str], Obj]


def _listing(kind: str) -> Endpoint:
    return lambda s, a, p, path: s.listing(list(s.table(kind).values()), path, p.get("limit"))


def _get(kind: str) -> Endpoint:
    return lambda s, a, p, path: s.get(kind, a["id"])


def _price_update(s: Store, a: dict[str, str], p: Obj, path: str) -> Obj:
    price = s.get("price", a["id"])
    if "active" in p:
        price["active"] = as_bool(p["active"])
    price["metadata"] = {**price["metadata"], **(p.get("metadata") or {})}
    return price


def _payment_method_attach(s: Store, a: dict[str, str], p: Obj, path: str) -> Obj:
    pm = s.get("payment_method", a["id"])
    pm["customer"] = s.get("customer", p.get("customer", ""))["id"]
    return pm


def _subscription_list(s: Store, a: dict[str, str], p: Obj, path: str) -> Obj:
    subs = list(s.table("subscription").values())
    if p.get("customer"):
        subs = [x for x in subs if x["customer"] == p["customer"]]
    status = p.get("status")
    if status and status != "all":
        subs = [x for x in subs if x["status"] == status]
    elif not status:
        subs = [x for x in subs if x["status"] != "canceled"]
    return s.listing(subs, path, p.get("limit"))


def _invoice_list(s: Store, a: dict[str, str], p: Obj, path: str) -> Obj:
    invoices = list(s.table("invoice").values())
    if p.get("customer"):
        invoices = [x for x in invoices if x["customer"] == p["customer"]]
    if p.get("subscription"):
        invoices = [x for x in invoices if x["parent"]["subscription_details"]["subscription"] == p["subscription"]]
    if p.get("status"):
        invoices = [x for x in invoices if x["status"] == p["status"]]
    return s.listing(invoices, path, p.get("limit"))


def _invoice_pay(s: Store, a: dict[str, str], p: Obj, path: str) -> Obj:
    invoice = s.get("invoice", a["id"])
    if invoice["status"] != "open":
        raise ApiError(400, "Invoice is already paid." if invoice["status"] == "paid" else "Invoice is not open.")
    sub = s.get("subscription", invoice["parent"]["subscription_details"]["subscription"])
    if not s.attempt(invoice, sub):
        raise ApiError(402, "Your card was declined.", code="card_declined", kind="card_error")
    return invoice


def _portal_config_create(s: Store, a: dict[str, str], p: Obj, path: str) -> Obj:
    config: Obj = {
        "id": s.new_id("bpc"),
        "object": "billing_portal.configuration",
        "active": True,
        "features": p.get("features") or {},
        "business_profile": p.get("business_profile") or {},
        "metadata": p.get("metadata") or {},
        "created": int(time.time()),
        "livemode": False,
    }
    s.table("billing_portal.configuration")[config["id"]] = config
    return config


def _portal_config_list(s: Store, a: dict[str, str], p: Obj, path: str) -> Obj:
    configs = list(s.table("billing_portal.configuration").values())
    if "active" in p:
        configs = [c for c in configs if c["active"] == (p["active"] == "true")]
    return s.listing(configs, path, p.get("limit"))


def _portal_config_update(s: Store, a: dict[str, str], p: Obj, path: str) -> Obj:
    config = s.get("billing_portal.configuration", a["id"])
    for part in ("features", "business_profile", "metadata"):
        if part in p:
            config[part] = p[part] or {}
    if "active" in p:
        config["active"] = p["active"] == "true"
    return config


def _clock_create(s: Store, a: dict[str, str], p: Obj, path: str) -> Obj:
    clock: Obj = {
        "id": s.new_id("clock"),
        "object": "test_helpers.test_clock",
        "frozen_time": as_int(p.get("frozen_time", int(time.time())), "frozen_time"),
        "name": p.get("name"),
        "status": "ready",
        "created": int(time.time()),
        "deletes_after": int(time.time()) + 30 * DAY,
        "livemode": False,
    }
    s.table("test_helpers.test_clock")[clock["id"]] = clock
    return clock


def _clock_advance(s: Store, a: dict[str, str], p: Obj, path: str) -> Obj:
    clock = s.get("test_helpers.test_clock", a["id"])
    s.advance(clock, as_int(p.get("frozen_time"), "frozen_time"))
    return clock


def _event_list(s: Store, a: dict[str, str], p: Obj, path: str) -> Obj:
    events = s.events
    if p.get("type"):
        events = [e for e in events if e["type"] == p["type"]]
    return s.listing(list(events), path, p.get("limit"))


_ID = r"(?P<id>[^/]+)"
_TABLE: list[tuple[str, str, Endpoint]] = [
    ("POST", r"/v1/products", lambda s, a, p, path: s.product_create(p)),
    ("GET", r"/v1/products", _listing("product")),
    ("GET", rf"/v1/products/{_ID}", _get("product")),
    ("POST", rf"/v1/products/{_ID}", lambda s, a, p, path: s.product_update(s.get("product", a["id"]), p)),
    ("POST", r"/v1/prices", lambda s, a, p, path: s.price_create(p)),
    ("GET", r"/v1/prices", lambda s, a, p, path: s.listing(s.prices_list(p), path, p.get("limit"))),
    ("GET", rf"/v1/prices/{_ID}", _get("price")),
    ("POST", rf"/v1/prices/{_ID}", _price_update),
    ("POST", r"/v1/customers", lambda s, a, p, path: s.customer_create(p)),
    ("GET", rf"/v1/customers/{_ID}", _get("customer")),
    ("POST", rf"/v1/customers/{_ID}", lambda s, a, p, path: s.customer_update(s.get("customer", a["id"]), p)),
    ("POST", r"/v1/payment_methods", lambda s, a, p, path: s.payment_method_create(p)),
    ("POST", rf"/v1/payment_methods/{_ID}/attach", _payment_method_attach),
    ("GET", rf"/v1/payment_methods/{_ID}", _get("payment_method")),
    ("POST", r"/v1/subscriptions", lambda s, a, p, path: s.subscription_create(p)),
    ("GET", r"/v1/subscriptions", _subscription_list),
    ("GET", rf"/v1/subscriptions/{_ID}", _get("subscription")),
    (
        "POST",
        rf"/v1/subscriptions/{_ID}",
        lambda s, a, p, path: s.subscription_update(s.get("subscription", a["id"]), p),
    ),
    (
        "DELETE",
        rf"/v1/subscriptions/{_ID}",
        lambda s, a, p, path: s.subscription_cancel(s.get("subscription", a["id"])),
    ),
    ("GET", r"/v1/invoices", _invoice_list),
    ("GET", rf"/v1/invoices/{_ID}", _get("invoice")),
    ("POST", rf"/v1/invoices/{_ID}/pay", _invoice_pay),
    ("POST", r"/v1/checkout/sessions", lambda s, a, p, path: sessions.checkout_create(s, p)),
    ("GET", rf"/v1/checkout/sessions/{_ID}", _get("checkout.session")),
    ("POST", r"/v1/billing_portal/sessions", lambda s, a, p, path: sessions.portal_create(s, p)),
    ("POST", r"/v1/billing_portal/configurations", _portal_config_create),
    ("GET", r"/v1/billing_portal/configurations", _portal_config_list),
    ("POST", rf"/v1/billing_portal/configurations/{_ID}", _portal_config_update),
    ("POST", r"/v1/test_helpers/test_clocks", _clock_create),
    ("GET", rf"/v1/test_helpers/test_clocks/{_ID}", _get("test_helpers.test_clock")),
    ("POST", rf"/v1/test_helpers/test_clocks/{_ID}/advance", _clock_advance),
    ("GET", r"/v1/events", _event_list),
    ("GET", rf"/v1/events/{_ID}", _get("event")),
]
ROUTES: list[tuple[str, re.Pattern[str], Endpoint]] = [
    (method, re.compile("^" + pattern + "$"), endpoint) for method, pattern, endpoint in _TABLE
]


def route(method: str, path: str) -> tuple[Endpoint, dict[str, str]] | None:
    """The endpoint serving `method path`, with the path's arguments; None if nothing does."""
    for route_method, pattern, endpoint in ROUTES:
        match = pattern.match(path)
        if match and route_method == method:
            return endpoint, match.groupdict()
    return None
