"""The one wrapper around DNS (dnspython): TXT records of a name, with a short timeout. Tests put a resolver of their
own in (`resolver_set`), so no test asks the real DNS."""

from __future__ import annotations

from typing import Any, Protocol

import dns.exception
import dns.resolver
from django.conf import settings

TIMEOUT_S = 3.0


class TxtResolver(Protocol):
    def txt(self, name: str) -> list[str]: ...


class DnsUnavailable(Exception):
    """The DNS could not be asked (timeout, no servers): not an answer about the record."""


class _Dnspython:
    def txt(self, name: str) -> list[str]:
        nameserver = str(getattr(settings, "IDENTITY_DNS_NAMESERVER", "") or "")
        if nameserver:
            host, _, port = nameserver.rpartition(":")
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers, resolver.port = [host], int(port)
        else:
            resolver = dns.resolver.Resolver()
        resolver.lifetime = TIMEOUT_S
        try:
            answer: Any = resolver.resolve(name, "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
            return []
        except dns.exception.DNSException as exc:
            raise DnsUnavailable(str(exc)) from exc
        values = []
        for record in answer:
            values.append(b"".join(record.strings).decode("utf-8", "replace"))
        return values


_resolver: list[TxtResolver] = []


def resolver_set(resolver: TxtResolver | None) -> None:
    """Use `resolver` for every lookup (None: back to the real DNS)."""
    _resolver.clear()
    if resolver is not None:
        _resolver.append(resolver)


def current_resolver() -> TxtResolver | None:
    return _resolver[0] if _resolver else None


def txt_records(name: str) -> list[str]:
    return (_resolver[0] if _resolver else _Dnspython()).txt(name)
