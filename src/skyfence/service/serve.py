"""Run the control plane under uvicorn: what ``skyfence serve`` and ``python -m skyfence.service serve`` do."""

from __future__ import annotations

import gc

from skyfence.errors import InputError

__all__ = ["LOG_LEVELS", "run_server"]

#: uvicorn's log levels, quietest first.
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def run_server(
    database_url: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
    workers: int = 1,
    reports_dir: str | None = None,
) -> None:
    """Open (and migrate) the database, build the app and serve it with ``workers`` processes until stopped.

    Several workers share rate limits and fix budgets through the database (:mod:`skyfence.service.core.budget`).
    """
    import os

    import uvicorn

    from skyfence.service.core.config import load_settings
    from skyfence.service.main import create_app

    if log_level not in LOG_LEVELS:
        raise InputError(f"unknown log level {log_level!r}", field="--log-level", hint="use info, warning, ...")
    if reports_dir is not None and not os.path.isdir(reports_dir):
        raise InputError(
            f"reports directory {reports_dir!r} does not exist",
            field="--reports",
            hint="give the folder you passed to `skyfence assess --out` (or its parent)",
        )
    _check_address(host, port)
    settings = load_settings(database_url=database_url, reports_dir=reports_dir)  # fails here, before any worker
    if workers > 1:
        os.environ["SKYFENCE_DATABASE_URL"] = settings.database_url
        if settings.reports_dir is not None:
            os.environ["SKYFENCE_REPORTS_DIR"] = str(settings.reports_dir.resolve())
        if settings.secret_key is None:  # development: the workers must share the random signing key
            os.environ["SKYFENCE_SECRET_KEY"] = settings.signing_key
        create_app(settings).state.db.dispose()  # migrate once, before the workers race to
        uvicorn.run(
            "skyfence.service.main:app_from_environment",
            factory=True,
            host=host,
            port=port,
            log_level=log_level,
            workers=workers,
            timeout_graceful_shutdown=5,
        )
        return
    app = create_app(settings)
    # Everything loaded so far (libraries, the compiled policy) lives as long as the process: keep it out of the
    # cyclic garbage collector's full passes, which otherwise stall requests for 100+ ms now and then.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=host, port=port, log_level=log_level, workers=1, timeout_graceful_shutdown=5)


def _check_address(host: str, port: int) -> None:
    """Resolve ``host`` and bind ``port`` once, so a bad host or a port in use is one line naming the option, not
    a server log (uvicorn binds the same way, with SO_REUSEADDR, right after)."""
    import errno
    import socket

    if not 0 <= port <= 65535:
        raise InputError(f"port {port} is outside 0-65535", field="--port")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as error:
        raise InputError(
            f"cannot resolve host {host!r} ({error})", field="--host", hint="give an address such as 127.0.0.1"
        ) from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise InputError(
                    f"{host}:{port} is already in use",
                    field="--port",
                    hint="choose another --port or stop the other server",
                ) from None
            if error.errno == errno.EACCES:
                raise InputError(
                    f"no permission to listen on {host}:{port}", field="--port", hint="use a port above 1023"
                ) from None
            raise InputError(f"cannot listen on {host}:{port} ({error.strerror})", field="--host") from None
