"""Storage benchmark (`make bench-storage`): signing download URLs, and a documents page of 50 images, against an S3
server on loopback (moto, over HTTP through boto3 and django-storages, as production reaches AWS).

1. Sign 1,000 download URLs for private objects (`Content-Disposition` and `Content-Type` in each, as the product
   signs them), three ways in the same run, rounds interleaved, medians compared:
     atrium       `TenantS3Storage.sign_download` (SigV4 in-process, signing key derived once a day)
     botocore     `generate_presigned_url` on one cached client (the usual advice)
     storages     django-storages' own `S3Storage.url()` (its default behaviour, for reference)
2. A project's documents page with 50 images (uploaded for real, thumbnails made by the task), through Django's
   whole stack (routing, session, membership, the permission check, the list, 50 thumbnails signed): its time and
   its queries, and the queries of the same page with 1 document (they must be equal).

In a throwaway database (`atrium_bench_storage`) on the server DATABASE_URL names (the embedded development server
when it is unset), dropped at the end. Last line:

  storage: sign_us=… page_ms=… page_queries=…
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_workspace, log, recreate_database, server_url, with_database  # noqa: E402

BENCH_DB = "atrium_bench_storage"
BUCKET = "atrium-bench-media"
SIGNED = 1_000
IMAGES = 50


def s3_server() -> tuple[Any, str, Any, dict[str, str]]:
    """A moto S3 server on loopback with the benchmark's bucket: (server, endpoint, boto3 client, storage options)."""
    import logging

    import boto3
    from botocore.config import Config
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the S3 server's access log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    credentials = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench-secret"}
    s3 = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", config=Config(signature_version="s3v4"), **credentials
    )
    s3.create_bucket(Bucket=BUCKET)
    options = {
        "bucket_name": BUCKET,
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "addressing_style": "path",
        "access_key": "bench",
        "secret_key": "bench-secret",
    }
    return server, endpoint, s3, options


def workspace_setup() -> tuple[Any, Any]:
    """The schemas migrated, and one workspace at bench.localhost with its owner: (tenant, owner)."""
    from shared_apps.accounts.models import Membership, Role, User

    tenant = bench_workspace()
    owner = User.objects.create_user(email="owner@bench.test", password=None)
    Membership.objects.create(user=owner, tenant=tenant, role=Role.OWNER)
    return tenant, owner


def signing(tenant: Any, s3: Any, options: dict[str, str], rounds: int) -> float:
    """1. Sign SIGNED download URLs three ways, rounds interleaved; returns Atrium's median microseconds per URL."""
    from storages.backends.s3 import S3Storage

    from shared_apps.storage.backends import TenantS3Storage

    atrium = TenantS3Storage(**options)
    plain = S3Storage(**{**options, "signature_version": "s3v4", "querystring_expire": 60})
    keys = [f"{tenant.schema_name}/files/{i:032x}.png" for i in range(SIGNED)]
    disposition = 'inline; filename="image.png"'

    def sign_atrium() -> None:
        for key in keys:
            atrium.sign_download(key, filename="image.png", content_type="image/png", inline=True)

    def sign_botocore() -> None:
        for key in keys:
            s3.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": BUCKET,
                    "Key": key,
                    "ResponseContentDisposition": disposition,
                    "ResponseContentType": "image/png",
                },
                ExpiresIn=60,
            )

    def sign_storages() -> None:
        for key in keys:
            plain.url(key, parameters={"ResponseContentDisposition": disposition, "ResponseContentType": "image/png"})

    ways = {"atrium": sign_atrium, "botocore": sign_botocore, "storages": sign_storages}
    per_url: dict[str, list[float]] = {name: [] for name in ways}
    for round_ in range(rounds + 3):
        order = list(ways) if round_ % 2 == 0 else list(reversed(ways))
        for name in order:
            t = time.perf_counter()
            ways[name]()
            if round_ >= 3:
                per_url[name].append((time.perf_counter() - t) / SIGNED * 1e6)
    sign_us = statistics.median(per_url["atrium"])
    for name in ways:
        median = statistics.median(per_url[name])
        log(f"sign {name:<9} median {median:7.1f} us/URL   vs atrium {median / sign_us:5.1f}x")
    return sign_us


def image(i: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (1200, 800), ((i * 37) % 256, (i * 91) % 256, 160)).save(out, "JPEG", quality=85)
    return out.getvalue()


def documents_page(tenant: Any, owner: Any, page_rounds: int) -> tuple[float, int]:
    """2. The documents page at 1 and IMAGES images (uploaded for real, thumbnails by the task): its median time in
    milliseconds and its queries (the same at 1 and at IMAGES)."""
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from shared_apps.accounts.sessions import SESSION_TENANT_KEY
    from tenant_apps.projects import services as product
    from tenant_apps.projects.models import Document, ThumbnailStatus
    from tenants.db import connection

    connection.set_tenant(tenant)
    project = product.project_create(name="Photos", acting_user=owner)
    t0 = time.perf_counter()
    first = image(0)
    product.document_upload(
        project=project, content=io.BytesIO(first), size=len(first), name="photo-00.jpg", acting_user=owner
    )
    connection.set_schema_to_public()
    client = Client(HTTP_HOST="bench.localhost")
    client.force_login(owner)
    session = client.session
    session[SESSION_TENANT_KEY] = tenant.pk
    session.save()
    path = f"/projects/{project.pk}/documents/"

    def page_queries() -> int:
        client.get(path)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200, response.status_code
        return len(queries)

    queries_at_1 = page_queries()
    connection.set_tenant(tenant)
    for i in range(1, IMAGES):
        data = image(i)
        product.document_upload(
            project=project,
            content=io.BytesIO(data),
            size=len(data),
            name=f"photo-{i:02d}.jpg",
            acting_user=owner,
        )
    ready = Document.objects.filter(thumbnail_status=ThumbnailStatus.READY).count()
    connection.set_schema_to_public()
    log(f"uploaded {IMAGES} images to S3 with their thumbnails ({ready} ready) in {time.perf_counter() - t0:.1f}s")
    assert ready == IMAGES, "every thumbnail is made by the task"
    queries_at_50 = page_queries()
    body = client.get(path).content.decode()
    assert body.count('<img class="thumb"') == IMAGES, "the page shows 50 thumbnails"

    timings = []
    for round_ in range(page_rounds + 5):
        t = time.perf_counter()
        response = client.get(path)
        elapsed = time.perf_counter() - t
        assert response.status_code == 200
        if round_ >= 5:
            timings.append(elapsed * 1000)
    page_ms = statistics.median(timings)
    ordered = sorted(timings)
    log(
        f"documents page, {IMAGES} images: median {page_ms:.2f} ms  "
        f"p10..p90 {ordered[len(ordered) // 10]:.2f}.."
        f"{ordered[len(ordered) * 9 // 10]:.2f} ms  queries {queries_at_50} (with 1 document: {queries_at_1})"
    )
    assert queries_at_50 == queries_at_1, "the page's queries grow with its documents"
    return page_ms, queries_at_50


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per way (after 3 warm-up rounds)")
    parser.add_argument("--page-rounds", type=int, default=40, help="timed page loads (after 5 warm-up loads)")
    args = parser.parse_args()

    base_url = server_url()
    recreate_database(base_url, BENCH_DB)
    os.environ["DATABASE_URL"] = with_database(base_url, BENCH_DB)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    os.environ["MEDIA_ROOT"] = tempfile.mkdtemp(prefix="atrium-bench-media-")
    server, endpoint, s3, options = s3_server()

    import django

    django.setup()
    from django.test import override_settings

    from tenants.db import connection

    storage_setting = {"BACKEND": "shared_apps.storage.backends.TenantS3Storage", "OPTIONS": options}
    try:
        with override_settings(
            STORAGES={
                "default": storage_setting,
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
            }
        ):
            log(
                f"database {BENCH_DB} (PostgreSQL {connection.pg_version // 10000}); "
                f"S3 server {endpoint}; {os.cpu_count()} cores"
            )
            tenant, owner = workspace_setup()
            sign_us = signing(tenant, s3, options, args.rounds)
            page_ms, page_queries = documents_page(tenant, owner, args.page_rounds)
            log(f"storage: sign_us={sign_us:.1f} page_ms={page_ms:.2f} page_queries={page_queries}")
    finally:
        connection.set_schema_to_public()
        from django.db import connections

        connections.close_all()
        server.stop()
        recreate_database(base_url, BENCH_DB, drop_only=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
