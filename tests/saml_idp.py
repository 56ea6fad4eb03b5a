"""A real SAML 2.0 identity provider on loopback for the tests: pysaml2's IdP, signing with a test key through Debian's
`xmlsec1` (real XML signatures, which Atrium's side checks with python3-saml and the `xmlsec` binding).

`running_saml_idp()` starts it in a thread on 127.0.0.1:<free port>:

- `GET /metadata` answers its metadata (entity id, single sign-on URL, signing certificate);
- `GET /sso?SAMLRequest=…` reads the AuthnRequest and answers the usual auto-submitting form that posts a signed
  response for the current person (`idp.person`) to the ACS the request named.

`idp.sign_in(url)` plays the browser at the IdP and returns (ACS URL, SAMLResponse); `idp.response(...)` makes a
response directly, for the cases a well-behaved IdP never sends (unsigned, for another audience or recipient)."""

from __future__ import annotations

import base64
import datetime as dt
import html
import re
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from urllib.request import urlopen

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import AUTHN_PASSWORD_PROTECTED, NAME_FORMAT_URI, NAMEID_FORMAT_EMAILADDRESS, NameID
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

XMLSEC1 = "/usr/bin/xmlsec1"


def key_and_certificate(directory: Path, name: str, *, days: int = 365) -> tuple[Path, Path, str]:
    """A test RSA key and self-signed certificate written as PEM files, and the certificate's PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Test IdP {name}")])
    now = dt.datetime.now(tz=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / f"{name}.key", directory / f"{name}.crt"
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    cert_path.write_text(pem)
    return key_path, cert_path, pem


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SamlIdP:
    base_url: str
    directory: Path
    person: dict[str, str] = field(default_factory=lambda: {"email": "ada@acme.com", "given_name": "Ada"})
    server: Server | None = None
    certificate_pem: str = ""

    @property
    def entity_id(self) -> str:
        return f"{self.base_url}/idp"

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}/metadata"

    def configure(self, key_name: str = "idp") -> None:
        """(Re)load the IdP with the key `key_name` (made on first use): a new key is a certificate change-over."""
        key_path, cert_path = self.directory / f"{key_name}.key", self.directory / f"{key_name}.crt"
        if not key_path.exists():
            key_and_certificate(self.directory, key_name)
        self.certificate_pem = cert_path.read_text()
        config = IdPConfig()
        config.load(
            {
                "entityid": self.entity_id,
                "xmlsec_binary": XMLSEC1,
                "key_file": str(key_path),
                "cert_file": str(cert_path),
                "accepted_time_diff": 0,
                "service": {
                    "idp": {
                        "endpoints": {"single_sign_on_service": [(f"{self.base_url}/sso", BINDING_HTTP_REDIRECT)]},
                        "policy": {"default": {"lifetime": {"minutes": 5}, "name_form": NAME_FORMAT_URI}},
                        "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                        "want_authn_requests_signed": False,
                    }
                },
            }
        )
        self.server = Server(config=config)
        # It keeps no SP metadata (responses go where the test says): no SP has an encryption key to look up.
        self.server.has_encrypt_cert_in_metadata = lambda sp_entity_id: False

    def metadata(self) -> str:
        assert self.server is not None
        return create_metadata_string(None, config=self.server.config, valid=0).decode()

    def response(
        self,
        *,
        in_response_to: str | None,
        acs_url: str,
        audience: str,
        email: str | None = None,
        sign: bool = True,
    ) -> str:
        """A SAMLResponse (base64) for the current person, as this IdP makes it."""
        assert self.server is not None
        email = email or self.person["email"]
        response = self.server.create_authn_response(
            identity={"mail": [email], "givenName": [self.person.get("given_name", "")]},
            in_response_to=in_response_to,
            destination=acs_url,
            sp_entity_id=audience,
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=email),
            authn={"class_ref": AUTHN_PASSWORD_PROTECTED},
            sign_response=False,
            sign_assertion=sign,
            sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
        )
        return base64.b64encode(str(response).encode()).decode()

    def answer(self, query: str) -> tuple[str, str]:
        """The IdP's answer to an AuthnRequest sent by redirect: (ACS URL, SAMLResponse)."""
        assert self.server is not None
        params = parse_qs(query)
        request = self.server.parse_authn_request(params["SAMLRequest"][0], BINDING_HTTP_REDIRECT).message
        acs_url = str(request.assertion_consumer_service_url)
        audience = str(request.issuer.text)
        return acs_url, self.response(in_response_to=str(request.id), acs_url=acs_url, audience=audience)

    def sign_in(self, url: str) -> tuple[str, str]:
        """Play the browser at the IdP: follow the redirect to it, read the form it answers."""
        assert url.startswith(self.base_url), url
        with urlopen(url, timeout=10) as answer:  # noqa: S310 (loopback)
            page = answer.read().decode()
        action = html.unescape(re.search(r'action="([^"]+)"', page).group(1))  # type: ignore[union-attr]
        value = html.unescape(re.search(r'name="SAMLResponse" value="([^"]+)"', page).group(1))  # type: ignore[union-attr]
        return action, value


def _handler(idp: SamlIdP) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def _send(self, status: int, body: str, content_type: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/metadata":
                self._send(200, idp.metadata(), "application/samlmetadata+xml")
                return
            if parts.path == "/sso":
                acs_url, value = idp.answer(parts.query)
                page = (
                    f'<html><body onload="document.forms[0].submit()"><form method="post" '
                    f'action="{html.escape(acs_url)}"><input type="hidden" name="SAMLResponse" '
                    f'value="{html.escape(value)}"><button type="submit">Continue</button></form></body></html>'
                )
                self._send(200, page, "text/html; charset=utf-8")
                return
            self._send(404, "not found", "text/plain")

    return Handler


@contextmanager
def running_saml_idp(directory: Path | None = None) -> Iterator[SamlIdP]:
    own = tempfile.TemporaryDirectory(prefix="saml-idp-") if directory is None else None
    workdir = Path(own.name) if own is not None else directory
    assert workdir is not None
    port = _free_port()
    idp = SamlIdP(base_url=f"http://127.0.0.1:{port}", directory=workdir)
    idp.configure()
    httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(idp))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield idp
    finally:
        httpd.shutdown()
        httpd.server_close()
        if own is not None:
            own.cleanup()
