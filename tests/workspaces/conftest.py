"""Operators for the admin tests: a help-desk account holding what routine support needs (view and change accounts).
For the export and import tests: committed writes cleaned up after (`committed`), and a true export of acme
(`good_archive`)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from shared_apps.accounts.models import User
from shared_apps.storage.backends import files
from tenants import routing
from tenants.db import connection
from tenants.models import Tenant
from tests.conftest import HostClient
from tests.helpers import operator_create
from tests.workspaces.import_helpers import public_marks, run, workspace_schemas


@pytest.fixture
def helpdesk(db: None) -> User:
    return operator_create("helpdesk@atrium.test", "accounts.view_user", "accounts.change_user")


@pytest.fixture
def desk(public_client: HostClient, helpdesk: User) -> HostClient:
    public_client.force_login(helpdesk)
    return public_client


@pytest.fixture
def committed(_session_tenants: dict[str, Tenant], django_db_blocker: Any, settings: Any) -> Iterator[None]:
    """The test's writes are committed (pg_dump sees them); every public row and schema it added is removed after.
    The test database is set up for the tests that ask for `db`: select these with at least one of them (the module's
    hostile-archive tests are), as each of the import test modules does."""
    settings.TENANT_POOL_SIZE = 0
    with django_db_blocker.unblock():
        marks, schemas = public_marks(), workspace_schemas()
        try:
            yield
        finally:
            connection.set_schema_to_public()
            with transaction.atomic(), connection.cursor() as cursor:
                for schema in sorted(workspace_schemas() - schemas):
                    cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
                for table, mark in marks.items():
                    cursor.execute(f'DELETE FROM public."{table}" WHERE id > %s', [mark])  # noqa: S608
            routing.clear()


@pytest.fixture
def good_archive(tenant: Tenant, tmp_path: Path) -> Path:
    """A true export of acme (its committed schema) with one file."""
    files().put(f"{tenant.schema_name}/files/{'b' * 32}.txt", io.BytesIO(b"hello"), content_type="text/plain")
    path = tmp_path / "good.tar.gz"
    run("export", "acme", "--output", str(path))
    return path
