"""The registry's real-database fixtures (SQLite and PostgreSQL), shared with these tests."""

from tests.registry.conftest import database_url, postgres_schema_url, registry

__all__ = ["database_url", "postgres_schema_url", "registry"]
