"""A DNS server on loopback that answers TXT questions from a dict the test writes (for a server in another process,
where `dns_client.resolver_set` cannot reach): point it at `IDENTITY_DNS_NAMESERVER=127.0.0.1:<port>`."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


@dataclass
class LoopbackDns:
    port: int
    records: dict[str, list[str]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    @property
    def nameserver(self) -> str:
        return f"127.0.0.1:{self.port}"

    def answer(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text().rstrip(".").lower()
        self.asked.append(name)
        values = self.records.get(name, []) if question.rdtype == dns.rdatatype.TXT else []
        if values:
            texts = ['"' + v.replace('"', '\\"') + '"' for v in values]
            response.answer.append(dns.rrset.from_text_list(question.name, 60, "IN", "TXT", texts))
        else:
            response.set_rcode(dns.rcode.NXDOMAIN)
        return bytes(response.to_wire())


@contextmanager
def running_dns() -> Iterator[LoopbackDns]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    server = LoopbackDns(port=int(sock.getsockname()[1]))
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                wire, address = sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                sock.sendto(server.answer(wire), address)
            except Exception:  # noqa: BLE001, S112 (a malformed question gets no answer, as from a real server)
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(timeout=2)
        sock.close()
