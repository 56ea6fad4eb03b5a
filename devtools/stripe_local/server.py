"""The local Stripe server over HTTP: the API (`/v1/…`, routed by `routes`), the TEST MODE pages and test controls
(`/_local/…`), and a thread that delivers each event, signed, to the webhook endpoint."""

from __future__ import annotations

import html
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from devtools.stripe_local import sessions
from devtools.stripe_local.pages import checkout_page, invoice_page, page, portal_page
from devtools.stripe_local.routes import route
from devtools.stripe_local.store import Store
from devtools.stripe_local.wire import API_VERSION, ApiError, Obj, decode_form, sign


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
            found = route(method, path)
            if found is not None:
                endpoint, path_args = found
                try:
                    status, answer = 200, endpoint(s, path_args, params, path)
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
                    self._send(200, invoice_page(s.get("invoice", match.group(2))), "text/html; charset=utf-8")
                else:
                    self._send(404, "not found", "text/plain")
            except ApiError as exc:
                message = exc.body["error"]["message"]
                self._send(
                    exc.status,
                    page("Something went wrong", f"<p class=err>{html.escape(message)}</p>"),
                    "text/html; charset=utf-8",
                )

    def _checkout(self, method: str, session: Obj, form: dict[str, str]) -> None:
        s = self.store
        if method == "POST":
            if form.get("action") == "cancel":
                self._redirect(session.get("cancel_url") or session["success_url"])
                return
            try:
                sessions.checkout_complete(s, session, form.get("card", "tok_visa"))
            except ApiError as exc:
                page = checkout_page(s, session, error=exc.body["error"]["message"])
                self._send(402, page, "text/html; charset=utf-8")
                return
            self._redirect(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"]))
            return
        self._send(200, checkout_page(s, session), "text/html; charset=utf-8")

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
        self._send(200, portal_page(s, session, notice), "text/html; charset=utf-8")


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
