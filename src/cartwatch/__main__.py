"""``python -m cartwatch`` runs the CLI."""

from cartwatch.cli import main

main()
