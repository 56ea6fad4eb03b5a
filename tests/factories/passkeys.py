"""Passkeys as allauth stores them (an Authenticator of type WebAuthn holding the browser's registration response).
The registration is a real one in form — a "none" attestation over authenticator data with a fresh ES256 key — so
allauth and fido2 parse it like any other; real ceremonies run in the browser test (tests/e2e/test_passkeys_journey.py).
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from allauth.mfa.models import Authenticator
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from fido2.cose import ES256
from fido2.utils import websafe_encode
from fido2.webauthn import Aaguid, AttestationObject, AttestedCredentialData, AuthenticatorData


def registration_response(*, passwordless: bool = True) -> dict[str, Any]:
    """What the browser posts after `navigator.credentials.create()` (WebAuthn's JSON form)."""
    credential_id = os.urandom(16)
    key = ES256.from_cryptography_key(ec.generate_private_key(ec.SECP256R1()).public_key())
    flags = AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.UV | AuthenticatorData.FLAG.AT
    auth_data = AuthenticatorData.create(
        hashlib.sha256(settings.BASE_DOMAIN.encode()).digest(),
        flags,
        0,
        AttestedCredentialData.create(Aaguid.NONE, credential_id, key),
    )
    client_data = {"type": "webauthn.create", "challenge": websafe_encode(os.urandom(32)), "origin": "https://x"}
    return {
        "id": websafe_encode(credential_id),
        "rawId": websafe_encode(credential_id),
        "type": "public-key",
        "response": {
            "clientDataJSON": websafe_encode(json.dumps(client_data).encode()),
            "attestationObject": websafe_encode(bytes(AttestationObject.create("none", auth_data, {}))),
        },
        "clientExtensionResults": {"credProps": {"rk": passwordless}},
    }


def passkey_for(user: Any, name: str = "Laptop", *, passwordless: bool = True) -> Authenticator:
    return Authenticator.objects.create(
        user=user,
        type=Authenticator.Type.WEBAUTHN,
        data={"name": name, "credential": registration_response(passwordless=passwordless)},
    )
