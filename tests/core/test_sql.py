"""SQL quoting: schema names are validated before they are quoted; text becomes a literal PostgreSQL reads back
unchanged."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from shared_apps.accounts.models import User
from shared_apps.core import sql
from shared_apps.core.sql import literal, quote
from tenant_apps.projects.models import Project
from tenants.db import connection
from tenants.models import Tenant
from tests.factories import ProjectFactory


def test_quote_wraps_a_valid_name_in_double_quotes() -> None:
    assert quote("t_8f3k2qa7mz") == '"t_8f3k2qa7mz"'
    assert quote("Mixed Case") == '"Mixed Case"'


@pytest.mark.parametrize("name", ["", 'a"b', "a'b", "a;b", "a\\b", "a\nb", "pg_catalog", "x" * 64])
def test_quote_refuses_a_name_that_could_break_out_or_is_reserved(name: str) -> None:
    with pytest.raises(ValidationError):
        quote(name)


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["plain", "it's", "''", "back\\slash", '"t_x", public', ""])
def test_literal_reads_back_as_the_same_text(text: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {literal(text)}")
        assert cursor.fetchone()[0] == text


# --- compiled_once -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_compiled_once_binds_each_callers_integers_and_reuses_one_statement() -> None:

    ada = User.objects.create(email="ada@example.com", name="Ada")
    bob = User.objects.create(email="bob@example.com", name="Bob")
    built: list[int] = []

    def build(user_id: int) -> Any:
        built.append(user_id)
        return User.objects.filter(pk=user_id).only("id", "name")

    key = ("test_compiled_once", "by_pk")
    assert [u.name for u in sql.compiled_once(key, build, ada.pk)] == ["Ada"]
    assert [u.name for u in sql.compiled_once(key, build, bob.pk)] == ["Bob"]
    assert [u.pk for u in sql.compiled_once(key, build, 2**40)] == []
    assert len(built) == 1
    assert built[0] < 0


@pytest.mark.django_db
def test_compiled_shapes_are_bounded_least_recently_used_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key can hold a page offset: the shapes kept stay bounded however many pages people browse."""

    monkeypatch.setattr(sql, "_COMPILED", OrderedDict())
    monkeypatch.setattr(sql, "COMPILED_MAX", 3)
    ada = User.objects.create(email="ada@example.com", name="Ada")
    built: list[int] = []

    def page(offset: int) -> Any:
        def build(user_id: int) -> Any:
            built.append(offset)
            return User.objects.filter(pk=user_id).only("id", "name")[offset : offset + 1]

        return build

    for offset in (0, 1, 2):
        sql.compiled_once(("page", offset), page(offset), ada.pk)
    sql.compiled_once(("page", 0), page(0), ada.pk)  # used again: the most recent
    sql.compiled_once(("page", 3), page(3), ada.pk)  # one too many: the least recently used (1) goes

    # keyed apart from the same shapes compiled in a workspace's schema (True: compiled in the public schema)
    assert list(sql._COMPILED) == [(True, ("page", 2)), (True, ("page", 0)), (True, ("page", 3))]
    assert [u.name for u in sql.compiled_once(("page", 1), page(1), ada.pk)] == []  # offset 1 of one row
    assert built == [0, 1, 2, 3, 1]


@pytest.mark.django_db
def test_compiled_once_refuses_an_argument_the_query_ignores_and_handles_an_empty_shape() -> None:

    with pytest.raises(ValueError, match="every argument"):
        sql.compiled_once(("test_compiled_once", "ignored"), lambda _user_id: User.objects.all(), 1)
    assert sql.compiled_once(("test_compiled_once", "empty"), lambda: User.objects.all()[:0]) == []


@pytest.mark.django_db
def test_a_compiled_statement_reads_the_schema_of_the_workspace_it_runs_in(
    tenant: Tenant, other_tenant: Tenant, in_tenant: Any
) -> None:
    """The statement names its tables unqualified: compiled in one workspace, it reads another's rows there."""

    with in_tenant(tenant):
        acme = ProjectFactory.create(name="Acme marker")
    with in_tenant(other_tenant):
        globex = ProjectFactory.create(name="Globex marker")

    def build(project_id: int) -> Any:
        return Project.objects.filter(pk__gte=project_id).order_by("pk")

    key = ("test_compiled_once", "schemas")
    with in_tenant(tenant):
        assert {p.name for p in sql.compiled_once(key, build, 1)} == {"Acme marker"} | _others(acme)
    with in_tenant(other_tenant):
        names = {p.name for p in sql.compiled_once(key, build, 1)}
        assert "Globex marker" in names
        assert "Acme marker" not in names
        assert globex.pk in {p.pk for p in sql.compiled_once(key, build, 1)}


def _others(project: Any) -> set[str]:
    return set(type(project).objects.exclude(pk=project.pk).values_list("name", flat=True))
