"""The ``cartwatch`` command line (Typer + Rich).

Each area registers its commands from its own module (``cli/grade.py``, ``cli/meta.py`` …) so
the shell stays thin: commands parse options, call the package, and render what comes back.
Bad input exits with code 2 and one line on stderr; no traceback reaches a user.
"""

from __future__ import annotations

from cartwatch.cli._app import app, main

__all__ = ["app", "main"]
