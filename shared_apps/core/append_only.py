"""Append-only tables: logs whose rows, once written, are never changed or deleted through the ORM.

Every write path of the ORM refuses: `save()` of a stored row, `delete()`, and on querysets `update()`, `delete()`,
`bulk_update()` and the private `_update()` / `_raw_delete()` that other paths funnel into. A model makes the
refusing queryset its default and base manager, so related-object and cascade machinery refuses too. The one change
allowed is SET NULL on the links named in `nullable_links` (an account deleted: its rows lose the link and keep the
label they carry), which Django runs through `update()`.

The bottom layer: standard library and Django only.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn, TypeVar

from django.db import models

_M = TypeVar("_M", bound=models.Model)


class AppendOnly(RuntimeError):
    pass


class AppendOnlyQuerySet(models.QuerySet[_M]):
    """Refuses every update and delete, but SET NULL of `nullable_links` (declared on the model)."""

    def _refuse(self) -> NoReturn:
        raise AppendOnly(getattr(self.model, "append_only_message", "This log is append-only."))

    def update(self, **kwargs: Any) -> int:
        links: frozenset[str] = getattr(self.model, "nullable_links", frozenset())
        if kwargs and set(kwargs) <= links and all(value is None for value in kwargs.values()):
            return super().update(**kwargs)
        self._refuse()

    def _update(self, values: Any) -> NoReturn:
        self._refuse()

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> NoReturn:
        self._refuse()

    def delete(self) -> NoReturn:
        self._refuse()

    def _raw_delete(self, using: Any) -> NoReturn:
        self._refuse()


class AppendOnlyModel(models.Model):
    """A row written once: saving a stored row or deleting one refuses (`AppendOnly`)."""

    append_only_message: ClassVar[str] = "This log is append-only."
    nullable_links: ClassVar[frozenset[str]] = frozenset()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnly(self.append_only_message)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnly(self.append_only_message)
