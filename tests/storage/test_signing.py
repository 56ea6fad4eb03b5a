"""Signed URLs: what Atrium signs, checked as properties (moto does not enforce POST policies or URL expiry), and the
enforcement Atrium owns on the filesystem backend (its URLs and upload forms expire and cannot be altered).

S3 download URLs are signed in-process; each is checked against botocore's own presigner for the same inputs and
instant, and fetched over HTTP from the S3 server."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import time
import urllib.request
from typing import Any
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.config import Config
from django.core.files.storage import storages

from shared_apps.storage import local
from shared_apps.storage.backends import TenantS3Storage, files
from tenants.models import Tenant
from tests.conftest import client_for
from tests.storage_fixtures import ACCESS_KEY, BUCKET, REGION, SECRET_KEY, Moto, s3_storage_settings

KEY = "t_aaaaaaaaaa/files/0123456789abcdef0123456789abcdef.pdf"


def _botocore_url(moto: Moto, key: str, params: dict[str, str], expires: int, now: float, **client: Any) -> str:

    boto = boto3.client(
        "s3",
        endpoint_url=client.get("endpoint", moto.endpoint),
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        aws_session_token=client.get("token"),
        config=Config(signature_version="s3v4", s3={"addressing_style": client.get("style", "path")}),
    )

    frozen = dt.datetime.fromtimestamp(now, tz=dt.UTC).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=frozen):
        return str(
            boto.generate_presigned_url(
                "get_object", Params={"Bucket": BUCKET, "Key": key, **params}, ExpiresIn=expires
            )
        )


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


@pytest.mark.parametrize(
    ("key", "filename", "inline"),
    [
        (KEY, "Quarterly plan.pdf", True),
        (KEY, "résumé “final” (2).pdf", False),
        ("t_aaaaaaaaaa/files/a_b-c.d~e.txt", "notes; rm -rf.txt", False),
    ],
)
def test_s3_urls_are_signed_exactly_as_botocore_signs_them(
    moto_server: Moto, key: str, filename: str, inline: bool
) -> None:
    storage = TenantS3Storage(**s3_storage_settings(moto_server)["OPTIONS"])
    now = 1_790_000_000.0
    params = {
        "response-content-disposition": ("inline" if inline else "attachment") + f"; filename={filename!r}",
        "response-content-type": "application/pdf",
    }

    ours = storage.presigner.url(key, expires=60, params=params, now=now)
    theirs = _botocore_url(
        moto_server,
        key,
        {
            "ResponseContentDisposition": params["response-content-disposition"],
            "ResponseContentType": params["response-content-type"],
        },
        60,
        now,
    )

    assert urlsplit(ours)._replace(query="") == urlsplit(theirs)._replace(query="")
    assert _query(ours) == _query(theirs)


def test_s3_urls_with_a_session_token_and_virtual_hosts_match_botocore(moto_server: Moto) -> None:
    options = s3_storage_settings(moto_server, security_token="a-session-token")["OPTIONS"]
    options.update(endpoint_url="https://s3.eu-west-1.amazonaws.com", addressing_style="virtual", region_name=REGION)
    storage = TenantS3Storage(**options)
    now = 1_790_000_000.0

    ours = storage.presigner.url(KEY, expires=30, params={}, now=now)
    theirs = _botocore_url(
        moto_server,
        KEY,
        {},
        30,
        now,
        endpoint="https://s3.eu-west-1.amazonaws.com",
        style="virtual",
        token="a-session-token",
    )

    assert ours.split("?")[0] == theirs.split("?")[0] == f"https://{BUCKET}.s3.eu-west-1.amazonaws.com/{KEY}"
    assert _query(ours) == _query(theirs)


def test_a_signed_s3_url_fetches_the_private_object_with_its_headers(
    backend: str, request: pytest.FixtureRequest
) -> None:
    if backend != "s3":
        pytest.skip("S3 only")
    files().put(KEY, io.BytesIO(b"%PDF-1.4 hello"), content_type="application/pdf")

    url = files().sign_download(KEY, filename="Plan “Q3”.pdf", content_type="application/pdf", inline=False)
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310  (loopback)
        body, headers = response.read(), response.headers

    assert body == b"%PDF-1.4 hello"
    assert headers["Content-Disposition"].startswith("attachment;")
    assert headers["Content-Type"] == "application/pdf"


def test_download_urls_live_at_most_60_seconds(backend: str, settings: Any) -> None:
    settings.STORAGE_URL_EXPIRY = 3600
    storage = files()
    url = storage.sign_download(KEY, filename="x.pdf", content_type="application/pdf", inline=True, expires=3600)

    if backend == "s3":
        assert _query(url)["X-Amz-Expires"] == ["60"]
        longest = storages["default"].url(KEY, expire=86400)  # type: ignore[call-arg]
        assert int(_query(longest)["X-Amz-Expires"][0]) <= 60
    else:
        assert int(_query(url)["e"][0]) - time.time() <= 60


def test_the_s3_upload_form_pins_the_key_the_size_and_the_expiry(backend: str, settings: Any) -> None:
    if backend != "s3":
        pytest.skip("S3 only")
    form = files().sign_upload(KEY, max_bytes=12_345, min_bytes=12_345)
    policy = json.loads(base64.b64decode(form.fields["policy"]))

    assert form.fields["key"] == KEY
    assert {"key": KEY} in policy["conditions"]
    assert ["content-length-range", 12_345, 12_345] in policy["conditions"]
    assert {"bucket": BUCKET} in policy["conditions"]
    expires = time.mktime(time.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert 0 < expires - time.time() <= settings.STORAGE_UPLOAD_EXPIRY + 1
    assert not any("acl" in str(c).lower() for c in policy["conditions"])  # nothing public is ever asked for


def test_the_s3_upload_form_asks_for_encryption_when_configured(moto_server: Moto, settings: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_storage_settings(
            moto_server, object_parameters={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/atrium"}
        ),
    }
    form = files().sign_upload(KEY, max_bytes=10)
    conditions = json.loads(base64.b64decode(form.fields["policy"]))["conditions"]

    assert form.fields["x-amz-server-side-encryption"] == "aws:kms"
    assert {"x-amz-server-side-encryption": "aws:kms"} in conditions
    assert {"x-amz-server-side-encryption-aws-kms-key-id": "alias/atrium"} in conditions


def test_browsers_are_sent_to_the_user_content_origin(moto_server: Moto, settings: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_storage_settings(moto_server, user_content_url="https://files.atrium-usercontent.test"),
    }
    url = files().sign_download(KEY, filename="x.pdf", content_type="", inline=False)
    form = files().sign_upload(KEY, max_bytes=10)

    assert url.startswith(f"https://files.atrium-usercontent.test/{BUCKET}/{KEY}?")
    assert form.url == f"https://files.atrium-usercontent.test/{BUCKET}"


# --- the filesystem backend: Atrium enforces what it signs ----------------------------------------------------------


def _local_file(tenant: Tenant, data: bytes = b"%PDF-1.4 local") -> str:
    key = f"{tenant.schema_name}/files/0123456789abcdef0123456789abcdef.pdf"
    files().put(key, io.BytesIO(data), content_type="application/pdf")
    return key


def test_a_signed_local_url_serves_the_file_with_safe_headers(tenant: Tenant) -> None:
    key = _local_file(tenant)
    url = files().sign_download(key, filename="Plan.pdf", content_type="application/pdf", inline=True)

    response = client_for(tenant).get(url)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 local"  # type: ignore[attr-defined]
    assert response["Content-Disposition"] == 'inline; filename="Plan.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"

    text = files().sign_download(key, filename="a.txt", content_type="text/plain", inline=False)
    served = client_for(tenant).get(text)
    assert served["Content-Disposition"].startswith("attachment")
    assert "sandbox" in served["Content-Security-Policy"]


def test_local_urls_expire(tenant: Tenant) -> None:
    key = _local_file(tenant)
    url = files().sign_download(key, filename="Plan.pdf", content_type="application/pdf", inline=True, expires=1)

    with mock.patch("shared_apps.storage.local.time.time", return_value=time.time() + 61):
        response = client_for(tenant).get(url)

    assert response.status_code == 403
    assert b"expired" in response.content


@pytest.mark.parametrize("change", ["key", "disposition", "type", "signature", "expiry"])
def test_an_altered_local_url_is_refused(tenant: Tenant, change: str) -> None:
    key = _local_file(tenant)
    other = f"{tenant.schema_name}/files/ffffffffffffffffffffffffffffffff.pdf"
    files().put(other, io.BytesIO(b"%PDF-1.4 other"), content_type="application/pdf")
    url = files().sign_download(key, filename="Plan.pdf", content_type="application/pdf", inline=False)
    altered = {
        "key": url.replace(key, other),
        "disposition": url.replace("attachment", "inline"),
        "type": url.replace("application%2Fpdf", "text%2Fhtml"),
        "signature": url[:-4] + "0000",
        "expiry": url.replace("e=", "e=9"),
    }[change]

    assert altered != url
    assert client_for(tenant).get(altered).status_code == 403


def test_a_local_url_of_one_workspace_is_not_found_on_another(tenant: Tenant, other_tenant: Tenant) -> None:
    key = _local_file(tenant)
    url = files().sign_download(key, filename="Plan.pdf", content_type="application/pdf", inline=False)

    assert client_for(other_tenant).get(url).status_code == 404
    assert client_for(tenant).get(url).status_code == 200


def _local_upload(tenant: Tenant, fields: dict[str, str], data: bytes) -> Any:
    payload = {**fields, "file": io.BytesIO(data)}
    return client_for(tenant).post(local.UPLOAD_PATH, payload)


def test_the_local_upload_form_enforces_its_policy(tenant: Tenant, other_tenant: Tenant) -> None:
    key = f"{tenant.schema_name}/files/0123456789abcdef0123456789abcdef.txt"
    form = files().sign_upload(key, max_bytes=5, min_bytes=5)

    assert _local_upload(tenant, form.fields, b"too long").status_code == 400
    assert _local_upload(tenant, {**form.fields, "key": key.replace("0123", "9999")}, b"hello").status_code == 403
    tampered = json.loads(base64.b64decode(form.fields["policy"])) | {"max": 10**9}
    forged = {**form.fields, "policy": base64.b64encode(json.dumps(tampered).encode()).decode()}
    assert _local_upload(tenant, forged, b"hello").status_code == 403
    assert _local_upload(other_tenant, form.fields, b"hello").status_code == 404
    with mock.patch("shared_apps.storage.local.time.time", return_value=time.time() + 3600):
        assert _local_upload(tenant, form.fields, b"hello").status_code == 403
    assert files().head(key) is None

    assert _local_upload(tenant, form.fields, b"hello").status_code == 204
    assert files().head(key) == 5
    assert _local_upload(tenant, form.fields, b"HELLO").status_code == 409  # never overwritten
    assert files().read_range(key, 0, 5) == b"hello"
