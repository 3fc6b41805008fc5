"""Run the control plane under uvicorn: what ``skyfence serve`` and ``python -m skyfence.service serve`` do."""

from __future__ import annotations

import gc

from skyfence.errors import InputError

__all__ = ["LOG_LEVELS", "run_server"]

#: uvicorn's log levels, quietest first.
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def run_server(database_url: str, *, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    """Open (and migrate) the database, build the app and serve it with one worker until stopped."""
    import uvicorn

    from skyfence.service.core.config import load_settings
    from skyfence.service.main import create_app

    if log_level not in LOG_LEVELS:
        raise InputError(f"unknown log level {log_level!r}", field="--log-level", hint="use info, warning, ...")
    app = create_app(load_settings(database_url=database_url))
    # Everything loaded so far (libraries, the compiled policy) lives as long as the process: keep it out of the
    # cyclic garbage collector's full passes, which otherwise stall requests for 100+ ms now and then.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=host, port=port, log_level=log_level, workers=1, timeout_graceful_shutdown=5)
