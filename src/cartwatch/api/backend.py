"""The database behind one app process, opened on first use.

Stateless grading needs no database, so the engine (and its migrations) is created only when a
request first needs the registry or the users.
"""

from __future__ import annotations

import threading

from fastapi import Request
from sqlalchemy import Engine

from cartwatch.registry.db import make_engine
from cartwatch.registry.repository import Registry
from cartwatch.registry.users import Users


class Backend:
    """The engine, the registry and the users of one database."""

    def __init__(self, database_url: str | None) -> None:
        self.database_url = database_url
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._registry: Registry | None = None
        self._users: Users | None = None

    def _open(self) -> tuple[Registry, Users]:
        with self._lock:
            if self._registry is None or self._users is None:
                self._engine = make_engine(self.database_url)
                self._registry = Registry(self._engine, actor="system")
                self._users = Users(self._engine)
            return self._registry, self._users

    @property
    def registry(self) -> Registry:
        return self._registry if self._registry is not None else self._open()[0]

    @property
    def users(self) -> Users:
        return self._users if self._users is not None else self._open()[1]

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def backend(request: Request) -> Backend:
    """The app's backend (a FastAPI dependency)."""
    found: Backend = request.app.state.backend
    return found
