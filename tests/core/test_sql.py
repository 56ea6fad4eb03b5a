"""SQL quoting: schema names are validated before they are quoted; text becomes a literal PostgreSQL reads back
unchanged."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from shared_apps.core.sql import literal, quote
from tenants.db import connection


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
