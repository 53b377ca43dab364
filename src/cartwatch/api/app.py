"""The FastAPI application factory: the REST API, the login and the bedside pages on one app.

``create_app(database_url)`` wires the routers (:mod:`cartwatch.api.routers`), the one error
mapping (:mod:`cartwatch.api.problems`), authentication (:mod:`cartwatch.api.security`) and the
privacy-safe request log (:mod:`cartwatch.api.middleware`). The database is opened on first use:
stateless grading works without one.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

import cartwatch
from cartwatch.api import problems
from cartwatch.api.backend import Backend
from cartwatch.api.body import DOCUMENTED, add_documented_schemas
from cartwatch.api.middleware import RequestLogMiddleware
from cartwatch.api.problems import Problem, problem
from cartwatch.api.routers import assess, auth, grading, patients, reports, system, users, ward
from cartwatch.api.settings import Settings

__all__ = ["create_app", "problem"]

_DESCRIPTION = """CAR-T toxicity grading (ASTCT, Lee 2014, CARTOX, Penn, MSKCC, CTCAE …) and the
ward's record of patients, infusions, assessments, treatments and labs.

Authenticate with `Authorization: Bearer <token>` (`cartwatch token create NAME`) or log in at
`POST /api/v1/login` (cookie session; send the returned `csrf_token` as `X-CSRF-Token` on every
write). Roles: viewer reads; nurse also records assessments and labs; physician also registers
patients, products, infusions and administrations; admin also manages users. Errors are
`application/problem+json` naming the field, the value and what was expected."""


def create_app(database_url: str | None = None, *, settings: Settings | None = None) -> FastAPI:
    """Build the application on ``database_url`` (default: ``CARTWATCH_DATABASE_URL`` or SQLite
    in the user's data directory)."""
    chosen = settings or Settings()
    app = FastAPI(
        title="cartwatch",
        version=cartwatch.__version__,
        description=_DESCRIPTION,
        # Swagger UI and ReDoc load their assets from a CDN; pages must work offline, so the
        # schema is served as /openapi.json only.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = chosen
    app.state.backend = Backend(database_url or chosen.database_url)
    problems.install(app)
    app.add_middleware(RequestLogMiddleware, enabled=chosen.log_requests)
    for module in (grading, system, auth, patients, users, reports, ward, assess):
        app.include_router(module.router)
    DOCUMENTED[Problem.__name__] = Problem

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "cartwatch_session"},
            }
            schema["security"] = [{"bearer": []}, {"session": []}, {}]
            app.openapi_schema = add_documented_schemas(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
