"""``python -m skyfence.service serve``: run the control plane without the top-level CLI.

The audit and key commands are ``skyfence audit verify`` and ``skyfence keys create``.
"""

from __future__ import annotations

import argparse
import os
import sys

from skyfence.errors import SkyfenceError
from skyfence.service.core.config import DEFAULT_DATABASE_URL
from skyfence.service.serve import LOG_LEVELS, run_server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m skyfence.service", description="The skyfence control plane.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="Run the control-plane API (migrations are applied at start-up).")
    serve.add_argument(
        "--db",
        default=os.environ.get("SKYFENCE_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="Database: a SQLite file path, sqlite:///path or postgresql://user:password@host/db.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="Interface to listen on.")
    serve.add_argument("--port", type=int, default=8000, help="TCP port (0: any free port).")
    serve.add_argument("--log-level", default="info", choices=LOG_LEVELS, help="uvicorn log level.")
    args = parser.parse_args(argv)
    try:
        run_server(args.db, host=args.host, port=args.port, log_level=args.log_level)
    except SkyfenceError as error:
        sys.stderr.write(f"error: {error}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
