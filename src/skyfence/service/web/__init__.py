"""The browser dashboard served by ``skyfence serve`` (issue 17): a map at ``/`` and offline API docs.

::

    web/
      pages.py      GET / (the app), /docs (Swagger UI) and /redoc (ReDoc) from local assets, /static/...
      layers.py     /api/v1/map/...: one small endpoint per map layer (basemap, availability, policy diff,
                    coverage, satellites, gateways and PoPs, terminals, alerts as server-sent events, reports)
      encoding.py   the compact binary cell payloads the layers send (H3 ids + one byte per value)
      reports.py    assess output folders under ``skyfence serve --reports DIR``
      static/       index.html, app.js and one ES module per layer (static/layers/), no build step;
                    static/vendor/: MapLibre GL JS, deck.gl, h3-js, Swagger UI, ReDoc, axe-core as published on
                    npm (pinned in web/package.json, copied with their licences by ``make web``)

Nothing is loaded from another host: the basemap is Natural Earth from the data registry, drawn as vector layers.
"""

from typing import TYPE_CHECKING

from skyfence._lazy import lazy_exports

_WHERE = {
    "STATIC_DIR": "skyfence.service.web.pages",
    "install_web": "skyfence.service.web.pages",
}
__all__ = ["STATIC_DIR", "install_web"]
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

if TYPE_CHECKING:  # let type checkers and IDEs see the real objects
    from skyfence.service.web.pages import STATIC_DIR, install_web
