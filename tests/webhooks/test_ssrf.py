"""The SSRF guard: a URL is resolved when it is called and refused when any address is loopback, private, link-local
(cloud metadata), multicast or reserved, in IPv4 and IPv6; the connection goes to the address that was checked; a
redirect is not followed. WEBHOOKS_ALLOW_PRIVATE_ADDRESSES (tests and development only) lets loopback through."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

from tenant_apps.webhooks import transport
from tenant_apps.webhooks.transport import UnsafeDestination, address_refusal

REFUSED = [
    "127.0.0.1",
    "127.255.255.254",
    "0.0.0.0",  # noqa: S104
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",  # AWS, GCP, Azure metadata
    "169.254.0.1",
    "100.64.0.1",  # carrier-grade NAT
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "198.18.0.1",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd00:ec2::254",  # AWS metadata over IPv6
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:169.254.169.254",
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
]
ALLOWED = ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", REFUSED)
def test_private_and_special_addresses_are_refused(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


def _resolving_to(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> list[str]:
    asked: list[str] = []

    def fake(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        try:
            ipaddress.ip_address(host)
            found = [host]  # an address (the connection to the checked one): as the system resolver answers
        except ValueError:
            asked.append(host)
            if host not in answers:
                raise socket.gaierror("no such host") from None
            found = answers[host]
        family = {4: socket.AF_INET, 6: socket.AF_INET6}
        return [(family[ipaddress.ip_address(a).version], socket.SOCK_STREAM, 6, "", (a, port)) for a in found]

    monkeypatch.setattr(transport.socket, "getaddrinfo", fake)
    return asked


@pytest.mark.parametrize("address", REFUSED)
def test_a_hostname_resolving_to_a_refused_address_is_refused(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    _resolving_to(monkeypatch, {"hooks.example.com": ["93.184.215.14", address]})
    with pytest.raises(UnsafeDestination):
        transport.resolve("https://hooks.example.com/in", allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://[::1]/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:10.0.0.1]/",
        "http://hooks.example.com/",  # plain http
        "ftp://hooks.example.com/",
        "https://user:pass@hooks.example.com/",
        "https:///nohost",
        "https://hooks.example.com:99999/",
    ],
)
def test_urls_refused_before_resolving(url: str) -> None:
    with pytest.raises(UnsafeDestination):
        transport.resolve_shape(url, allow_private=False)


def test_a_public_hostname_passes_and_names_the_checked_address(monkeypatch: pytest.MonkeyPatch) -> None:
    _resolving_to(monkeypatch, {"hooks.example.com": ["93.184.215.14"]})
    destination = transport.resolve("https://hooks.example.com/in?x=1", allow_private=False)
    assert destination.address == "93.184.215.14"
    assert destination.path == "/in?x=1"


def test_a_refused_url_is_logged_as_a_failed_attempt_and_never_called(monkeypatch, settings) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    _resolving_to(monkeypatch, {"internal.example.com": ["10.0.0.5"]})
    answer = transport.post("https://internal.example.com/", body=b"{}", headers={})
    assert answer.status is None
    assert "10.0.0.5" in answer.error


def test_the_connection_goes_to_the_checked_address_with_the_urls_host(monkeypatch, receiver) -> None:
    # DNS rebinding: the name is resolved once; the connection is made to that address, never resolved again.
    asked = _resolving_to(monkeypatch, {"rebind.example.com": ["127.0.0.1"]})
    port = receiver.server.server_port
    answer = transport.post(f"http://rebind.example.com:{port}/pinned", body=b"{}", headers={}, timeout=5)
    assert answer.status == 200
    assert asked == ["rebind.example.com"]
    [got] = receiver.at("/pinned")
    assert got.headers["host"] == f"rebind.example.com:{port}"


def test_redirects_are_not_followed(receiver) -> None:
    receiver.answers["/moved"] = [302]
    answer = transport.post(receiver.url("/moved"), body=b"{}", headers={}, timeout=5)
    assert answer.status == 302
    assert not answer.ok
    assert len(receiver.received) == 1
