"""Every cache key allauth uses to protect an account is global (the same on every host), never per schema."""

from __future__ import annotations

import ast
from pathlib import Path

import allauth
import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.core.cache import cache

from shared_apps.accounts.models import User
from tenants.cache import is_global
from tenants.db import connection
from tenants.models import Tenant

_CACHE_METHODS = {"add", "get", "set", "delete", "get_many", "set_many", "incr", "touch", "get_or_set"}
_KEY_NAMES = {"key", "cache_key", "lock_key"}


def _installed_allauth_modules() -> list[Path]:
    """allauth's source files for the parts Atrium installs (core, account, socialaccount and its providers in
    INSTALLED_APPS, mfa, usersessions), without tests."""
    root = Path(allauth.__file__).parent
    installed = {app.removeprefix("allauth.").replace(".", "/") for app in settings.INSTALLED_APPS if "allauth" in app}
    files = []
    for path in root.rglob("*.py"):
        relative = path.relative_to(root).as_posix()
        if "/tests/" in relative or relative.startswith("tests/"):
            continue
        if relative.startswith("core/") or any(relative.startswith(part + "/") for part in installed if part):
            if "/providers/" in relative and not any(
                relative.startswith(p + "/") for p in installed if "providers" in p
            ):
                continue
            files.append(path)
    return files


# Strings the walk meets that are not cache keys, and why.
NOT_CACHE_KEYS = {
    "_emailaddress_cache": "an attribute name on the user object",
    "mfa-auth-user-": "a rate-limit key, hashed into an allauth:rl:… cache key",
}


def _head(node: ast.expr, lists: dict[str, ast.List]) -> str | None:
    """The literal text a key expression starts with (the part before its first placeholder)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return str(node.values[0].value)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join" and node.args:
        parts = node.args[0]
        if isinstance(parts, ast.Name):
            parts = lists.get(parts.id, parts)
        separator = node.func.value
        if isinstance(parts, ast.List) and parts.elts and isinstance(separator, ast.Constant):
            first = parts.elts[0]
            return f"{first.value!s}{separator.value!s}" if isinstance(first, ast.Constant) else None
    return None


def allauth_cache_key_heads() -> dict[str, str]:
    """{literal head of a cache key: where allauth builds it}."""
    heads: dict[str, str] = {}
    for path in _installed_allauth_modules():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            candidates: list[ast.expr] = []
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in _CACHE_METHODS:
                if getattr(node.func.value, "id", None) == "cache":  # type: ignore[attr-defined]
                    candidates += node.args[:1] + [k.value for k in node.keywords if k.arg == "key"]
            elif isinstance(node, ast.Assign) and any(getattr(t, "id", None) in _KEY_NAMES for t in node.targets):
                candidates.append(node.value)
            elif isinstance(node, ast.FunctionDef) and "key" in node.name:
                candidates += [n.value for n in ast.walk(node) if isinstance(n, ast.Return) and n.value is not None]
            lists = (
                {
                    target.id: n.value
                    for n in ast.walk(node)
                    if isinstance(n, ast.Assign) and isinstance(n.value, ast.List)
                    for target in n.targets
                    if isinstance(target, ast.Name)
                }
                if isinstance(node, ast.FunctionDef)
                else {}
            )
            for candidate in candidates:
                head = _head(candidate, lists)
                if head:
                    heads[head] = f"{path.name}:{getattr(candidate, 'lineno', '?')}"
    return heads


def test_the_walk_finds_allauths_rate_limit_and_used_code_keys() -> None:
    heads = allauth_cache_key_heads()

    assert any(h.startswith("allauth.mfa.totp.used") for h in heads), heads
    assert any(h.startswith("allauth:") for h in heads), heads


def test_every_allauth_cache_key_is_global() -> None:
    local = {
        head: where
        for head, where in allauth_cache_key_heads().items()
        if not is_global(head + "x") and head not in NOT_CACHE_KEYS
    }

    assert local == {}, f"allauth cache keys that would be per schema: {local}"


@pytest.mark.usefixtures("owner")
def test_a_used_totp_code_is_used_on_every_host(tenant: Tenant, other_tenant: Tenant, in_tenant) -> None:
    """The replay across hosts: the "already used" mark written on workspace B is seen on A and on the root."""

    user = User.objects.get(email="owner@acme.test")
    totp = TOTP.__new__(TOTP)
    totp.instance = type("Authenticator", (), {"user_id": user.pk})()

    with in_tenant(other_tenant):
        assert totp._mark_code_used("123456") is True
    with in_tenant(tenant):
        assert totp._mark_code_used("123456") is False
    connection.set_schema_to_public()
    assert totp._mark_code_used("123456") is False


def test_ordinary_keys_stay_per_schema(tenant: Tenant, other_tenant: Tenant, in_tenant) -> None:
    with in_tenant(tenant):
        cache.set("page-fragment", "acme")
    with in_tenant(other_tenant):
        assert cache.get("page-fragment") is None
