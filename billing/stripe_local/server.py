"""A Stripe-compatible server for loopback: the subset of Stripe's API Atrium calls, stateful, in one process.

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
"""

from __future__ import annotations

import hashlib
import hmac
import html
import itertools
import json
import os
import queue
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

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


def _as_bool(value: Any) -> bool:
    return str(value).lower() in ("true", "1", "yes", "on")


def _as_int(value: Any, param: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Invalid integer: {value}", param=param) from None


@dataclass
class Store:
    base_url: str = ""
    webhook_url: str = ""
    webhook_secret: str = "whsec_local_atrium"  # noqa: S105  (a loopback development secret, documented)
    objects: dict[str, dict[str, Obj]] = field(default_factory=dict)
    events: list[Obj] = field(default_factory=list)
    outbox: list[Obj] = field(default_factory=list)  # every event as delivered: payload + signature header
    requests_log: list[Obj] = field(default_factory=list)
    idempotent: dict[str, tuple[str, int, Obj]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))
    deliveries: queue.Queue[Obj] = field(default_factory=queue.Queue)
    state_path: str = ""  # where the objects are kept between runs (`make run`); empty: in memory only

    def save(self) -> None:
        if self.state_path:
            tmp = self.state_path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(self.objects, f)
            os.replace(tmp, self.state_path)

    def load(self) -> None:
        if self.state_path and os.path.exists(self.state_path):
            with open(self.state_path) as f:
                self.objects = json.load(f)
            self.events = sorted(self.table("event").values(), key=lambda e: e["created"])

    # --- helpers -----------------------------------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(8)}"

    def table(self, kind: str) -> dict[str, Obj]:
        return self.objects.setdefault(kind, {})

    def get(self, kind: str, object_id: str) -> Obj:
        found = self.table(kind).get(object_id)
        if found is None:
            raise ApiError(404, f"No such {kind}: '{object_id}'", code="resource_missing", param="id")
        return found

    def now_for(self, customer_id: str | None) -> int:
        """Stripe time for a customer: its test clock's frozen time, else the wall clock."""
        if customer_id:
            customer = self.table("customer").get(customer_id)
            if customer and customer.get("test_clock"):
                return int(self.get("test_helpers.test_clock", customer["test_clock"])["frozen_time"])
        return int(time.time())

    def emit(self, kind: str, obj: Obj, previous: Obj | None = None) -> Obj:
        data: Obj = {"object": json.loads(json.dumps(obj))}
        if previous:
            data["previous_attributes"] = previous
        event: Obj = {
            "id": self.new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.now_for(obj.get("customer") if obj.get("object") != "customer" else obj.get("id")),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1 if self.webhook_url else 0,
            "request": {"id": None, "idempotency_key": None},
            "type": kind,
        }
        self.table("event")[event["id"]] = event
        self.events.append(event)
        payload = json.dumps(event, indent=2)
        entry = {
            "seq": len(self.outbox) + 1,
            "id": event["id"],
            "type": kind,
            "payload": payload,
            "signature": sign(payload, self.webhook_secret),
        }
        self.outbox.append(entry)
        if self.webhook_url:
            self.deliveries.put({"url": self.webhook_url, "payload": payload, "secret": self.webhook_secret})
        return event

    def listing(self, items: list[Obj], url: str, limit: Any = None) -> Obj:
        items = sorted(items, key=lambda o: (o.get("created", 0), o["id"]), reverse=True)
        n = min(_as_int(limit, "limit"), 100) if limit else 10
        return {"object": "list", "data": items[:n], "has_more": len(items) > n, "url": url}

    # --- products and prices ----------------------------------------------------------------------------------------

    def product_create(self, p: Obj) -> Obj:
        product: Obj = {
            "id": p.get("id") or self.new_id("prod"),
            "object": "product",
            "active": _as_bool(p.get("active", "true")),
            "name": p.get("name") or "",
            "description": p.get("description"),
            "metadata": p.get("metadata") or {},
            "created": int(time.time()),
            "livemode": False,
        }
        if not product["name"]:
            raise ApiError(400, "Missing required param: name.", param="name")
        if product["id"] in self.table("product"):
            raise ApiError(400, "Product already exists.", code="resource_already_exists", param="id")
        self.table("product")[product["id"]] = product
        return product

    def product_update(self, product: Obj, p: Obj) -> Obj:
        for key in ("name", "description"):
            if key in p:
                product[key] = p[key]
        if "active" in p:
            product["active"] = _as_bool(p["active"])
        product["metadata"] = {**product["metadata"], **(p.get("metadata") or {})}
        return product

    def price_create(self, p: Obj) -> Obj:
        product = self.get("product", p.get("product", ""))
        recurring = p.get("recurring") or {}
        lookup_key = p.get("lookup_key")
        if lookup_key:
            holder = next((x for x in self.table("price").values() if x.get("lookup_key") == lookup_key), None)
            if holder is not None and not _as_bool(p.get("transfer_lookup_key", "false")):
                raise ApiError(400, f"A price with lookup key {lookup_key} already exists.", param="lookup_key")
            if holder is not None:
                holder["lookup_key"] = None
        price: Obj = {
            "id": self.new_id("price"),
            "object": "price",
            "active": True,
            "billing_scheme": "per_unit",
            "currency": (p.get("currency") or "usd").lower(),
            "lookup_key": lookup_key,
            "metadata": p.get("metadata") or {},
            "nickname": p.get("nickname"),
            "product": product["id"],
            "recurring": {
                "interval": recurring.get("interval", "month"),
                "interval_count": _as_int(recurring.get("interval_count", 1), "recurring[interval_count]"),
                "usage_type": "licensed",
            }
            if recurring
            else None,
            "type": "recurring" if recurring else "one_time",
            "unit_amount": _as_int(p.get("unit_amount", 0), "unit_amount"),
            "created": int(time.time()),
            "livemode": False,
        }
        self.table("price")[price["id"]] = price
        return price

    def prices_list(self, p: Obj) -> list[Obj]:
        prices = list(self.table("price").values())
        if p.get("lookup_keys"):
            keys = p["lookup_keys"] if isinstance(p["lookup_keys"], list) else [p["lookup_keys"]]
            prices = [x for x in prices if x.get("lookup_key") in keys]
        if p.get("product"):
            prices = [x for x in prices if x["product"] == p["product"]]
        if "active" in p:
            prices = [x for x in prices if x["active"] == _as_bool(p["active"])]
        return prices

    # --- customers and cards ---------------------------------------------------------------------------------------

    def customer_create(self, p: Obj) -> Obj:
        clock = p.get("test_clock")
        if clock:
            self.get("test_helpers.test_clock", clock)
        customer: Obj = {
            "id": self.new_id("cus"),
            "object": "customer",
            "email": p.get("email"),
            "name": p.get("name"),
            "metadata": p.get("metadata") or {},
            "invoice_settings": {"default_payment_method": None},
            "balance": 0,
            "currency": "usd",
            "delinquent": False,
            "test_clock": clock,
            "created": int(time.time()),
            "livemode": False,
        }
        self.table("customer")[customer["id"]] = customer
        customer["created"] = self.now_for(customer["id"])
        self.emit("customer.created", customer)
        return customer

    def customer_update(self, customer: Obj, p: Obj) -> Obj:
        previous: Obj = {}
        for key in ("email", "name"):
            if key in p and p[key] != customer.get(key):
                previous[key] = customer.get(key)
                customer[key] = p[key]
        if "metadata" in p:
            previous["metadata"] = dict(customer["metadata"])
            customer["metadata"] = {k: v for k, v in {**customer["metadata"], **p["metadata"]}.items() if v != ""}
        settings = p.get("invoice_settings") or {}
        if "default_payment_method" in settings:
            pm = settings["default_payment_method"] or None
            if pm:
                self.get("payment_method", pm)
            previous["invoice_settings"] = dict(customer["invoice_settings"])
            customer["invoice_settings"]["default_payment_method"] = pm
        self.emit("customer.updated", customer, previous)
        if settings.get("default_payment_method"):
            self.collect_open_invoices(customer["id"])
        return customer

    def payment_method_create(self, p: Obj) -> Obj:
        token = ((p.get("card") or {}).get("token")) or "tok_visa"
        last4 = DECLINING_CARDS.get(token, "4242")
        pm: Obj = {
            "id": self.new_id("pm"),
            "object": "payment_method",
            "type": "card",
            "card": {"brand": "visa", "last4": last4, "exp_month": 12, "exp_year": 2034, "country": "US"},
            "customer": None,
            "created": int(time.time()),
            "livemode": False,
        }
        self.table("payment_method")[pm["id"]] = pm
        return pm

    def charge_succeeds(self, customer_id: str, pm_id: str | None) -> bool:
        if not pm_id:
            return False
        pm = self.table("payment_method").get(pm_id)
        return pm is not None and pm["card"]["last4"] != "0341"

    # --- subscriptions and invoices ---------------------------------------------------------------------------------

    def _item(self, sub_id: str, price_id: str, quantity: int, start: int) -> Obj:
        price = self.get("price", price_id)
        return {
            "id": self.new_id("si"),
            "object": "subscription_item",
            "price": dict(price),
            "quantity": quantity,
            "subscription": sub_id,
            "current_period_start": start,
            "current_period_end": start + PERIOD_SECONDS[(price["recurring"] or {}).get("interval", "month")],
            "created": start,
            "metadata": {},
        }

    def subscription_create(self, p: Obj, *, payment_method: str | None = None) -> Obj:
        customer = self.get("customer", p.get("customer", ""))
        items = p.get("items") or []
        if not items:
            raise ApiError(400, "Missing required param: items.", param="items")
        now = self.now_for(customer["id"])
        sub_id = self.new_id("sub")
        trial_end: int | None = None
        if p.get("trial_end") and p["trial_end"] != "now":
            trial_end = _as_int(p["trial_end"], "trial_end")
        elif p.get("trial_period_days"):
            trial_end = now + _as_int(p["trial_period_days"], "trial_period_days") * DAY
        sub: Obj = {
            "id": sub_id,
            "object": "subscription",
            "customer": customer["id"],
            "status": "incomplete",
            "items": {
                "object": "list",
                "data": [
                    self._item(sub_id, it["price"], _as_int(it.get("quantity", 1), "quantity"), now) for it in items
                ],
                "has_more": False,
            },
            "metadata": p.get("metadata") or {},
            "created": now,
            "start_date": now,
            "billing_cycle_anchor": trial_end or now,
            "trial_start": now if trial_end else None,
            "trial_end": trial_end,
            "cancel_at_period_end": False,
            "cancel_at": None,
            "canceled_at": None,
            "ended_at": None,
            "latest_invoice": None,
            "default_payment_method": payment_method or p.get("default_payment_method"),
            "collection_method": "charge_automatically",
            "test_clock": customer.get("test_clock"),
            "currency": "usd",
            "livemode": False,
        }
        self.table("subscription")[sub_id] = sub
        if trial_end:
            for item in sub["items"]["data"]:
                item["current_period_end"] = trial_end
            sub["status"] = "trialing"
            self.emit("customer.subscription.created", sub)
            return sub
        self.emit("customer.subscription.created", sub)
        invoice = self.invoice_for(sub, reason="subscription_create", start=now)
        self.attempt(invoice, sub, first=True)
        return sub

    def _pm_for(self, sub: Obj) -> str | None:
        customer = self.get("customer", sub["customer"])
        return sub.get("default_payment_method") or customer["invoice_settings"].get("default_payment_method")

    def invoice_for(self, sub: Obj, *, reason: str, start: int) -> Obj:
        lines = [
            {
                "id": self.new_id("il"),
                "object": "line_item",
                "amount": item["price"]["unit_amount"] * item["quantity"],
                "currency": "usd",
                "description": f"{item['quantity']} x {item['price'].get('nickname') or item['price']['id']}",
                "quantity": item["quantity"],
                "period": {"start": item["current_period_start"], "end": item["current_period_end"]},
                "pricing": {"price_details": {"price": item["price"]["id"], "product": item["price"]["product"]}},
            }
            for item in sub["items"]["data"]
        ]
        total = sum(line["amount"] for line in lines)
        number = f"LOCAL-{len(self.table('invoice')) + 1:05d}"
        invoice: Obj = {
            "id": self.new_id("in"),
            "object": "invoice",
            "customer": sub["customer"],
            "number": number,
            "status": "open",
            "currency": "usd",
            "subtotal": total,
            "total": total,
            "amount_due": total,
            "amount_paid": 0,
            "amount_remaining": total,
            "attempt_count": 0,
            "attempted": False,
            "next_payment_attempt": None,
            "billing_reason": reason,
            "created": start,
            "period_start": start,
            "period_end": start,
            "lines": {"object": "list", "data": lines, "has_more": False},
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": sub["id"], "metadata": dict(sub["metadata"])},
            },
            "status_transitions": {"finalized_at": start, "paid_at": None},
            "livemode": False,
        }
        invoice["hosted_invoice_url"] = f"{self.base_url}/_local/invoices/{invoice['id']}"
        invoice["invoice_pdf"] = invoice["hosted_invoice_url"]
        self.table("invoice")[invoice["id"]] = invoice
        sub["latest_invoice"] = invoice["id"]
        self.emit("invoice.created", invoice)
        self.emit("invoice.finalized", invoice)
        return invoice

    def attempt(self, invoice: Obj, sub: Obj, *, first: bool = False) -> bool:
        """Charge the invoice with the subscription's card; the subscription's status follows."""
        now = self.now_for(sub["customer"])
        before = sub["status"]
        invoice["attempt_count"] += 1
        invoice["attempted"] = True
        if invoice["amount_due"] == 0 or self.charge_succeeds(sub["customer"], self._pm_for(sub)):
            invoice.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0)
            invoice["next_payment_attempt"] = None
            invoice["status_transitions"]["paid_at"] = now
            if sub["status"] not in ("canceled",):
                sub["status"] = "active"
            self.emit("invoice.paid", invoice)
            self.emit("invoice.payment_succeeded", invoice)
            ok = True
        else:
            if first and sub["status"] == "incomplete":
                pass
            elif sub["status"] in ("active", "trialing", "past_due"):
                sub["status"] = "past_due"
            retries = invoice["attempt_count"] - 1
            first_failure = invoice.setdefault("_first_failure", now)
            invoice["next_payment_attempt"] = (
                first_failure + RETRY_DAYS[retries] * DAY if retries < len(RETRY_DAYS) else None
            )
            self.emit("invoice.payment_failed", invoice)
            if invoice["next_payment_attempt"] is None and sub["status"] == "past_due":
                sub["status"] = "unpaid"
            ok = False
        if sub["status"] != before:
            self.emit("customer.subscription.updated", sub, {"status": before})
        return ok

    def collect_open_invoices(self, customer_id: str) -> None:
        for invoice in list(self.table("invoice").values()):
            if invoice["customer"] == customer_id and invoice["status"] == "open":
                sub = self.table("subscription").get(invoice["parent"]["subscription_details"]["subscription"])
                if sub is not None and sub["status"] != "canceled":
                    self.attempt(invoice, sub)

    def subscription_update(self, sub: Obj, p: Obj) -> Obj:
        if sub["status"] in ("canceled", "incomplete_expired"):
            raise ApiError(400, "A canceled subscription can only update its cancellation_details and metadata.")
        previous: Obj = {}
        now = self.now_for(sub["customer"])
        items = p.get("items")
        if items:
            previous["items"] = json.loads(json.dumps(sub["items"]))
            for change in items:
                target = next((i for i in sub["items"]["data"] if i["id"] == change.get("id")), None)
                if target is None and len(sub["items"]["data"]) == 1 and not change.get("id"):
                    target = sub["items"]["data"][0]
                if target is None:
                    raise ApiError(400, "Invalid subscription item id.", param="items")
                if change.get("price"):
                    price = self.get("price", change["price"])
                    interval_changed = (price["recurring"] or {}).get("interval") != (
                        target["price"]["recurring"] or {}
                    ).get("interval")
                    target["price"] = dict(price)
                    if interval_changed and sub["status"] == "active":
                        target["current_period_start"] = now
                        target["current_period_end"] = now + PERIOD_SECONDS[price["recurring"]["interval"]]
                if "quantity" in change:
                    target["quantity"] = _as_int(change["quantity"], "quantity")
        if "cancel_at_period_end" in p:
            previous["cancel_at_period_end"] = sub["cancel_at_period_end"]
            sub["cancel_at_period_end"] = _as_bool(p["cancel_at_period_end"])
            sub["cancel_at"] = sub["items"]["data"][0]["current_period_end"] if sub["cancel_at_period_end"] else None
        if "metadata" in p:
            previous["metadata"] = dict(sub["metadata"])
            sub["metadata"] = {k: v for k, v in {**sub["metadata"], **p["metadata"]}.items() if v != ""}
        if "default_payment_method" in p:
            previous["default_payment_method"] = sub["default_payment_method"]
            sub["default_payment_method"] = p["default_payment_method"] or None
        if p.get("trial_end") == "now" and sub["status"] == "trialing":
            previous["status"] = sub["status"]
            self._end_trial(sub, now)
        elif p.get("trial_end") not in (None, "", "now"):
            # A new trial end: only for a subscription still in its trial, and only in the future (Stripe's rules).
            trial_end = _as_int(p["trial_end"], "trial_end")
            if sub["status"] != "trialing":
                raise ApiError(400, "Only a subscription in its trial can have its trial end moved.", param="trial_end")
            if trial_end <= now:
                raise ApiError(400, "trial_end must be in the future.", param="trial_end")
            previous["trial_end"] = sub["trial_end"]
            sub["trial_end"] = trial_end
            sub["billing_cycle_anchor"] = trial_end
            for item in sub["items"]["data"]:
                item["current_period_end"] = trial_end
        self.emit("customer.subscription.updated", sub, previous)
        return sub

    def subscription_cancel(self, sub: Obj) -> Obj:
        if sub["status"] == "canceled":
            return sub
        now = self.now_for(sub["customer"])
        sub.update(status="canceled", canceled_at=now, ended_at=now, cancel_at_period_end=False)
        for invoice in self.table("invoice").values():
            if invoice["parent"]["subscription_details"]["subscription"] == sub["id"] and invoice["status"] == "open":
                invoice.update(status="void", next_payment_attempt=None)
        self.emit("customer.subscription.deleted", sub)
        return sub

    def _end_trial(self, sub: Obj, at: int) -> None:
        sub["trial_end"] = min(sub["trial_end"] or at, at)
        for item in sub["items"]["data"]:
            item["current_period_start"] = at
            item["current_period_end"] = at + PERIOD_SECONDS[(item["price"]["recurring"] or {})["interval"]]
        sub["status"] = "active"  # the invoice attempt below decides: paid → active, failed → past_due
        invoice = self.invoice_for(sub, reason="subscription_cycle", start=at)
        self.attempt(invoice, sub)

    def advance(self, clock: Obj, to: int) -> None:
        """Move a test clock: trial ends, renewals, payment retries and the final "unpaid", in time order."""
        if to < clock["frozen_time"]:
            raise ApiError(400, "The test clock can only move forward.", param="frozen_time")
        subs = [s for s in self.table("subscription").values() if s.get("test_clock") == clock["id"]]
        while True:
            moments: list[tuple[int, str, Obj]] = []
            for sub in subs:
                if sub["status"] in ("canceled", "incomplete_expired", "unpaid"):
                    continue
                period_end = sub["items"]["data"][0]["current_period_end"]
                if sub["status"] == "trialing" and sub["trial_end"]:
                    moments.append((sub["trial_end"], "trial_end", sub))
                elif sub["cancel_at_period_end"]:
                    moments.append((period_end, "cancel", sub))
                elif sub["status"] in ("active", "past_due"):
                    moments.append((period_end, "renew", sub))
                for invoice in self.table("invoice").values():
                    if (
                        invoice["status"] == "open"
                        and invoice["parent"]["subscription_details"]["subscription"] == sub["id"]
                        and invoice["next_payment_attempt"]
                    ):
                        moments.append((invoice["next_payment_attempt"], "retry:" + invoice["id"], sub))
            due = sorted((m for m in moments if m[0] <= to), key=lambda m: m[0])
            if not due:
                break
            at, what, sub = due[0]
            clock["frozen_time"] = at
            if what == "trial_end":
                self._end_trial(sub, at)
            elif what == "cancel":
                self.subscription_cancel(sub)
            elif what == "renew":
                for item in sub["items"]["data"]:
                    item["current_period_start"] = at
                    item["current_period_end"] = at + PERIOD_SECONDS[(item["price"]["recurring"] or {})["interval"]]
                invoice = self.invoice_for(sub, reason="subscription_cycle", start=at)
                self.attempt(invoice, sub)
            else:
                self.attempt(self.get("invoice", what.split(":", 1)[1]), sub)
        clock["frozen_time"] = to

    # --- checkout and portal ----------------------------------------------------------------------------------------

    def checkout_create(self, p: Obj) -> Obj:
        if p.get("mode") != "subscription":
            raise ApiError(400, "Only mode=subscription is served here.", param="mode")
        if not p.get("success_url"):
            raise ApiError(400, "Missing required param: success_url.", param="success_url")
        customer = self.get("customer", p.get("customer", "")) if p.get("customer") else None
        for item in p.get("line_items") or []:
            self.get("price", item.get("price", ""))
        session: Obj = {
            "id": "cs_test_" + secrets.token_hex(12),
            "object": "checkout.session",
            "mode": "subscription",
            "status": "open",
            "payment_status": "unpaid",
            "customer": customer["id"] if customer else None,
            "client_reference_id": p.get("client_reference_id"),
            "line_items": p.get("line_items") or [],
            "metadata": p.get("metadata") or {},
            "subscription_data": p.get("subscription_data") or {},
            "subscription": None,
            "success_url": p["success_url"],
            "cancel_url": p.get("cancel_url"),
            "created": int(time.time()),
            "expires_at": int(time.time()) + DAY,
            "livemode": False,
        }
        session["url"] = f"{self.base_url}/_local/checkout/{session['id']}"
        self.table("checkout.session")[session["id"]] = session
        return session

    def checkout_complete(self, session: Obj, token: str) -> Obj:
        if session["status"] != "open":
            raise ApiError(400, "This Checkout Session is no longer open.")
        customer_id = session["customer"] or self.customer_create({})["id"]
        pm = self.payment_method_create({"card": {"token": token}})
        pm["customer"] = customer_id
        if not self.charge_succeeds(customer_id, pm["id"]):
            raise ApiError(402, "Your card was declined.", code="card_declined", kind="card_error")
        self.customer_update(
            self.get("customer", customer_id), {"invoice_settings": {"default_payment_method": pm["id"]}}
        )
        data = session["subscription_data"]
        sub = self.subscription_create(
            {
                "customer": customer_id,
                "items": [{"price": i["price"], "quantity": i.get("quantity", 1)} for i in session["line_items"]],
                "metadata": data.get("metadata") or {},
                **({"trial_period_days": data["trial_period_days"]} if data.get("trial_period_days") else {}),
            },
            payment_method=pm["id"],
        )
        session.update(status="complete", payment_status="paid", subscription=sub["id"], customer=customer_id)
        self.emit("checkout.session.completed", session)
        return session

    def portal_create(self, p: Obj) -> Obj:
        customer = self.get("customer", p.get("customer", ""))
        session: Obj = {
            "id": self.new_id("bps"),
            "object": "billing_portal.session",
            "customer": customer["id"],
            "return_url": p.get("return_url"),
            "configuration": p.get("configuration"),
            "created": int(time.time()),
            "livemode": False,
        }
        session["url"] = f"{self.base_url}/_local/portal/{session['id']}"
        self.table("billing_portal.session")[session["id"]] = session
        return session


# ---------------------------------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------------------------------

ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile("^" + pattern + "$"), name)
    for method, pattern, name in [
        ("POST", r"/v1/products", "product_create"),
        ("GET", r"/v1/products", "product_list"),
        ("GET", r"/v1/products/(?P<id>[^/]+)", "product_get"),
        ("POST", r"/v1/products/(?P<id>[^/]+)", "product_update"),
        ("POST", r"/v1/prices", "price_create"),
        ("GET", r"/v1/prices", "price_list"),
        ("GET", r"/v1/prices/(?P<id>[^/]+)", "price_get"),
        ("POST", r"/v1/prices/(?P<id>[^/]+)", "price_update"),
        ("POST", r"/v1/customers", "customer_create"),
        ("GET", r"/v1/customers/(?P<id>[^/]+)", "customer_get"),
        ("POST", r"/v1/customers/(?P<id>[^/]+)", "customer_update"),
        ("POST", r"/v1/payment_methods", "pm_create"),
        ("POST", r"/v1/payment_methods/(?P<id>[^/]+)/attach", "pm_attach"),
        ("GET", r"/v1/payment_methods/(?P<id>[^/]+)", "pm_get"),
        ("POST", r"/v1/subscriptions", "sub_create"),
        ("GET", r"/v1/subscriptions", "sub_list"),
        ("GET", r"/v1/subscriptions/(?P<id>[^/]+)", "sub_get"),
        ("POST", r"/v1/subscriptions/(?P<id>[^/]+)", "sub_update"),
        ("DELETE", r"/v1/subscriptions/(?P<id>[^/]+)", "sub_cancel"),
        ("GET", r"/v1/invoices", "invoice_list"),
        ("GET", r"/v1/invoices/(?P<id>[^/]+)", "invoice_get"),
        ("POST", r"/v1/invoices/(?P<id>[^/]+)/pay", "invoice_pay"),
        ("POST", r"/v1/checkout/sessions", "checkout_create"),
        ("GET", r"/v1/checkout/sessions/(?P<id>[^/]+)", "checkout_get"),
        ("POST", r"/v1/billing_portal/sessions", "portal_create"),
        ("POST", r"/v1/billing_portal/configurations", "portal_config_create"),
        ("GET", r"/v1/billing_portal/configurations", "portal_config_list"),
        ("POST", r"/v1/billing_portal/configurations/(?P<id>[^/]+)", "portal_config_update"),
        ("POST", r"/v1/test_helpers/test_clocks", "clock_create"),
        ("GET", r"/v1/test_helpers/test_clocks/(?P<id>[^/]+)", "clock_get"),
        ("POST", r"/v1/test_helpers/test_clocks/(?P<id>[^/]+)/advance", "clock_advance"),
        ("GET", r"/v1/events", "event_list"),
        ("GET", r"/v1/events/(?P<id>[^/]+)", "event_get"),
    ]
]


def api(store: Store, name: str, path_args: dict[str, str], p: Obj, path: str) -> Obj:
    s = store
    if name == "product_create":
        return s.product_create(p)
    if name == "product_list":
        return s.listing(list(s.table("product").values()), path, p.get("limit"))
    if name == "product_get":
        return s.get("product", path_args["id"])
    if name == "product_update":
        return s.product_update(s.get("product", path_args["id"]), p)
    if name == "price_create":
        return s.price_create(p)
    if name == "price_list":
        return s.listing(s.prices_list(p), path, p.get("limit"))
    if name == "price_get":
        return s.get("price", path_args["id"])
    if name == "price_update":
        price = s.get("price", path_args["id"])
        if "active" in p:
            price["active"] = _as_bool(p["active"])
        price["metadata"] = {**price["metadata"], **(p.get("metadata") or {})}
        return price
    if name == "customer_create":
        return s.customer_create(p)
    if name == "customer_get":
        return s.get("customer", path_args["id"])
    if name == "customer_update":
        return s.customer_update(s.get("customer", path_args["id"]), p)
    if name == "pm_create":
        return s.payment_method_create(p)
    if name == "pm_get":
        return s.get("payment_method", path_args["id"])
    if name == "pm_attach":
        pm = s.get("payment_method", path_args["id"])
        pm["customer"] = s.get("customer", p.get("customer", ""))["id"]
        return pm
    if name == "sub_create":
        return s.subscription_create(p)
    if name == "sub_list":
        subs = list(s.table("subscription").values())
        if p.get("customer"):
            subs = [x for x in subs if x["customer"] == p["customer"]]
        status = p.get("status")
        if status and status != "all":
            subs = [x for x in subs if x["status"] == status]
        elif not status:
            subs = [x for x in subs if x["status"] != "canceled"]
        return s.listing(subs, path, p.get("limit"))
    if name == "sub_get":
        return s.get("subscription", path_args["id"])
    if name == "sub_update":
        return s.subscription_update(s.get("subscription", path_args["id"]), p)
    if name == "sub_cancel":
        return s.subscription_cancel(s.get("subscription", path_args["id"]))
    if name == "invoice_list":
        invoices = list(s.table("invoice").values())
        if p.get("customer"):
            invoices = [x for x in invoices if x["customer"] == p["customer"]]
        if p.get("subscription"):
            invoices = [x for x in invoices if x["parent"]["subscription_details"]["subscription"] == p["subscription"]]
        if p.get("status"):
            invoices = [x for x in invoices if x["status"] == p["status"]]
        return s.listing(invoices, path, p.get("limit"))
    if name == "invoice_get":
        return s.get("invoice", path_args["id"])
    if name == "invoice_pay":
        invoice = s.get("invoice", path_args["id"])
        if invoice["status"] != "open":
            raise ApiError(400, "Invoice is already paid." if invoice["status"] == "paid" else "Invoice is not open.")
        sub = s.get("subscription", invoice["parent"]["subscription_details"]["subscription"])
        if not s.attempt(invoice, sub):
            raise ApiError(402, "Your card was declined.", code="card_declined", kind="card_error")
        return invoice
    if name == "checkout_create":
        return s.checkout_create(p)
    if name == "checkout_get":
        return s.get("checkout.session", path_args["id"])
    if name == "portal_create":
        return s.portal_create(p)
    if name == "portal_config_create":
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
    if name == "portal_config_list":
        configs = list(s.table("billing_portal.configuration").values())
        if "active" in p:
            configs = [c for c in configs if c["active"] == (p["active"] == "true")]
        return s.listing(configs, path, p.get("limit"))
    if name == "portal_config_update":
        config = s.get("billing_portal.configuration", path_args["id"])
        for part in ("features", "business_profile", "metadata"):
            if part in p:
                config[part] = p[part] or {}
        if "active" in p:
            config["active"] = p["active"] == "true"
        return config
    if name == "clock_create":
        clock: Obj = {
            "id": s.new_id("clock"),
            "object": "test_helpers.test_clock",
            "frozen_time": _as_int(p.get("frozen_time", int(time.time())), "frozen_time"),
            "name": p.get("name"),
            "status": "ready",
            "created": int(time.time()),
            "deletes_after": int(time.time()) + 30 * DAY,
            "livemode": False,
        }
        s.table("test_helpers.test_clock")[clock["id"]] = clock
        return clock
    if name == "clock_get":
        return s.get("test_helpers.test_clock", path_args["id"])
    if name == "clock_advance":
        clock = s.get("test_helpers.test_clock", path_args["id"])
        s.advance(clock, _as_int(p.get("frozen_time"), "frozen_time"))
        return clock
    if name == "event_list":
        events = s.events
        if p.get("type"):
            events = [e for e in events if e["type"] == p["type"]]
        return s.listing(list(events), path, p.get("limit"))
    if name == "event_get":
        return s.get("event", path_args["id"])
    raise ApiError(404, f"Unrecognized request URL ({path}).")


class Handler(BaseHTTPRequestHandler):
    server_version = "AtriumLocalStripe/1"
    store: Store

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # --- plumbing ---------------------------------------------------------------------------------------------------

    def _body(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode() if length else ""

    def _send(self, status: int, body: str, content_type: str = "application/json", headers: Obj | None = None) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", "req_" + secrets.token_hex(7))
        self.send_header("Stripe-Version", API_VERSION)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _redirect(self, url: str) -> None:
        self._send(303, "", "text/plain", {"Location": url})

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        body = self._body() if method in ("POST", "DELETE") else ""
        if path.startswith("/_local/"):
            self._local(method, path, parts.query, body)
            return
        if path.startswith("/v1/"):
            self._api(method, path, parts.query, body)
            return
        self._send(404, json.dumps(ApiError(404, f"Unrecognized request URL ({path}).").body))

    def _api(self, method: str, path: str, query: str, body: str) -> None:
        s = self.store
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer sk_"):
            error = ApiError(401, "Invalid API Key provided.", kind="invalid_request_error")
            self._send(401, json.dumps(error.body))
            return
        params = decode_form(parse_qsl(query if method == "GET" else body, keep_blank_values=True))
        key = self.headers.get("Idempotency-Key", "") if method == "POST" else ""
        with s.lock:
            s.requests_log.append({"method": method, "path": path, "idempotency_key": key, "params": params})
            if key and key in s.idempotent:
                seen_path, status, answer = s.idempotent[key]
                if seen_path == path:
                    self._send(status, json.dumps(answer), headers={"Idempotent-Replayed": "true"})
                    return
            for route_method, pattern, name in ROUTES:
                match = pattern.match(path)
                if match and route_method == method:
                    try:
                        status, answer = 200, api(s, name, match.groupdict(), params, path)
                    except ApiError as exc:
                        status, answer = exc.status, exc.body
                    if key:
                        s.idempotent[key] = (path, status, answer)
                    if method != "GET":
                        s.save()
                    self._send(status, json.dumps(answer))
                    return
        self._send(404, json.dumps(ApiError(404, f"Unrecognized request URL ({method} {path}).").body))

    # --- pages and test controls ------------------------------------------------------------------------------------

    def _local(self, method: str, path: str, query: str, body: str) -> None:
        s = self.store
        form = dict(parse_qsl(body)) if body and not body.lstrip().startswith("{") else {}
        match = re.match(r"^/_local/(checkout|portal|invoices)/([A-Za-z0-9_]+)$", path)
        with s.lock:
            try:
                if path == "/_local/webhooks":
                    after = int(dict(parse_qsl(query)).get("after", 0))
                    self._send(200, json.dumps([e for e in s.outbox if e["seq"] > after]))
                elif path == "/_local/requests":
                    self._send(200, json.dumps(s.requests_log))
                elif path == "/_local/health":
                    self._send(200, json.dumps({"ok": True, "api_version": API_VERSION}))
                elif path == "/_local/config" and method == "POST":
                    config = json.loads(body or "{}")
                    if "webhook_url" in config:
                        s.webhook_url = config["webhook_url"] or ""
                    if config.get("webhook_secret"):
                        s.webhook_secret = config["webhook_secret"]
                    self._send(200, json.dumps({"webhook_url": s.webhook_url}))
                elif match and match.group(1) == "checkout":
                    self._checkout(method, s.get("checkout.session", match.group(2)), form)
                    s.save()
                elif match and match.group(1) == "portal":
                    self._portal(method, s.get("billing_portal.session", match.group(2)), form)
                    s.save()
                elif match and match.group(1) == "invoices":
                    self._send(200, _invoice_page(s.get("invoice", match.group(2))), "text/html; charset=utf-8")
                else:
                    self._send(404, "not found", "text/plain")
            except ApiError as exc:
                message = exc.body["error"]["message"]
                self._send(
                    exc.status,
                    _page("Something went wrong", f"<p class=err>{html.escape(message)}</p>"),
                    "text/html; charset=utf-8",
                )

    def _checkout(self, method: str, session: Obj, form: dict[str, str]) -> None:
        s = self.store
        if method == "POST":
            if form.get("action") == "cancel":
                self._redirect(session.get("cancel_url") or session["success_url"])
                return
            try:
                s.checkout_complete(session, form.get("card", "tok_visa"))
            except ApiError as exc:
                page = _checkout_page(s, session, error=exc.body["error"]["message"])
                self._send(402, page, "text/html; charset=utf-8")
                return
            self._redirect(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"]))
            return
        self._send(200, _checkout_page(s, session), "text/html; charset=utf-8")

    def _portal(self, method: str, session: Obj, form: dict[str, str]) -> None:
        s = self.store
        customer_id = session["customer"]
        notice = ""
        if method == "POST":
            action = form.get("action", "")
            subs = [x for x in s.table("subscription").values() if x["customer"] == customer_id]
            current = next(
                (x for x in sorted(subs, key=lambda x: x["created"], reverse=True) if x["status"] != "canceled"), None
            )
            if action == "card":
                pm = s.payment_method_create({"card": {"token": form.get("card", "tok_visa")}})
                pm["customer"] = customer_id
                s.customer_update(
                    s.get("customer", customer_id), {"invoice_settings": {"default_payment_method": pm["id"]}}
                )
                notice = "Card updated."
            elif action == "price" and current is not None:
                item = current["items"]["data"][0]
                s.subscription_update(current, {"items": [{"id": item["id"], "price": form.get("price", "")}]})
                notice = "Plan changed."
            elif action == "cancel" and current is not None:
                s.subscription_update(current, {"cancel_at_period_end": "true"})
                notice = "The subscription ends at the end of the period."
            elif action == "cancel_now" and current is not None:
                s.subscription_cancel(current)
                notice = "The subscription was canceled."
            elif action == "resume" and current is not None:
                s.subscription_update(current, {"cancel_at_period_end": "false"})
                notice = "The subscription continues."
            if form.get("return") == "1" and session.get("return_url"):
                self._redirect(session["return_url"])
                return
        self._send(200, _portal_page(s, session, notice), "text/html; charset=utf-8")


def _money(cents: int) -> str:
    return f"${cents / 100:,.2f}"


_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1b1f24}
.test{background:#ffd84d;color:#3d2f00;text-align:center;padding:.5rem;font-weight:700;letter-spacing:.04em}
main{max-width:34rem;margin:2rem auto;background:#fff;border:1px solid #dde1e6;border-radius:12px;padding:1.5rem 2rem}
h1{font-size:1.3rem;margin:.2rem 0 1rem}table{width:100%;border-collapse:collapse}td,th{padding:.4rem 0;text-align:left}
.muted{color:#5b6470}.err{color:#b42318;font-weight:600}.ok{color:#067647;font-weight:600}
button{font:inherit;padding:.55rem 1rem;border-radius:8px;border:1px solid #c9ced6;background:#fff;cursor:pointer}
button.primary{background:#4f46e5;color:#fff;border-color:#4f46e5}form{margin:.75rem 0}
select{font:inherit;padding:.4rem}
label{display:block;margin:.5rem 0 .25rem;font-weight:600}
"""


def _page(title: str, content: str) -> str:
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)} · TEST MODE</title>"
        f"<style>{_STYLE}</style></head><body><div class=test role=note>TEST MODE — local Stripe-compatible server, "
        f"no real money moves</div><main>{content}</main></body></html>"
    )


_CARDS = (
    "<label for=card>Card</label><select id=card name=card>"
    '<option value="tok_visa">Visa •••• 4242 (payments succeed)</option>'
    '<option value="tok_chargeDeclined">Visa •••• 0341 (payments are declined)</option></select>'
)


def _checkout_page(s: Store, session: Obj, error: str = "") -> str:
    rows, total = [], 0
    for item in session["line_items"]:
        price = s.get("price", item["price"])
        product = s.get("product", price["product"])
        quantity = int(item.get("quantity", 1))
        total += price["unit_amount"] * quantity
        interval = (price["recurring"] or {}).get("interval", "month")
        rows.append(
            f"<tr><td>{html.escape(product['name'])} x {quantity} seat{'s' if quantity != 1 else ''}</td>"
            f"<td>{_money(price['unit_amount'] * quantity)} / {interval}</td></tr>"
        )
    if session["status"] != "open":
        return _page("Checkout", "<h1>This checkout is complete.</h1>")
    return _page(
        "Checkout",
        f"<h1>Subscribe</h1>{f'<p class=err role=alert>{html.escape(error)}</p>' if error else ''}"
        f"<table>{''.join(rows)}<tr><th>Total due today</th><th>{_money(total)}</th></tr></table>"
        f"<form method=post>{_CARDS}<p><button class=primary type=submit name=action value=pay>Subscribe</button> "
        f"<button type=submit name=action value=cancel>Cancel</button></p></form>",
    )


def _portal_page(s: Store, session: Obj, notice: str) -> str:
    customer = s.get("customer", session["customer"])
    subs = sorted(
        (x for x in s.table("subscription").values() if x["customer"] == customer["id"]),
        key=lambda x: x["created"],
        reverse=True,
    )
    current = next((x for x in subs if x["status"] != "canceled"), None)
    parts = [f"<h1>Billing for {html.escape(customer.get('name') or customer.get('email') or customer['id'])}</h1>"]
    if notice:
        parts.append(f"<p class=ok role=status>{html.escape(notice)}</p>")
    pm_id = customer["invoice_settings"].get("default_payment_method")
    pm = s.table("payment_method").get(pm_id or "")
    parts.append(f"<p>Card: {'Visa •••• ' + pm['card']['last4'] if pm else '<span class=muted>none</span>'}</p>")
    parts.append(
        f"<form method=post><input type=hidden name=action value=card>{_CARDS} "
        "<button type=submit>Update card</button></form>"
    )
    if current is not None:
        item = current["items"]["data"][0]
        product = s.get("product", item["price"]["product"])
        parts.append(
            f"<p>Plan: <strong>{html.escape(product['name'])}</strong>, {item['quantity']} seats, status "
            f"<strong>{current['status']}</strong>"
            f"{' (ends at period end)' if current['cancel_at_period_end'] else ''}</p>"
        )
        options = "".join(
            f"<option value={p['id']}>{html.escape(s.get('product', p['product'])['name'])} · "
            f"{_money(p['unit_amount'])} per seat / {(p['recurring'] or {}).get('interval')}</option>"
            for p in s.table("price").values()
            if p["active"] and p.get("lookup_key") and p["id"] != item["price"]["id"]
        )
        parts.append(
            f"<form method=post><input type=hidden name=action value=price><label for=price>Switch plan</label>"
            f"<select id=price name=price>{options}</select> <button type=submit>Switch</button></form>"
        )
        if current["cancel_at_period_end"]:
            parts.append(
                "<form method=post><button type=submit name=action value=resume>Keep the subscription</button></form>"
            )
        else:
            parts.append(
                "<form method=post><button type=submit name=action value=cancel>Cancel at period end</button></form>"
            )
    if session.get("return_url"):
        parts.append(f'<p><a href="{html.escape(session["return_url"])}">Return to Atrium</a></p>')
    return _page("Customer portal", "".join(parts))


def _invoice_page(invoice: Obj) -> str:
    lines = "".join(
        f"<tr><td>{html.escape(x['description'])}</td><td>{_money(x['amount'])}</td></tr>"
        for x in invoice["lines"]["data"]
    )
    return _page(
        f"Invoice {invoice['number']}",
        f"<h1>Invoice {html.escape(invoice['number'])}</h1><p>Status: <strong>{invoice['status']}</strong></p>"
        f"<table>{lines}<tr><th>Total</th><th>{_money(invoice['total'])}</th></tr></table>",
    )


# ---------------------------------------------------------------------------------------------------------------------
# Webhook delivery and serving
# ---------------------------------------------------------------------------------------------------------------------


def _deliver_forever(store: Store) -> None:
    """POST each event to the webhook endpoint, signed at send time; retried on failure (0.5 s, 2 s, 5 s)."""
    while True:
        job = store.deliveries.get()
        for delay in (0.0, 0.5, 2.0, 5.0):
            time.sleep(delay)
            request = urllib.request.Request(  # noqa: S310  (loopback endpoint configured by the operator)
                job["url"],
                data=job["payload"].encode(),
                headers={"Content-Type": "application/json", "Stripe-Signature": sign(job["payload"], job["secret"])},
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    if 200 <= response.status < 300:
                        break
            except (urllib.error.URLError, OSError, TimeoutError):
                continue


def serve(
    host: str, port: int, *, webhook_url: str = "", webhook_secret: str = "", state_path: str = ""
) -> ThreadingHTTPServer:
    """Bind and return the server (call `serve_forever()`); the delivery thread is started here."""
    store = Store(base_url=f"http://{host}:{port}", webhook_url=webhook_url, state_path=state_path)
    store.load()
    if webhook_secret:
        store.webhook_secret = webhook_secret
    handler = type("BoundHandler", (Handler,), {"store": store})
    httpd = ThreadingHTTPServer((host, port), handler)
    httpd.daemon_threads = True
    if port == 0:
        store.base_url = f"http://{host}:{httpd.server_address[1]}"
    threading.Thread(target=_deliver_forever, args=(store,), daemon=True).start()
    return httpd


__all__ = ["API_VERSION", "HTTPStatus", "Store", "decode_form", "serve", "sign"]
