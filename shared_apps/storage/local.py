"""Signed URLs of the filesystem backend: what S3's presigned GET and POST are, made by the app itself.

A download URL is `/files/<key>?e=<expiry>&d=<Content-Disposition>&t=<Content-Type>&s=<signature>`, an upload is a
form POSTed to `/files/upload/` whose `policy` pins the key, the size range and the expiry, signed like S3's. Both are
HMAC-SHA256 with a key derived from SECRET_KEY for this purpose only; they expire, and any change to the key, the
headers or the policy breaks the signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, urlencode

from django.conf import settings
from django.utils.translation import gettext as _

from shared_apps.core.errors import ApplicationError
from shared_apps.storage.keys import key_check

URL_PREFIX = "/files/"
UPLOAD_PATH = "/files/upload/"


class SignatureRefused(ApplicationError):
    """A signed URL or upload form that was tampered with, or has expired."""


@lru_cache(maxsize=4)
def _derived(secret: str) -> bytes:
    return hashlib.sha256(b"atrium.storage.local-signing\x00" + secret.encode()).digest()


def _mac(message: str) -> str:
    return hmac.new(_derived(settings.SECRET_KEY), message.encode(), hashlib.sha256).hexdigest()


def download_url(key: str, *, expires_at: int, disposition: str, content_type: str) -> str:
    signature = _mac(f"GET\n{key}\n{expires_at}\n{disposition}\n{content_type}")
    query = urlencode({"e": expires_at, "d": disposition, "t": content_type, "s": signature}, quote_via=quote)
    return f"{URL_PREFIX}{quote(key, safe='/')}?{query}"


@dataclass(frozen=True)
class DownloadGrant:
    key: str
    disposition: str
    content_type: str


def download_verify(key: str, *, expires: str, disposition: str, content_type: str, signature: str) -> DownloadGrant:
    key_check(key)
    if not expires.isdigit() or len(expires) > 12:
        raise SignatureRefused(_("This link is not valid."))
    expected = _mac(f"GET\n{key}\n{expires}\n{disposition}\n{content_type}")
    if not hmac.compare_digest(expected, signature):
        raise SignatureRefused(_("This link is not valid."))
    if int(expires) < time.time():
        raise SignatureRefused(_("This link has expired: go back and download the file again."))
    return DownloadGrant(key=key, disposition=disposition, content_type=content_type)


def upload_fields(key: str, *, min_bytes: int, max_bytes: int, expires_at: int) -> dict[str, str]:
    policy = base64.b64encode(
        json.dumps({"key": key, "min": min_bytes, "max": max_bytes, "exp": expires_at}, sort_keys=True).encode()
    ).decode()
    return {"key": key, "policy": policy, "signature": _mac(f"POST\n{policy}")}


@dataclass(frozen=True)
class UploadPolicy:
    key: str
    min_bytes: int
    max_bytes: int
    expires_at: int


def upload_verify(*, key: str, policy: str, signature: str) -> UploadPolicy:
    if not hmac.compare_digest(_mac(f"POST\n{policy}"), signature):
        raise SignatureRefused(_("The upload form was changed or is not Atrium's."))
    try:
        data = json.loads(base64.b64decode(policy, validate=True))
        parsed = UploadPolicy(
            key=str(data["key"]), min_bytes=int(data["min"]), max_bytes=int(data["max"]), expires_at=int(data["exp"])
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise SignatureRefused(_("The upload form was changed or is not Atrium's.")) from exc
    if parsed.key != key:
        raise SignatureRefused(_("The upload form names another file."))
    if parsed.expires_at < time.time():
        raise SignatureRefused(_("The upload form has expired: start the upload again."))
    key_check(parsed.key)
    return parsed
