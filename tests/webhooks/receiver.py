"""A webhook receiver on loopback for the tests and the benchmark: records every request and verifies its signature
with the receivers' own libraries (standardwebhooks, and svix's verifier of the same specification)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook as StandardWebhook
from svix.webhooks import Webhook as SvixWebhook


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """`answers[path]`: a list of status codes answered in turn (the last one repeats); "sleep:N" waits N seconds
    before answering 200; "barrier:…" waits at `barrier` (200 once it opens, 500 if it breaks). Unknown paths answer
    200."""

    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    answers: dict[str, list[Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    barrier: threading.Barrier | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def url(self, path: str) -> str:
        return self.base + path

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def wait_for(self, count: int, *, path: str | None = None, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.at(path) if path else list(self.received)
            if len(got) >= count:
                return got
            time.sleep(0.01)
        return self.at(path) if path else list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def verify_both(secret: str, item: Received) -> dict[str, Any]:
    """The body, verified by standardwebhooks and by svix (each raises if the signature is wrong)."""
    payload = StandardWebhook(secret).verify(item.body, item.headers)
    SvixWebhook(secret).verify(item.body, item.headers)  # returns nothing; raises on a bad signature
    return payload


def start_receiver() -> Receiver:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            with receiver.lock:
                receiver.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
                )
                plan = receiver.answers.get(self.path) or [200]
                answer = plan.pop(0) if len(plan) > 1 else plan[0]
            if isinstance(answer, str) and answer.startswith("sleep:"):
                time.sleep(float(answer.split(":", 1)[1]))
                answer = 200
            elif isinstance(answer, str) and answer.startswith("barrier:"):
                try:
                    assert receiver.barrier is not None
                    receiver.barrier.wait()
                    answer = 200
                except threading.BrokenBarrierError:
                    answer = 500
            text = b"<b>not html</b> " + str(answer).encode()
            self.send_response(int(answer))
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(server=server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver
