"""Documents in a browser, on both backends: an owner uploads a file from a project's documents tab, watches the
progress bar while the browser sends it straight to storage (the S3 server on loopback, or the app's own signed
endpoint), sees it listed once the app has confirmed it, and downloads it back."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from PIL import Image, ImageDraw

from tests.e2e.conftest import CHROMIUM, LiveSite, _free_port, _manage, shoot
from tests.helpers import subprocess_env
from tests.storage_fixtures import ACCESS_KEY, BUCKET, REGION, SECRET_KEY, Moto

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

SLUG = "e2e-docs"


@pytest.fixture(scope="module", params=["filesystem", "s3"])
def docs_site(
    request: pytest.FixtureRequest, _session_tenants: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveSite]:
    """A live server whose files go to the filesystem, or to the S3 server on loopback the tests started."""

    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium package (CI does)")
    port = _free_port()
    extra = {"SITE_PORT": str(port), "MEDIA_ROOT": str(tmp_path_factory.mktemp("e2e-media"))}
    if request.param == "s3":
        moto: Moto = request.getfixturevalue("moto_server")
        extra.update(
            AWS_STORAGE_BUCKET_NAME=BUCKET,
            AWS_S3_ENDPOINT_URL=moto.endpoint,
            AWS_S3_REGION_NAME=REGION,
            AWS_S3_ADDRESSING_STYLE="path",
            AWS_ACCESS_KEY_ID=ACCESS_KEY,
            AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        )
    env = subprocess_env(**extra)
    _manage(
        "tenant",
        "create",
        "--slug",
        SLUG,
        "--name",
        "Docs Company",
        "--owner-email",
        "owner@e2e-docs.test",
        "--password",
        "e2e-docs-password",
        env=env,
    )
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    try:
        site = LiveSite(port=port, root=f"http://localhost:{port}", mail_dir=Path(extra["MEDIA_ROOT"]))
        site.backend = request.param  # type: ignore[attr-defined]
        yield site
    finally:
        server.terminate()
        server.wait(timeout=10)
        _manage("tenant", "delete", SLUG, "--yes", env=env)


def test_an_owner_uploads_a_file_with_a_progress_bar_and_downloads_it(
    browser: Any, docs_site: LiveSite, tmp_path: Path
) -> None:
    data = os.urandom(6 * 1024 * 1024)  # large enough that the progress bar has something to show
    upload = tmp_path / "Site photos.zip"

    with zipfile.ZipFile(upload, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("photos/raw.bin", data)
    host = f"{SLUG}.localhost"
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    try:
        page = context.new_page()
        page.goto(docs_site.url(host, "/login/"))
        page.get_by_label("Email").fill("owner@e2e-docs.test")
        page.get_by_label("Password").fill("e2e-docs-password")
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.wait_for_url(docs_site.url(host, "/"))
        page.locator("a.project-tile__name", has_text="Getting started").click()  # the project's tile on the home page
        page.wait_for_url(re.compile(r"/projects/\d+/$"), timeout=60_000)
        page.get_by_role("navigation", name="Getting started").get_by_role("link", name="Documents").click()
        page.wait_for_url(re.compile(r"/documents/$"))
        assert page.get_by_role("heading", name="No documents yet").is_visible()

        # slow the upload down so the bar is seen moving (Chromium's own throttling, 3 MB/s)
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 5, "downloadThroughput": -1, "uploadThroughput": 3 * 1024 * 1024},
        )
        page.get_by_label("Upload a file").set_input_files(str(upload))
        page.get_by_role("button", name="Upload file").click()
        page.wait_for_function(
            "() => { const p = document.querySelector('[data-upload-progress] progress');"
            " return p && !p.closest('[hidden]') && p.value > 5 && p.value < 95; }",
            timeout=20_000,
        )
        assert "Uploading Site photos.zip" in page.locator(".upload__status").inner_text()
        if docs_site.backend == "s3":  # type: ignore[attr-defined]
            shoot(page, "documents-uploading")
        cdp.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )

        page.wait_for_selector("text=Uploaded “Site photos.zip”.", timeout=30_000)
        row = page.locator("tr", has_text="Site photos.zip")
        assert row.is_visible()
        assert "ZIP archive" in row.inner_text()
        # an image: listed with a thumbnail the task made, under the same prefix
        image = tmp_path / "Storefront mockup.png"
        _gradient(image)
        page.get_by_label("Upload a file").set_input_files(str(image))
        page.get_by_role("button", name="Upload file").click()
        page.wait_for_selector("text=Uploaded “Storefront mockup.png”.", timeout=30_000)
        thumbnail = page.locator("tr", has_text="Storefront mockup.png").locator("img.thumb")
        thumbnail.wait_for()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
        if docs_site.backend == "s3":  # type: ignore[attr-defined]
            shoot(page, "documents")

        with page.expect_download() as downloading:
            row.get_by_role("link", name="Download").click()
        saved = tmp_path / "downloaded.zip"
        downloading.value.save_as(saved)
        assert downloading.value.suggested_filename == "Site photos.zip"
        assert saved.read_bytes() == upload.read_bytes()
    finally:
        context.close()


def _gradient(path: Path) -> None:

    image = Image.new("RGB", (1200, 800), (238, 242, 255))
    draw = ImageDraw.Draw(image)
    for y in range(800):
        draw.line([(0, y), (1200, y)], fill=(79 + y // 8, 70 + y // 10, 229 - y // 12))
    draw.rectangle([(120, 160), (1080, 640)], fill=(255, 255, 255))
    draw.rectangle([(160, 200), (560, 600)], fill=(199, 210, 254))
    image.save(path, "PNG")
