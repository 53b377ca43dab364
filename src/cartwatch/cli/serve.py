"""``cartwatch serve``: the web app and REST API on one port."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the main app."""

    @app.command("serve")
    def serve(
        host: str = typer.Option("127.0.0.1", help="interface to listen on"),
        port: int = typer.Option(8000, help="TCP port"),
    ) -> None:
        """Serve the bedside pages and the REST API."""
        import uvicorn

        from cartwatch.api.app import create_app

        typer.echo(f"cartwatch on http://{host}:{port}/  (API docs: http://{host}:{port}/docs)")
        uvicorn.run(create_app(), host=host, port=port, log_level="warning")
