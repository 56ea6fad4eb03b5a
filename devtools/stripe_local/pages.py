"""The TEST MODE pages: Checkout, the billing portal and invoices, plain HTML with inline styles (no Django)."""

from __future__ import annotations

import html
import time

from devtools.stripe_local.store import Store
from devtools.stripe_local.wire import Obj


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


def page(title: str, content: str) -> str:
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


def checkout_page(s: Store, session: Obj, error: str = "") -> str:
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
        return page("Checkout", "<h1>This checkout is complete.</h1>")
    trial_end = session["subscription_data"].get("trial_end")
    if trial_end:  # the card is taken now, the first charge comes when the trial ends
        day = time.strftime("%b %-d, %Y", time.gmtime(int(trial_end)))
        rows.append(f"<tr><td>Free trial until {day}</td><td>then {_money(total)} on {day}</td></tr>")
        total = 0
    return page(
        "Checkout",
        f"<h1>Subscribe</h1>{f'<p class=err role=alert>{html.escape(error)}</p>' if error else ''}"
        f"<table>{''.join(rows)}<tr><th>Total due today</th><th>{_money(total)}</th></tr></table>"
        f"<form method=post>{_CARDS}<p><button class=primary type=submit name=action value=pay>Subscribe</button> "
        f"<button type=submit name=action value=cancel>Cancel</button></p></form>",
    )


def portal_page(s: Store, session: Obj, notice: str) -> str:
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
    return page("Customer portal", "".join(parts))


def invoice_page(invoice: Obj) -> str:
    lines = "".join(
        f"<tr><td>{html.escape(x['description'])}</td><td>{_money(x['amount'])}</td></tr>"
        for x in invoice["lines"]["data"]
    )
    return page(
        f"Invoice {invoice['number']}",
        f"<h1>Invoice {html.escape(invoice['number'])}</h1><p>Status: <strong>{invoice['status']}</strong></p>"
        f"<table>{lines}<tr><th>Total</th><th>{_money(invoice['total'])}</th></tr></table>",
    )
