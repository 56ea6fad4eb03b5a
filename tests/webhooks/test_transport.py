"""Sending over HTTP: the timeout is the whole attempt's, connections are kept and reused per checked address, and
requests to different endpoints go out at once."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from tenant_apps.webhooks import transport
from tests.webhooks.test_ssrf import _resolving_to

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


@dataclass
class RawServer:
    """A loopback server speaking HTTP by hand: `answer(conn)` writes each response; counts connections."""

    sock: socket.socket
    answer: Callable[[socket.socket], None]
    close_after_answer: bool = False
    connections: int = 0
    requests: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            buffer = b""
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, rest = buffer.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                while len(rest) < length:
                    rest += conn.recv(65536)
                buffer = rest[length:]
                self.requests += 1
                try:
                    self.answer(conn)
                except OSError:
                    return
                if self.close_after_answer:
                    return


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawServer]]:
    made: list[RawServer] = []

    def make(answer: Callable[[socket.socket], None], *, close_after_answer: bool = False) -> RawServer:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        server = RawServer(sock=sock, answer=answer, close_after_answer=close_after_answer)
        threading.Thread(target=server.serve, daemon=True).start()
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop.set()
        server.sock.close()


def test_the_timeout_is_for_the_whole_attempt_not_each_read(raw_server) -> None:
    stop = threading.Event()

    def trickle(conn: socket.socket) -> None:
        # the answer one byte every 0.1 s: each read gets a byte well within the timeout (≈ 7 s in all)
        for byte in RESPONSE:
            conn.sendall(bytes([byte]))
            if stop.wait(0.1):
                return

    server = raw_server(trickle)
    try:
        answer = transport.post(server.url, body=b"{}", headers={}, timeout=1.0)
    finally:
        stop.set()
    assert answer.status is None
    assert "timed out" in answer.error
    # cut off when the second was up, not after the ≈ 7 s the trickle takes
    assert 900 <= answer.duration_ms < 3000


def test_a_complete_answer_within_the_time_is_delivered(raw_server) -> None:
    server = raw_server(lambda conn: conn.sendall(RESPONSE))
    answer = transport.post(server.url, body=b"{}", headers={}, timeout=5.0)
    assert answer.status == 200
    assert answer.body == "ok"


def test_requests_to_one_endpoint_share_one_kept_connection(raw_server) -> None:
    server = raw_server(lambda conn: conn.sendall(RESPONSE))
    answers = [transport.post(server.url, body=b"{}", headers={}, timeout=5.0) for _ in range(3)]
    answers += transport.post_many([transport.Outgoing(server.url, b"{}", {}) for _ in range(3)], timeout=5.0)
    assert [a.status for a in answers] == [200] * 6
    assert server.requests == 6
    assert server.connections == 1


def test_a_kept_connection_the_receiver_closed_is_replaced_without_a_failed_attempt(raw_server) -> None:
    server = raw_server(lambda conn: conn.sendall(RESPONSE), close_after_answer=True)
    first = transport.post(server.url, body=b"{}", headers={}, timeout=5.0)
    second = transport.post(server.url, body=b"{}", headers={}, timeout=5.0)
    assert (first.status, second.status) == (200, 200)
    assert server.connections == 2
    assert server.requests == 2


def test_a_kept_connection_is_used_only_for_the_address_just_checked(monkeypatch, receiver) -> None:
    # A connection is kept for rebind.example.com at 127.0.0.1. The next attempt resolves the name again; it now
    # answers 127.0.0.2 (where nothing listens): the request goes there, not over the connection kept for the old
    # address, so a changed DNS answer is never served by a connection to an address checked earlier.
    port = receiver.server.server_port
    answers = {"rebind.example.com": ["127.0.0.1"]}
    _resolving_to(monkeypatch, answers)
    assert transport.post(f"http://rebind.example.com:{port}/kept", body=b"{}", headers={}, timeout=5).status == 200
    answers["rebind.example.com"] = ["127.0.0.2"]
    answer = transport.post(f"http://rebind.example.com:{port}/kept", body=b"{}", headers={}, timeout=5)
    assert answer.status is None
    assert "Refused" in answer.error
    assert len(receiver.at("/kept")) == 1


def test_requests_to_different_endpoints_are_sent_at_once(receiver) -> None:
    # Each answer waits until three requests are in (a barrier): sent one after another, the first would wait out
    # the barrier's timeout and come back 500.
    barrier = threading.Barrier(3, timeout=5)
    receiver.answers.update({f"/together/{n}": [f"barrier:{n}"] for n in range(3)})
    receiver.barrier = barrier
    answers = transport.post_many(
        [transport.Outgoing(receiver.url(f"/together/{n}"), b"{}", {}) for n in range(3)], timeout=8
    )
    assert [a.status for a in answers] == [200, 200, 200]
