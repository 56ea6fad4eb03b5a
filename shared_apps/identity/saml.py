"""SAML 2.0 for a workspace's single sign-on, the one module that speaks to python3-saml (OneLogin's toolkit, signatures
checked by the `xmlsec` binding): the service provider's own certificate, the identity provider's metadata, the
settings of one connection, and the check of a response.

Every workspace is a service provider of its own: entity id `<root>/accounts/saml/ws-<key>/metadata/`, assertion
consumer service `<root>/accounts/saml/ws-<key>/acs/` (a random key: the URLs name neither the workspace nor its id).
A response is accepted only when it is signed by one of the connection's certificates (one, or two during a
change-over), names this connection's entity id as its audience and its ACS as destination and recipient, is within
its validity window, answers a request this browser made, and has not been seen before."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.core.cache import caches
from django.utils.translation import gettext as _
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from shared_apps.identity import secrets as secret_box
from shared_apps.identity.models import SsoConnection
from tenants.selectors import root_url

METADATA_MAX_BYTES = 1_000_000
METADATA_TIMEOUT_S = 5
SEEN_PREFIX = "identity:saml:assertion:"


class SamlError(Exception):
    """Metadata or a certificate that cannot be used (the message says why, for the admin)."""


@dataclass(frozen=True)
class IdpMetadata:
    entity_id: str
    sso_url: str
    certificates: list[str]


@dataclass(frozen=True)
class CertificateInfo:
    subject: str
    not_after: dt.datetime
    fingerprint: str  # SHA-256 of the DER, hex, colon-separated

    @property
    def expired(self) -> bool:
        return self.not_after <= dt.datetime.now(tz=dt.UTC)


@dataclass
class SamlResult:
    name_id: str
    attributes: dict[str, list[str]]
    assertion_id: str
    in_response_to: str
    name_id_format: str = ""
    session_index: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    # what allauth's SAML provider reads of a response
    def get_attributes(self) -> dict[str, list[str]]:
        return self.attributes

    def get_nameid(self) -> str:
        return self.name_id

    def get_nameid_format(self) -> str:
        return self.name_id_format


class SamlRefused(Exception):
    """A response Atrium refuses: `reason` is a short code for the audit log, `detail` the toolkit's words."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail[:300]


# -- certificates ---------------------------------------------------------------------------------------------------


def _der_b64(text: str) -> str:
    """A certificate as base64 DER without armour or whitespace, from PEM or bare base64."""
    body = re.sub(r"-----(BEGIN|END) CERTIFICATE-----", "", text or "")
    return re.sub(r"\s+", "", body)


def certificate_clean(text: str) -> str:
    """The certificate in `text` (PEM or base64), checked to be one X.509 certificate; SamlError otherwise."""
    value = _der_b64(text)
    if not value or len(value) > 20_000:
        raise SamlError(_("Paste one X.509 certificate (PEM, -----BEGIN CERTIFICATE-----)."))
    try:
        x509.load_der_x509_certificate(base64.b64decode(value, validate=True))
    except ValueError as exc:
        raise SamlError(_("That is not an X.509 certificate (PEM, -----BEGIN CERTIFICATE-----).")) from exc
    return value


def certificate_info(value: str) -> CertificateInfo:
    der = base64.b64decode(value)
    cert = x509.load_der_x509_certificate(der)
    digest = hashlib.sha256(der).hexdigest().upper()
    return CertificateInfo(
        subject=cert.subject.rfc4514_string()[:200],
        not_after=cert.not_valid_after_utc,
        fingerprint=":".join(digest[i : i + 2] for i in range(0, len(digest), 2)),
    )


def certificate_pem(value: str) -> str:
    lines = [value[i : i + 64] for i in range(0, len(value), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def sp_keypair_make(*, common_name: str) -> tuple[str, str]:
    """A new signing certificate for Atrium's side of one connection (self-signed, RSA 2048, ten years) and its
    private key (PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    now = dt.datetime.now(tz=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    cert_b64 = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert_b64, key_pem


# -- the identity provider's metadata ---------------------------------------------------------------------------------


def metadata_fetch(url: str) -> str:
    """The metadata document at `url` (already checked to be https, or loopback where allowed)."""
    request = urllib.request.Request(url, headers={"Accept": "application/samlmetadata+xml, text/xml"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=METADATA_TIMEOUT_S) as response:  # noqa: S310 (scheme checked)
            body = response.read(METADATA_MAX_BYTES + 1)
    except (OSError, ValueError) as exc:
        raise SamlError(
            _("The metadata could not be read from that URL (%(error)s).") % {"error": type(exc).__name__}
        ) from exc
    if len(body) > METADATA_MAX_BYTES:
        raise SamlError(_("That metadata is over 1 MB."))
    return body.decode("utf-8", "replace")


def metadata_parse(xml: str) -> IdpMetadata:
    """The identity provider's entity id, its single sign-on URL (HTTP-Redirect binding) and signing certificates."""
    if not xml.strip() or "\x00" in xml or len(xml) > METADATA_MAX_BYTES:
        raise SamlError(_("Upload the identity provider's SAML metadata (an XML file under 1 MB)."))
    try:
        parsed = OneLogin_Saml2_IdPMetadataParser.parse(xml)
    except Exception as exc:
        raise SamlError(_("That is not SAML metadata of an identity provider (an XML EntityDescriptor).")) from exc
    idp = parsed.get("idp") or {}
    entity_id = str(idp.get("entityId") or "")
    sso_url = str((idp.get("singleSignOnService") or {}).get("url") or "")
    multi = (idp.get("x509certMulti") or {}).get("signing") or []
    certificates = [_der_b64(c) for c in (multi or [idp.get("x509cert") or ""]) if c]
    if not entity_id or len(entity_id) > 500:
        raise SamlError(_("The metadata names no identity provider (entityID)."))
    if not sso_url.startswith(("https://", "http://")) or len(sso_url) > 500:
        raise SamlError(_("The metadata has no single sign-on service with the HTTP-Redirect binding."))
    if not certificates:
        raise SamlError(_("The metadata has no signing certificate: Atrium accepts only signed assertions."))
    if len(certificates) > 2:
        raise SamlError(
            _("The metadata has more than two signing certificates; keep at most two during a change-over.")
        )
    return IdpMetadata(entity_id=entity_id, sso_url=sso_url, certificates=[certificate_clean(c) for c in certificates])


# -- one connection's settings ----------------------------------------------------------------------------------------


def sp_entity_id(connection: SsoConnection) -> str:
    return f"{root_url()}/accounts/saml/{connection.provider_id}/metadata/"


def sp_acs_url(connection: SsoConnection) -> str:
    return f"{root_url()}/accounts/saml/{connection.provider_id}/acs/"


def _settings(connection: SsoConnection) -> dict[str, Any]:
    return {
        "strict": True,
        "debug": False,
        "sp": {
            "entityId": sp_entity_id(connection),
            "assertionConsumerService": {
                "url": sp_acs_url(connection),
                "binding": OneLogin_Saml2_Constants.BINDING_HTTP_POST,
            },
            "NameIDFormat": OneLogin_Saml2_Constants.NAMEID_EMAIL_ADDRESS,
            "x509cert": connection.sp_certificate,
            "privateKey": secret_box.decrypt(connection.sp_private_key_encrypted),
        },
        "idp": {
            "entityId": connection.idp_entity_id,
            "singleSignOnService": {
                "url": connection.idp_sso_url,
                "binding": OneLogin_Saml2_Constants.BINDING_HTTP_REDIRECT,
            },
            "x509certMulti": {"signing": list(connection.idp_certificates)},
        },
        "security": {
            "authnRequestsSigned": True,
            "wantAssertionsSigned": True,
            "wantMessagesSigned": False,
            "wantNameId": True,
            "wantAttributeStatement": False,
            "rejectDeprecatedAlgorithm": True,
            "signatureAlgorithm": OneLogin_Saml2_Constants.RSA_SHA256,
            "digestAlgorithm": OneLogin_Saml2_Constants.SHA256,
            "requestedAuthnContext": False,
            "allowSingleLabelDomains": True,  # `localhost` in development and tests
        },
    }


def sp_metadata(connection: SsoConnection) -> str:
    metadata = OneLogin_Saml2_Settings(settings=_settings(connection), sp_validation_only=True).get_sp_metadata()
    return metadata.decode() if isinstance(metadata, bytes) else str(metadata)


def _auth(connection: SsoConnection, request_data: dict[str, Any]) -> OneLogin_Saml2_Auth:
    return OneLogin_Saml2_Auth(request_data, _settings(connection))


def login_url(connection: SsoConnection, request_data: dict[str, Any]) -> tuple[str, str]:
    """Where to send the browser (a signed AuthnRequest, HTTP-Redirect binding) and the request's id, which the
    response must name in InResponseTo."""
    auth = _auth(connection, request_data)
    url = auth.login(return_to="")
    return url, str(auth.get_last_request_id())


def _reason(detail: str) -> str:
    text = detail.lower()
    for needle, reason in (
        ("no signature", "unsigned"),
        ("not signed", "unsigned"),
        ("deprecated signature", "weak_signature"),
        ("signature validation failed", "bad_signature"),
        ("signed element", "bad_signature"),
        ("audience", "wrong_audience"),
        ("destination", "wrong_recipient"),
        ("was received at", "wrong_recipient"),
        ("recipient", "wrong_recipient"),
        ("expired", "expired"),
        ("could not validate timestamp", "expired"),
        ("notonorafter", "expired"),
        ("notbefore", "not_yet_valid"),
        ("issuer", "wrong_issuer"),
    ):
        if needle in text:
            return reason
    return "invalid"


def response_check(connection: SsoConnection, request_data: dict[str, Any]) -> SamlResult:
    """The signed, valid response posted to this connection's ACS, or SamlRefused."""
    auth = _auth(connection, request_data)
    try:
        auth.process_response(request_id=None)  # InResponseTo is checked against the browser's stashed request
    except Exception as exc:
        raise SamlRefused("invalid", str(exc)) from exc
    if auth.get_errors():
        detail = str(auth.get_last_error_reason() or ", ".join(auth.get_errors()))
        raise SamlRefused(_reason(detail), detail)
    if not auth.is_authenticated():
        raise SamlRefused("not_authenticated")
    assertion_id = str(auth.get_last_assertion_id() or "")
    not_on_or_after = auth.get_last_assertion_not_on_or_after() or 0
    ttl = max(60, min(int(not_on_or_after) - int(dt.datetime.now(tz=dt.UTC).timestamp()) + 300, 86_400))
    key = SEEN_PREFIX + hashlib.sha256(f"{connection.provider_key}:{assertion_id}".encode()).hexdigest()
    if not assertion_id or not caches["shared"].add(key, 1, timeout=ttl):
        raise SamlRefused("replayed", "this assertion was presented before")
    return SamlResult(
        name_id=str(auth.get_nameid() or ""),
        name_id_format=str(auth.get_nameid_format() or ""),
        attributes={str(k): [str(v) for v in vs] for k, vs in (auth.get_attributes() or {}).items()},
        assertion_id=assertion_id,
        in_response_to=str(auth.get_last_response_in_response_to() or ""),
        session_index=str(auth.get_session_index() or ""),
    )


def request_data(request: Any) -> dict[str, Any]:
    """What the toolkit needs of a Django request (the host as the browser sent it: the ACS URL is checked against
    it)."""
    return {
        "https": "on" if request.is_secure() else "off",
        "http_host": request.get_host(),
        "script_name": request.META.get("SCRIPT_NAME", ""),
        "path_info": request.META.get("PATH_INFO", request.path),
        "get_data": request.GET.copy(),
        "post_data": request.POST.copy(),
    }
