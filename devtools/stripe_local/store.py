"""The local Stripe server's state: every object by kind, the events emitted, and the operations on them (products,
prices, customers and cards, subscriptions, invoices and their payment attempts, test clocks). Kept in a JSON file
between runs when asked."""

from __future__ import annotations

import itertools
import json
import os
import queue
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from devtools.stripe_local.wire import (
    API_VERSION,
    DAY,
    DECLINING_CARDS,
    PERIOD_SECONDS,
    RETRY_DAYS,
    ApiError,
    Obj,
    as_bool,
    as_int,
    sign,
)


@dataclass
class Store:
    """Every object the server holds, the events it emitted and the requests it served; one lock for all."""

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
        n = min(as_int(limit, "limit"), 100) if limit else 10
        return {"object": "list", "data": items[:n], "has_more": len(items) > n, "url": url}

    # --- products and prices ----------------------------------------------------------------------------------------

    def product_create(self, p: Obj) -> Obj:
        product: Obj = {
            "id": p.get("id") or self.new_id("prod"),
            "object": "product",
            "active": as_bool(p.get("active", "true")),
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
            product["active"] = as_bool(p["active"])
        product["metadata"] = {**product["metadata"], **(p.get("metadata") or {})}
        return product

    def price_create(self, p: Obj) -> Obj:
        product = self.get("product", p.get("product", ""))
        recurring = p.get("recurring") or {}
        lookup_key = p.get("lookup_key")
        if lookup_key:
            holder = next((x for x in self.table("price").values() if x.get("lookup_key") == lookup_key), None)
            if holder is not None and not as_bool(p.get("transfer_lookup_key", "false")):
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
                "interval_count": as_int(recurring.get("interval_count", 1), "recurring[interval_count]"),
                "usage_type": "licensed",
            }
            if recurring
            else None,
            "type": "recurring" if recurring else "one_time",
            "unit_amount": as_int(p.get("unit_amount", 0), "unit_amount"),
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
            prices = [x for x in prices if x["active"] == as_bool(p["active"])]
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
            trial_end = as_int(p["trial_end"], "trial_end")
        elif p.get("trial_period_days"):
            trial_end = now + as_int(p["trial_period_days"], "trial_period_days") * DAY
        sub: Obj = {
            "id": sub_id,
            "object": "subscription",
            "customer": customer["id"],
            "status": "incomplete",
            "items": {
                "object": "list",
                "data": [
                    self._item(sub_id, it["price"], as_int(it.get("quantity", 1), "quantity"), now) for it in items
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
                    target["quantity"] = as_int(change["quantity"], "quantity")
        if "cancel_at_period_end" in p:
            previous["cancel_at_period_end"] = sub["cancel_at_period_end"]
            sub["cancel_at_period_end"] = as_bool(p["cancel_at_period_end"])
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
            trial_end = as_int(p["trial_end"], "trial_end")
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
