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
import math
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
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


_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


class _DeadlineMixin:
    """A socket whose every send and receive may only use what is left of the attempt's time: the timeout is a total
    for the attempt (connect, send, read), not a fresh 10 s for each socket operation, so a receiver trickling its
    answer a byte at a time is cut off when the time is up."""

    deadline: float = math.inf

    def _arm(self) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the attempt's time is up")
        self.settimeout(remaining)  # type: ignore[attr-defined]

    def _ack_at_once(self) -> None:
        # Acknowledge what arrives at once (Linux resets this after each ACK, hence every read). Many receivers write
        # an answer's headers and body separately, the second write held by Nagle's algorithm until the first is
        # acknowledged: with delayed ACKs every answer on a kept connection would wait about 40 ms.
        if _QUICKACK is not None:
            self.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)  # type: ignore[attr-defined]

    def recv(self, *args: Any) -> bytes:
        self._arm()
        self._ack_at_once()
        return super().recv(*args)  # type: ignore[misc]

    def recv_into(self, *args: Any) -> int:
        self._arm()
        self._ack_at_once()
        return super().recv_into(*args)  # type: ignore[misc]

    def send(self, *args: Any) -> int:
        self._arm()
        return super().send(*args)  # type: ignore[misc]

    def sendall(self, *args: Any) -> None:
        self._arm()
        super().sendall(*args)  # type: ignore[misc]


class _DeadlineSocket(_DeadlineMixin, socket.socket):
    pass


class _DeadlineSSLSocket(_DeadlineMixin, ssl.SSLSocket):
    pass


def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.sslsocket_class = _DeadlineSSLSocket
    return context


_TLS = _tls_context()


def _connect(address: str, port: int, deadline: float) -> _DeadlineSocket:
    """A TCP connection to the checked address (never a name: nothing is resolved again here)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = _DeadlineSocket(family, socket.SOCK_STREAM)
    try:
        sock.deadline = deadline
        sock._arm()
        sock.connect((address, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except BaseException:
        sock.close()
        raise
    return sock


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to the checked address, with the URL's host in the Host header (and as the TLS name)."""

    def __init__(self, destination: Destination) -> None:
        super().__init__(destination.host, destination.port)
        self._address = destination.address
        self.deadline = math.inf
        self.used = 0.0

    def deadline_set(self, deadline: float) -> None:
        self.deadline = deadline
        if isinstance(self.sock, _DeadlineMixin):
            self.sock.deadline = deadline

    def connect(self) -> None:
        self.sock = _connect(self._address, self.port, self.deadline)


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    def connect(self) -> None:
        sock = _connect(self._address, self.port, self.deadline)
        tls = _TLS.wrap_socket(sock, server_hostname=self.host, do_handshake_on_connect=False)
        tls.deadline = self.deadline  # type: ignore[attr-defined]
        tls.settimeout(max(self.deadline - time.monotonic(), 0.001))
        tls.do_handshake()
        self.sock = tls


# --- connections kept open between requests ------------------------------------------------------------------------
# Keyed by the checked address as well as the URL's host: a connection is reused only for a request whose URL was
# just resolved to that same address and found allowed, so reuse never skips the check (nor follows a rebinding).

_Key = tuple[str, str, int, str]
_idle: dict[_Key, list[_PinnedHTTPConnection]] = {}
_idle_lock = threading.Lock()
IDLE_KEEP_SECONDS = 30.0  # receivers commonly close idle connections after 60 s or more; stay well under
IDLE_PER_HOST = 8


def _key(destination: Destination) -> _Key:
    return (destination.scheme, destination.host, destination.port, destination.address)


def _checkout(destination: Destination) -> _PinnedHTTPConnection | None:
    fresh_after = time.monotonic() - IDLE_KEEP_SECONDS
    with _idle_lock:
        kept = _idle.get(_key(destination)) or []
        while kept:
            conn = kept.pop()
            if conn.used >= fresh_after:
                return conn
            conn.close()
    return None


def _checkin(destination: Destination, conn: _PinnedHTTPConnection) -> None:
    conn.used = time.monotonic()
    with _idle_lock:
        kept = _idle.setdefault(_key(destination), [])
        if len(kept) < IDLE_PER_HOST:
            kept.append(conn)
            return
    conn.close()


def connections_close() -> None:
    """Close every kept connection (tests; a process that forks)."""
    with _idle_lock:
        kept = [conn for conns in _idle.values() for conn in conns]
        _idle.clear()
    for conn in kept:
        conn.close()


# --- sending -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    url: str
    body: bytes
    headers: dict[str, str]


def post(url: str, *, body: bytes, headers: dict[str, str], timeout: float | None = None) -> Answer:
    """POST `body` to `url` (checked and resolved now), never following a redirect. Network errors and refusals come
    back as an Answer without a status, with the error in words. `timeout` is the whole attempt's."""
    return post_many([Outgoing(url, body, headers)], timeout=timeout)[0]


def post_many(requests: Sequence[Outgoing], *, timeout: float | None = None) -> list[Answer]:
    """Send every request, concurrently (at most WEBHOOKS_SEND_CONCURRENCY at once); the answers in the same order.
    Requests to one URL go one after the other over one kept-alive connection; the URL is resolved and checked
    once per call, when its first request is about to be sent."""
    limit = settings.WEBHOOKS_TIMEOUT_SECONDS if timeout is None else timeout
    groups: dict[str, list[int]] = {}
    for index, request in enumerate(requests):
        groups.setdefault(request.url, []).append(index)
    answers: list[Answer | None] = [None] * len(requests)

    def run(url: str) -> None:
        indexes = groups[url]
        for index, answer in zip(indexes, _send_group(url, [requests[i] for i in indexes], limit), strict=True):
            answers[index] = answer

    if len(groups) == 1:
        run(next(iter(groups)))
    else:
        list(_pool().map(run, groups))
    return [answer for answer in answers if answer is not None]


_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=settings.WEBHOOKS_SEND_CONCURRENCY, thread_name_prefix="webhooks-send"
            )
        return _executor


def _send_group(url: str, requests: Sequence[Outgoing], limit: float) -> list[Answer]:
    started = time.monotonic()
    try:
        destination = resolve(url)
    except UnsafeDestination as refusal:
        took = int((time.monotonic() - started) * 1000)
        return [Answer(status=None, body="", duration_ms=took, error=str(refusal)) for _ in requests]
    answers = []
    for request in requests:
        answers.append(_send_one(destination, request, started, limit))
        started = time.monotonic()
    return answers


def _send_one(destination: Destination, request: Outgoing, started: float, limit: float) -> Answer:
    deadline = started + limit
    conn = _checkout(destination) or _new_connection(destination)
    try:
        return _exchange(conn, destination, request, started, (deadline, limit))
    except _Stale:
        # The receiver closed the kept connection while it was idle (nothing was read): once more on a new one.
        return _exchange(_new_connection(destination), destination, request, started, (deadline, limit))


class _Stale(Exception):
    pass


def _new_connection(destination: Destination) -> _PinnedHTTPConnection:
    connection_class = _PinnedHTTPSConnection if destination.scheme == "https" else _PinnedHTTPConnection
    return connection_class(destination)


def _exchange(
    conn: _PinnedHTTPConnection,
    destination: Destination,
    request: Outgoing,
    started: float,
    time_box: tuple[float, float],
) -> Answer:
    deadline, limit = time_box
    reused = conn.sock is not None
    conn.deadline_set(deadline)

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    keep = False
    try:
        conn.request("POST", destination.path, body=request.body, headers=request.headers)
        response = conn.getresponse()
        received = response.read(RESPONSE_KEEP_BYTES)
        if not response.will_close and _drain(response):
            keep = True
        return Answer(status=response.status, body=received.decode("utf-8", "replace"), duration_ms=took())
    except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as error:
        if reused and time.monotonic() < deadline:
            raise _Stale from error
        return Answer(status=None, body="", duration_ms=took(), error=_error_words(error, deadline, limit))
    except (OSError, http.client.HTTPException) as error:
        return Answer(status=None, body="", duration_ms=took(), error=_error_words(error, deadline, limit))
    finally:
        if keep:
            _checkin(destination, conn)
        else:
            conn.close()


def _drain(response: http.client.HTTPResponse) -> bool:
    """Read what is left of a short answer so the connection can carry the next request; a long one closes it."""
    try:
        response.read(RESPONSE_KEEP_BYTES * 4)
    except (OSError, http.client.HTTPException):
        return False
    return response.isclosed()


def _error_words(error: BaseException, deadline: float, limit: float) -> str:
    if isinstance(error, TimeoutError | socket.timeout) or time.monotonic() >= deadline:
        return f"timed out: no complete answer within {limit:g} s"
    return f"{type(error).__name__}: {error}"[:300]
