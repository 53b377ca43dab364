"""Alembic environment: the engine comes from ``config.attributes['engine']`` or the URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from cartwatch.registry.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine: Engine | None = config.attributes.get("engine")
    if engine is None:
        from cartwatch.registry.db import make_engine

        engine = make_engine(config.get_main_option("sqlalchemy.url"), upgrade=False)
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        context.run_migrations()


run_migrations_online()
