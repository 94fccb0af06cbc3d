"""Typed reading of database rows in tests."""

from __future__ import annotations

from tortoise.models import Model


def fk_id(row: Model, relation: str) -> int | None:
    """The id `row`'s foreign key `relation` holds (None when unset), without fetching it.

    Tortoise adds `<relation>_id` to a model at run time, so the type checker does not know it;
    a misspelt relation fails the test instead of reading an attribute that is not there.
    """
    meta = row._meta
    assert relation in meta.fk_fields | meta.o2o_fields, (
        f"{type(row).__name__} has no foreign key {relation!r}"
    )
    value = getattr(row, f"{relation}_id")
    assert value is None or isinstance(value, int), value
    return value
