"""Sending one webhook over HTTP, safely: the one module that talks to receivers.

The URL's host is resolved when the request is sent, and every address it resolves to must be public: loopback,
private, link-local (the cloud metadata address 169.254.169.254 among them), multicast, reserved, shared (CGNAT) and
unspecified addresses are refused, in IPv4 and IPv6, including IPv4 written inside IPv6 (mapped, NAT64, 6to4).
The connection is then made to the address that was checked (the Host header and TLS name stay the URL's), so a DNS
answer that changes between the check and the connection (rebinding) cannot send it elsewhere. Redirects are not
followed: a 3xx is the receiver's answer, logged as a failure. `WEBHOOKS_ALLOW_PRIVATE_ADDRESSES` (development and
tests only) lets loopback and private addresses, and plain http, through.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from tenant_apps.webhooks.models import RESPONSE_KEEP_BYTES, URL_MAX_LENGTH

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Named on top of what `ipaddress` already calls private/reserved, for readers and for older Pythons.
_REFUSED_NETWORKS = [
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, with the cloud metadata address 169.254.169.254
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "fc00::/7",  # unique local, with AWS's IPv6 metadata address fd00:ec2::254
        "fe80::/10",
        "ff00::/8",
    )
]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeDestination(Exception):
    """The URL may not be called: why, in words for the delivery log."""


def address_refusal(address: IPAddress) -> str | None:
    """Why `address` may not be called (None: it may)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            reason = address_refusal(embedded)
            return f"{reason} (inside an IPv6 address)" if reason else None
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_private or any(address in net for net in _REFUSED_NETWORKS if net.version == address.version):
        return "a private or reserved address"
    if address.is_reserved or not address.is_global:
        return "a reserved address"
    return None


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the checked address the connection goes to


@dataclass(frozen=True)
class Shape:
    scheme: str
    host: str
    port: int
    path: str


def resolve_shape(url: str, *, allow_private: bool | None = None) -> Shape:
    """What can be said of `url` without resolving it: https (http only where private addresses are allowed), a
    host, a valid port, no credentials. An IP address written in the URL is checked here too."""
    allow = settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES if allow_private is None else allow_private
    if len(url) > URL_MAX_LENGTH:
        raise UnsafeDestination(f"The URL is longer than {URL_MAX_LENGTH} characters.")
    try:
        parts = urlsplit(url)
    except ValueError as error:
        raise UnsafeDestination("That is not a URL.") from error
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or (scheme == "http" and not allow):
        raise UnsafeDestination("Use an https:// URL.")
    if parts.username or parts.password:
        raise UnsafeDestination("URLs with a user name or password are not called.")
    host = parts.hostname or ""
    if not host:
        raise UnsafeDestination("The URL has no host.")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as error:
        raise UnsafeDestination("The URL's port is not a number from 1 to 65535.") from error
    if not allow:
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            reason = address_refusal(literal)
            if reason:
                raise UnsafeDestination(f"{host} is {reason}: not called.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Shape(scheme=scheme, host=host, port=port, path=path)


def resolve(url: str, *, allow_private: bool | None = None) -> Destination:
    """Check `url` and resolve its host now; the address to connect to, or UnsafeDestination."""
    allow = settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES if allow_private is None else allow_private
    shape = resolve_shape(url, allow_private=allow)
    host, port = shape.host, shape.port
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeDestination(f"{host} does not resolve.") from error
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise UnsafeDestination(f"{host} does not resolve.")
    if not allow:
        for address in addresses:
            reason = address_refusal(address)
            if reason:
                raise UnsafeDestination(f"{host} resolves to {address}, {reason}: not called.")
    return Destination(scheme=shape.scheme, host=host, port=port, path=shape.path, address=str(addresses[0]))


@dataclass(frozen=True)
class Answer:
    status: int | None
    body: str
    duration_ms: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, destination: Destination, timeout: float) -> None:
        super().__init__(destination.host, destination.port, timeout=timeout)
        self._address = destination.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, destination: Destination, timeout: float) -> None:
        super().__init__(destination.host, destination.port, timeout=timeout, context=ssl.create_default_context())
        self._address = destination.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(url: str, *, body: bytes, headers: dict[str, str], timeout: float | None = None) -> Answer:
    """POST `body` to `url` (checked and resolved now), never following a redirect. Network errors and refusals come
    back as an Answer without a status, with the error in words."""
    limit = settings.WEBHOOKS_TIMEOUT_SECONDS if timeout is None else timeout
    started = time.perf_counter()

    def elapsed() -> int:
        return int((time.perf_counter() - started) * 1000)

    try:
        destination = resolve(url)
    except UnsafeDestination as refusal:
        return Answer(status=None, body="", duration_ms=elapsed(), error=str(refusal))
    connection_class = _PinnedHTTPSConnection if destination.scheme == "https" else _PinnedHTTPConnection
    conn = connection_class(destination, limit)
    try:
        conn.request("POST", destination.path, body=body, headers=headers)
        response = conn.getresponse()
        received = response.read(RESPONSE_KEEP_BYTES)
        return Answer(status=response.status, body=received.decode("utf-8", "replace"), duration_ms=elapsed())
    except (OSError, http.client.HTTPException) as error:
        kind = "timed out" if isinstance(error, TimeoutError | socket.timeout) else type(error).__name__
        return Answer(status=None, body="", duration_ms=elapsed(), error=f"{kind}: {error}"[:300])
    finally:
        conn.close()
