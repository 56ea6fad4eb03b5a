"""Passkeys as allauth stores them (an Authenticator of type WebAuthn). The credential is left empty: pages and the
policy read only the name and the row's existence; real ceremonies run in the browser test
(tests/e2e/test_passkeys_journey.py)."""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator


def passkey_for(user: Any, name: str = "Laptop", *, passwordless: bool = True) -> Authenticator:
    credential = {"clientExtensionResults": {"credProps": {"rk": passwordless}}}
    return Authenticator.objects.create(
        user=user, type=Authenticator.Type.WEBAUTHN, data={"name": name, "credential": credential}
    )
