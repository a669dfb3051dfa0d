"""Alembic environment: runs on the connection handed over by :mod:`ohsc.store.migrate`."""

from __future__ import annotations

from alembic import context

from ohsc.store.all_models import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached by running the alembic CLI directly
    raise RuntimeError("run migrations through ohsc (ohsc db upgrade), not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
