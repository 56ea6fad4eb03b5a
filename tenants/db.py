"""The default connection, typed as django-tenants' wrapper (set_tenant, schema_name, …) for the type checker.

`connection` is Django's usual per-thread proxy; importing it from here only changes what mypy knows about it.
"""

from typing import TYPE_CHECKING, cast

from django.db import connection as _connection

if TYPE_CHECKING:
    from django_tenants.postgresql_backend.base import DatabaseWrapper

connection = cast("DatabaseWrapper", _connection)
