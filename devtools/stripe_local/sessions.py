"""Checkout and billing portal sessions: created through the API, completed on the server's TEST MODE pages."""

from __future__ import annotations

import secrets
import time

from devtools.stripe_local.store import Store
from devtools.stripe_local.wire import DAY, ApiError, Obj, as_int

# Stripe's rule for a Checkout Session's `subscription_data.trial_end`.
TRIAL_END_MIN = 2 * DAY


def checkout_create(store: Store, p: Obj) -> Obj:
    if p.get("mode") != "subscription":
        raise ApiError(400, "Only mode=subscription is served here.", param="mode")
    if not p.get("success_url"):
        raise ApiError(400, "Missing required param: success_url.", param="success_url")
    customer = store.get("customer", p.get("customer", "")) if p.get("customer") else None
    for item in p.get("line_items") or []:
        store.get("price", item.get("price", ""))
    data = dict(p.get("subscription_data") or {})
    if data.get("trial_end") not in (None, ""):
        data["trial_end"] = as_int(data["trial_end"], "subscription_data[trial_end]")
        if data["trial_end"] < store.now_for(customer["id"] if customer else None) + TRIAL_END_MIN:
            raise ApiError(
                400,
                "subscription_data.trial_end must be at least 48 hours in the future.",
                param="subscription_data[trial_end]",
            )
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
        "subscription_data": data,
        "subscription": None,
        "success_url": p["success_url"],
        "cancel_url": p.get("cancel_url"),
        "created": int(time.time()),
        "expires_at": int(time.time()) + DAY,
        "livemode": False,
    }
    session["url"] = f"{store.base_url}/_local/checkout/{session['id']}"
    store.table("checkout.session")[session["id"]] = session
    return session


def checkout_complete(store: Store, session: Obj, token: str) -> Obj:
    if session["status"] != "open":
        raise ApiError(400, "This Checkout Session is no longer open.")
    customer_id = session["customer"] or store.customer_create({})["id"]
    pm = store.payment_method_create({"card": {"token": token}})
    pm["customer"] = customer_id
    if not store.charge_succeeds(customer_id, pm["id"]):
        raise ApiError(402, "Your card was declined.", code="card_declined", kind="card_error")
    store.customer_update(
        store.get("customer", customer_id), {"invoice_settings": {"default_payment_method": pm["id"]}}
    )
    data = session["subscription_data"]
    sub = store.subscription_create(
        {
            "customer": customer_id,
            "items": [{"price": i["price"], "quantity": i.get("quantity", 1)} for i in session["line_items"]],
            "metadata": data.get("metadata") or {},
            **({"trial_period_days": data["trial_period_days"]} if data.get("trial_period_days") else {}),
            **({"trial_end": data["trial_end"]} if data.get("trial_end") else {}),
        },
        payment_method=pm["id"],
    )
    session.update(status="complete", payment_status="paid", subscription=sub["id"], customer=customer_id)
    store.emit("checkout.session.completed", session)
    return session


def portal_create(store: Store, p: Obj) -> Obj:
    customer = store.get("customer", p.get("customer", ""))
    session: Obj = {
        "id": store.new_id("bps"),
        "object": "billing_portal.session",
        "customer": customer["id"],
        "return_url": p.get("return_url"),
        "configuration": p.get("configuration"),
        "created": int(time.time()),
        "livemode": False,
    }
    session["url"] = f"{store.base_url}/_local/portal/{session['id']}"
    store.table("billing_portal.session")[session["id"]] = session
    return session
