"""``cartwatch serve``: the web app and REST API on one port.

The database is ``--database`` or ``CARTWATCH_DATABASE_URL`` (SQLite in the user's data directory
by default). One log line per request goes to stderr, without patient data (see
:mod:`cartwatch.api.middleware`); uvicorn's access log, which would print paths holding patient
references, is off.
"""

from __future__ import annotations

import gc
import logging
import socket
import sys

import typer


def _configure_logging() -> None:
    logger = logging.getLogger("cartwatch")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the main app."""

    @app.command("serve")
    def serve(
        host: str = typer.Option("127.0.0.1", help="interface to listen on"),
        port: int = typer.Option(8000, min=0, max=65535, help="TCP port (0: any free port)"),
        database: str = typer.Option(
            None, "--database", help="database URL (default: CARTWATCH_DATABASE_URL or SQLite)"
        ),
    ) -> None:
        """Serve the bedside pages and the REST API."""
        import uvicorn
        from pydantic import ValidationError

        from cartwatch.api.app import create_app
        from cartwatch.api.settings import Settings
        from cartwatch.cli._app import fail

        try:
            settings = Settings()
        except ValidationError as exc:
            first = exc.errors()[0]
            name = "CARTWATCH_" + str(first["loc"][0]).upper() if first["loc"] else "CARTWATCH_*"
            raise fail(f"`{name}={first.get('input')}` is not valid: {first['msg']}") from None
        try:
            socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise fail(
                f"`--host {host}` is not an address this machine can listen on ({exc}); "
                "expected an IP address or a resolvable name such as 127.0.0.1"
            ) from None
        _configure_logging()
        typer.echo(
            f"cartwatch on http://{host}:{port}/  (OpenAPI: http://{host}:{port}/openapi.json)"
        )
        app = create_app(database, settings=settings)
        gc.collect()
        gc.freeze()
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
        )
