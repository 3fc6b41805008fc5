"""The dashboard's pages: ``/`` (the app), ``/docs`` and ``/redoc`` from local assets, ``/static/...``.

FastAPI's default ``/docs`` and ``/redoc`` load Swagger UI and ReDoc from a CDN; here they are served from
``static/vendor/`` (copied from the npm packages by ``make web``) so they work offline.  The app page carries a
Content-Security-Policy that allows this server only, so the browser itself refuses any other host.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["CSP", "STATIC_DIR", "install_web"]

STATIC_DIR: Final = Path(__file__).parent / "static"
_VENDOR: Final = "/static/vendor"
#: This server only: scripts, styles, data, workers (MapLibre starts its workers from blob: URLs).
CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; worker-src 'self' blob:; child-src blob:; font-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
_NO_STORE: Final = {"Cache-Control": "no-cache"}


def install_web(app: FastAPI, *, openapi_url: str = "/openapi.json") -> None:
    """Add ``/``, ``/docs``, ``/docs/oauth2-redirect``, ``/redoc`` and ``/static`` to ``app`` (created with
    ``docs_url=None, redoc_url=None``)."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=True), name="static")

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(
            STATIC_DIR / "index.html", media_type="text/html", headers={**_NO_STORE, "Content-Security-Policy": CSP}
        )

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - API",
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_js_url=f"{_VENDOR}/swagger-ui-bundle.js",
            swagger_css_url=f"{_VENDOR}/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - API reference",
            redoc_js_url=f"{_VENDOR}/redoc.standalone.js",
            redoc_favicon_url="/static/favicon.svg",
            with_google_fonts=False,
        )
