"""``python -m skyfence`` runs the CLI."""

from skyfence.cli import main

main()
