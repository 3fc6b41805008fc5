"""Authorisation matrix: every endpoint x every role, plus no key, a revoked key, another regulator's jurisdiction
and another terminal → exactly the expected 2xx / 401 / 403.

The endpoints come from the app's route table: a new endpoint without an entry in ``EXPECTED`` fails the test,
and so does an entry for an endpoint that no longer exists.  Every request is built fresh (a new operator for a
new licence, a new key to rotate ...) so the 2xx cases really succeed rather than bounce off a conflict.  The
matrix runs three times: with the key in ``X-API-Key``, as ``Authorization: Bearer sfk_...``, and with OAuth2
bearer tokens issued before the revoked key was revoked (revocation must end them at once).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.service.conftest import (
    PARIS,
    POLICY_TOML,
    World,
    admin_key,
    auth,
    fix,
    operator_key,
    populate,
    revoke_key,
    service_settings,
)

OP = frozenset({"operator"})
READERS = frozenset({"operator", "regulator", "regulator_foreign", "analyst"})
EVERY_ROLE = READERS | {"terminal", "terminal_foreign"}
PUBLIC = EVERY_ROLE | {"anonymous", "revoked"}
LICENCE_MANAGERS = frozenset({"operator", "regulator"})  # regulator_foreign acts on a TW licence: 403
TW_REGULATOR = frozenset({"regulator"})  # decisions on TW licences and the TW whitelist: regulator_foreign gets 403
TW_READERS = frozenset({"operator", "regulator", "analyst"})  # the TW whitelist and service view
OWN_TELEMETRY = frozenset({"operator", "terminal"})  # terminal_foreign posts fixes of another terminal: 403
#: Ownership records: the operator declares (its TW licence is only applied here), the TW regulator records.
OWNERSHIP_WRITERS = frozenset({"operator", "regulator"})
PRINCIPALS = (
    "operator",
    "regulator",
    "regulator_foreign",
    "analyst",
    "terminal",
    "terminal_foreign",
    "anonymous",
    "revoked",
)


@dataclass
class Call:
    path: str
    json: Any = None
    data: dict[str, str] | None = None
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Context:
    admin: TestClient  # carries the operator key
    world: World
    db_url: str = ""

    def ok(self, method: str, path: str, expected: int = 201, **kwargs: Any) -> dict[str, Any]:
        response = self.admin.request(method, path, **kwargs)
        assert response.status_code == expected, (method, path, response.status_code, response.text)
        return response.json()

    def new_operator(self) -> str:
        operator_id = f"op-{uuid.uuid4().hex[:10]}"
        self.ok("POST", "/api/v1/operators", json={"id": operator_id, "name": "Test", "reason": "matrix"})
        return operator_id

    def new_licence(self) -> int:
        body = {"operator_id": self.new_operator(), "jurisdiction": "TW", "state": "applied", "reason": "matrix"}
        return self.ok("POST", "/api/v1/licences", json=body)["id"]

    def new_key(self) -> str:
        return self.ok("POST", "/api/v1/keys", json={"name": "target", "role": "analyst", "reason": "matrix"})["id"]

    def new_site(self) -> int:
        body = {
            "operator_id": "starlink",
            "name": f"site-{uuid.uuid4().hex[:10]}",
            "kind": "gateway",
            "lat_deg": 25.05,
            "lon_deg": 121.53,
            "reason": "matrix",
        }
        return self.ok("POST", "/api/v1/ground-sites", json=body)["id"]

    def new_delegate(self) -> int:
        body = {"key_id": self.new_key(), "reason": "matrix"}
        regulator = {"X-API-Key": self.world.keys["regulator"]}
        return self.ok("POST", "/api/v1/whitelists/TW/delegates", json=body, headers=regulator)["id"]


def _batch(ctx: Context, _who: str) -> Call:
    return Call(
        "/api/v1/telemetry/batches",
        json={"fixes": [fix(ctx.world.terminals["tw"])]},
        headers={"Idempotency-Key": f"matrix-{uuid.uuid4().hex}"},
    )


def _login(ctx: Context, who: str) -> Call:
    if who == "anonymous":
        return Call("/api/v1/login/access-token", data={"grant_type": "client_credentials"})
    key = ctx.world.keys[who]
    _, key_id, secret = key.split("_", 2)
    return Call(
        "/api/v1/login/access-token",
        data={"grant_type": "client_credentials", "client_id": key_id, "client_secret": secret},
    )


def _new_policy(ctx: Context, _who: str) -> Call:
    source = POLICY_TOML.replace('default = "deny"', f'default = "deny"\ndescription = "{uuid.uuid4().hex}"')
    return Call("/api/v1/policies", json={"source": source, "reason": "matrix"})


Builder = Callable[[Context, str], Call]


def _c(path: str, **kwargs: Any) -> Builder:
    return lambda ctx, who: Call(path.format(**ctx.world.extra), **kwargs)


#: Routes where a caller outside "who succeeds" is answered with this instead of 403 (the resource is not theirs to
#: find: another key's idempotency key names nothing for them).
NOT_FOUND_FOR_OTHERS = {("GET", "/api/v1/telemetry/batches/{idempotency_key}")}
#: Items of Taiwan addressed by id: the regulator of another jurisdiction gets the 404 of a missing item (no
#: existence oracle; skyfence.service.api.scope), where other roles outside "who succeeds" get 403.
HIDDEN_FROM_FOREIGN = {
    ("GET", "/api/v1/accounts/{account_id}"),
    ("GET", "/api/v1/terminals/{terminal_id}"),
    ("GET", "/api/v1/decisions/{decision_id}"),
    ("GET", "/api/v1/alerts/{alert_id}"),
    ("GET", "/api/v1/licences/{licence_id}"),
    ("PATCH", "/api/v1/licences/{licence_id}"),
    ("DELETE", "/api/v1/licences/{licence_id}"),
}
#: Who reads an item of Taiwan by id: every reader but the regulator of another jurisdiction.
TW_ITEM_READERS = TW_READERS

#: (method, route template) → (success status, who succeeds, how to build the request).
EXPECTED: dict[tuple[str, str], tuple[int, frozenset[str], Builder]] = {
    ("GET", "/health"): (200, PUBLIC, _c("/health")),
    ("GET", "/metrics"): (200, READERS, _c("/metrics")),  # SKYFENCE_METRICS_ACCESS=authenticated, the default
    ("POST", "/api/v1/login/access-token"): (200, EVERY_ROLE, _login),
    ("GET", "/api/v1/keys"): (200, OP, _c("/api/v1/keys")),
    ("POST", "/api/v1/keys"): (
        201,
        OP,
        _c("/api/v1/keys", json={"name": "new", "role": "analyst", "reason": "matrix"}),
    ),
    ("GET", "/api/v1/keys/me"): (200, EVERY_ROLE, _c("/api/v1/keys/me")),
    ("POST", "/api/v1/keys/{key_id}/rotate"): (
        201,
        OP,
        lambda ctx, who: Call(f"/api/v1/keys/{ctx.new_key()}/rotate", json={"reason": "matrix"}),
    ),
    ("POST", "/api/v1/keys/{key_id}/revoke"): (
        200,
        OP,
        lambda ctx, who: Call(f"/api/v1/keys/{ctx.new_key()}/revoke", json={"reason": "matrix"}),
    ),
    ("GET", "/api/v1/operators"): (200, READERS, _c("/api/v1/operators")),
    ("POST", "/api/v1/operators"): (
        201,
        OP,
        lambda ctx, who: Call(
            "/api/v1/operators", json={"id": f"op-{uuid.uuid4().hex[:10]}", "name": "X", "reason": "matrix"}
        ),
    ),
    ("GET", "/api/v1/operators/{operator_id}"): (200, READERS, _c("/api/v1/operators/starlink")),
    ("PATCH", "/api/v1/operators/{operator_id}"): (
        200,
        OP,
        _c("/api/v1/operators/starlink", json={"name": "Starlink", "reason": "matrix"}),
    ),
    ("GET", "/api/v1/accounts"): (200, READERS, _c("/api/v1/accounts")),
    ("POST", "/api/v1/accounts"): (
        201,
        OP,
        _c(
            "/api/v1/accounts",
            json={
                "operator_id": "starlink",
                "owner_name": "New",
                "country": "TW",
                "type": "consumer",
                "reason": "matrix",
            },
        ),
    ),
    ("GET", "/api/v1/accounts/{account_id}"): (200, TW_ITEM_READERS, _c("/api/v1/accounts/{account}")),
    ("PATCH", "/api/v1/accounts/{account_id}"): (
        200,
        OP,
        _c("/api/v1/accounts/{account}", json={"type": "business", "reason": "matrix"}),
    ),
    ("GET", "/api/v1/terminals"): (200, READERS, _c("/api/v1/terminals")),
    ("POST", "/api/v1/terminals"): (
        201,
        OP,
        lambda ctx, who: Call(
            "/api/v1/terminals",
            json={
                "serial": f"UT-{uuid.uuid4().hex[:12]}",
                "account_id": ctx.world.accounts["tw"],
                "registration_country": "TW",
                "plan": "residential",
                "reason": "matrix",
            },
        ),
    ),
    ("GET", "/api/v1/terminals/{terminal_id}"): (200, TW_ITEM_READERS, _c("/api/v1/terminals/{terminal}")),
    ("PATCH", "/api/v1/terminals/{terminal_id}"): (
        200,
        OP,
        _c("/api/v1/terminals/{terminal}", json={"sale_channel": "direct", "reason": "matrix"}),
    ),
    ("GET", "/api/v1/licences"): (200, READERS, _c("/api/v1/licences")),
    ("POST", "/api/v1/licences"): (
        201,
        LICENCE_MANAGERS,
        lambda ctx, who: Call(
            "/api/v1/licences",
            json={"operator_id": ctx.new_operator(), "jurisdiction": "TW", "state": "applied", "reason": "matrix"},
        ),
    ),
    ("GET", "/api/v1/licences/{licence_id}"): (200, TW_ITEM_READERS, _c("/api/v1/licences/{licence}")),
    ("PATCH", "/api/v1/licences/{licence_id}"): (
        200,
        TW_REGULATOR,  # the operator applies; only the jurisdiction's regulator decides
        lambda ctx, who: Call(
            f"/api/v1/licences/{ctx.new_licence()}", json={"state": "pending_regulatory", "reason": "matrix"}
        ),
    ),
    ("DELETE", "/api/v1/licences/{licence_id}"): (
        204,
        LICENCE_MANAGERS,
        lambda ctx, who: Call(f"/api/v1/licences/{ctx.new_licence()}", params={"reason": "entered in error"}),
    ),
    ("GET", "/api/v1/ground-sites"): (200, READERS, _c("/api/v1/ground-sites")),
    ("POST", "/api/v1/ground-sites"): (
        201,
        OP,
        lambda ctx, who: Call(
            "/api/v1/ground-sites",
            json={
                "operator_id": "starlink",
                "name": f"site-{uuid.uuid4().hex[:10]}",
                "kind": "pop",
                "lat_deg": 25.03,
                "lon_deg": 121.56,
                "reason": "matrix",
            },
        ),
    ),
    ("GET", "/api/v1/ground-sites/{site_id}"): (200, READERS, _c("/api/v1/ground-sites/{site}")),
    ("PATCH", "/api/v1/ground-sites/{site_id}"): (
        200,
        OP,
        lambda ctx, who: Call(f"/api/v1/ground-sites/{ctx.new_site()}", json={"status": "offline", "reason": "m"}),
    ),
    ("DELETE", "/api/v1/ground-sites/{site_id}"): (
        204,
        OP,
        lambda ctx, who: Call(f"/api/v1/ground-sites/{ctx.new_site()}", params={"reason": "matrix"}),
    ),
    ("GET", "/api/v1/operators/{operator_id}/ownership/{jurisdiction}"): (
        200,
        TW_READERS,
        _c("/api/v1/operators/starlink/ownership/TW"),
    ),
    ("PUT", "/api/v1/operators/{operator_id}/ownership/{jurisdiction}"): (
        200,
        OWNERSHIP_WRITERS,
        _c(
            "/api/v1/operators/starlink/ownership/TW",
            json={"entity": "Starlink Taiwan", "local_pct": 51, "foreign_pct": 49, "reason": "matrix"},
        ),
    ),
    ("GET", "/api/v1/whitelists/{jurisdiction}/enrolments"): (200, TW_READERS, _c("/api/v1/whitelists/TW/enrolments")),
    ("POST", "/api/v1/whitelists/{jurisdiction}/enrolments"): (
        201,
        TW_REGULATOR,
        lambda ctx, who: Call(
            "/api/v1/whitelists/TW/enrolments",
            json={"items": [{"terminal_id": ctx.world.terminals["tw"], "evidence_ref": "NCC-1"}], "reason": "matrix"},
        ),
    ),
    ("POST", "/api/v1/whitelists/{jurisdiction}/revocations"): (
        200,
        TW_REGULATOR,
        lambda ctx, who: Call(
            "/api/v1/whitelists/TW/revocations",
            json={"terminal_ids": [ctx.world.terminals["pl"]], "reason": "matrix"},
        ),
    ),
    ("GET", "/api/v1/whitelists/{jurisdiction}/delegates"): (200, TW_READERS, _c("/api/v1/whitelists/TW/delegates")),
    ("POST", "/api/v1/whitelists/{jurisdiction}/delegates"): (
        201,
        TW_REGULATOR,
        lambda ctx, who: Call("/api/v1/whitelists/TW/delegates", json={"key_id": ctx.new_key(), "reason": "m"}),
    ),
    ("DELETE", "/api/v1/whitelists/{jurisdiction}/delegates/{delegate_id}"): (
        204,
        TW_REGULATOR,
        lambda ctx, who: Call(f"/api/v1/whitelists/TW/delegates/{ctx.new_delegate()}", params={"reason": "m"}),
    ),
    ("GET", "/api/v1/jurisdictions/{jurisdiction}/service"): (
        200,
        TW_READERS,
        _c("/api/v1/jurisdictions/TW/service"),
    ),
    ("GET", "/api/v1/policies"): (200, READERS, _c("/api/v1/policies")),
    ("POST", "/api/v1/policies"): (201, OP, _new_policy),
    ("GET", "/api/v1/policies/active"): (200, READERS, _c("/api/v1/policies/active")),
    ("GET", "/api/v1/policies/{version_id}"): (200, READERS, _c("/api/v1/policies/{policy}")),
    ("POST", "/api/v1/policies/{version_id}/activate"): (
        200,
        OP,
        _c("/api/v1/policies/{policy}/activate", json={"reason": "matrix"}),
    ),
    ("POST", "/api/v1/telemetry/batches"): (201, OWN_TELEMETRY, _batch),
    ("POST", "/api/v1/telemetry/fixes"): (
        201,
        OWN_TELEMETRY,
        lambda ctx, who: Call("/api/v1/telemetry/fixes", json=fix(ctx.world.terminals["tw"])),
    ),
    ("GET", "/api/v1/telemetry/batches/{idempotency_key}"): (
        200,
        OP,  # the operator key posted it; idempotency keys are scoped per key, so for every other key it is a 404
        _c("/api/v1/telemetry/batches/{batch_key}"),
    ),
    ("GET", "/api/v1/telemetry/fixes"): (200, READERS, _c("/api/v1/telemetry/fixes")),
    ("GET", "/api/v1/decisions"): (200, READERS, _c("/api/v1/decisions")),
    ("GET", "/api/v1/decisions/{decision_id}"): (200, TW_ITEM_READERS, _c("/api/v1/decisions/{decision}")),
    ("GET", "/api/v1/alerts"): (200, READERS, _c("/api/v1/alerts")),
    ("GET", "/api/v1/alerts/{alert_id}"): (200, TW_ITEM_READERS, _c("/api/v1/alerts/{alert}")),
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge"): (
        200,
        OP,
        _c("/api/v1/alerts/{alert}/acknowledge", json={"reason": "matrix"}),
    ),
    ("GET", "/api/v1/audit"): (200, READERS, _c("/api/v1/audit")),
    ("GET", "/api/v1/audit/verify"): (200, READERS, _c("/api/v1/audit/verify")),
    # The dashboard (issue 17): its pages are public, its layers follow the roles (GET /api/v1/map/layers).
    ("GET", "/"): (200, PUBLIC, _c("/")),
    ("GET", "/docs"): (200, PUBLIC, _c("/docs")),
    ("GET", "/docs/oauth2-redirect"): (200, PUBLIC, _c("/docs/oauth2-redirect")),
    ("GET", "/redoc"): (200, PUBLIC, _c("/redoc")),
    ("GET", "/api/v1/map/basemap"): (200, PUBLIC, _c("/api/v1/map/basemap")),
    ("GET", "/api/v1/map/layers"): (200, EVERY_ROLE, _c("/api/v1/map/layers")),
    ("GET", "/api/v1/map/availability"): (200, READERS, _c("/api/v1/map/availability", params={"res": "1"})),
    ("GET", "/api/v1/map/availability/cells"): (
        200,
        READERS,
        _c("/api/v1/map/availability/cells", params={"res": "1"}),
    ),
    ("POST", "/api/v1/map/policy-diff"): (
        200,
        READERS,
        lambda ctx, who: Call("/api/v1/map/policy-diff", json={"version_id": ctx.world.policy_version, "res": 1}),
    ),
    ("GET", "/api/v1/map/coverage"): (
        200,
        READERS,
        _c("/api/v1/map/coverage", params={"region": "TW", "res": "2", "steps": "1"}),
    ),
    ("GET", "/api/v1/map/satellites"): (200, EVERY_ROLE, _c("/api/v1/map/satellites", params={"tracks": "0"})),
    ("GET", "/api/v1/map/ground"): (200, READERS, _c("/api/v1/map/ground")),
    ("GET", "/api/v1/map/terminals"): (200, EVERY_ROLE, _c("/api/v1/map/terminals")),
    ("GET", "/api/v1/map/alerts/stream"): (200, READERS, _c("/api/v1/map/alerts/stream", params={"timeout_s": "0.5"})),
    ("GET", "/api/v1/map/reports"): (200, READERS, _c("/api/v1/map/reports")),
    # No --reports folder in this app: readers get 404 (nothing to open), the others 401/403 before that.
    ("GET", "/api/v1/map/reports/{name:path}/layers/{layer}"): (404, READERS, _c("/api/v1/map/reports/x/layers/y")),
    ("GET", "/api/v1/map/reports/{name:path}/report.html"): (404, READERS, _c("/api/v1/map/reports/x/report.html")),
}


def _route_table(app) -> set[tuple[str, str]]:
    """(method, path template) of every API route, including those of included routers."""
    try:  # FastAPI keeps included routers nested and flattens them on demand
        from fastapi.routing import iter_route_contexts

        entries = [(c.path, c.methods, c.original_route) for c in iter_route_contexts(app.routes)]
    except ImportError:  # older FastAPI copies included routes into app.routes
        entries = [(r.path, getattr(r, "methods", None), r) for r in app.routes]
    return {
        (method, path)
        for path, methods, route in entries
        if isinstance(route, APIRoute)
        for method in methods or ()
        if method not in ("HEAD", "OPTIONS")
    }


@pytest.fixture(scope="module")
def matrix_setup(tmp_path_factory, service_data):
    from skyfence.service import create_app

    url = f"sqlite:///{tmp_path_factory.mktemp('matrix') / 'skyfence.db'}"
    key = operator_key(url)
    app = create_app(service_settings(url))
    with TestClient(app) as anonymous, TestClient(app, headers=auth(key)) as admin:
        world = populate(admin, revoke=False)
        tokens = {}
        for label, full in world.keys.items():
            _, key_id, secret = full.split("_", 2)
            answer = anonymous.post(
                "/api/v1/login/access-token",
                data={"grant_type": "client_credentials", "client_id": key_id, "client_secret": secret},
            )
            assert answer.status_code == 200, answer.text
            tokens[label] = answer.json()["access_token"]
        revoke_key(admin, world)
        ctx = Context(admin, world, url)
        batch_key = f"matrix-setup-{uuid.uuid4().hex}"
        # in Taiwan: the TW terminal, and the UA terminal too fast for its roaming plan (denied: an alert in TW);
        # the TW terminal in Paris (nobody's regulator) and in Kyiv (not whitelisted there: an alert in UA)
        fixes = [
            fix(world.terminals["tw"], TAIPEI_MARK),
            fix(world.terminals["tw"], PARIS),
            fix(world.terminals["ua"], TAIPEI_MARK, speed_kmh=200),
            fix(world.terminals["tw"], KYIV_MARK),
        ]
        receipt = ctx.ok(
            "POST", "/api/v1/telemetry/batches", headers={"Idempotency-Key": batch_key}, json={"fixes": fixes}
        )
        fix_ids = [d["fix_id"] for d in receipt["decisions"]]
        alerts = {a["first_fix_id"]: a["id"] for a in ctx.ok("GET", "/api/v1/alerts", expected=200)["items"]}
        ownership = {"local_pct": 51, "foreign_pct": 49, "reason": "matrix set-up"}
        ctx.ok("PUT", "/api/v1/operators/starlink/ownership/TW", expected=200, json=ownership)
        for cc in ("tw", "ua"):  # a licence note and an audit entry only that jurisdiction's regulator may read
            note = {"note": MARKS[cc][4], "reason": MARKS[cc][5]}
            ctx.ok("PATCH", f"/api/v1/licences/{world.licences[cc]}", expected=200, json=note)
        world.extra.update(
            account=world.accounts["tw"],
            terminal=world.terminals["tw"],
            licence=world.licences["tw"],
            policy=world.policy_version,
            batch_key=batch_key,
            decision=fix_ids[0],
            alert=alerts[fix_ids[2]],
            site=ctx.new_site(),
        )
        # the same kinds of items of Ukraine, for the TW regulator's side of the leak test
        world.extra["ua"] = dict(
            world.extra,
            account=world.accounts["ua"],
            terminal=world.terminals["ua"],
            licence=world.licences["ua"],
            decision=fix_ids[3],
            alert=alerts[fix_ids[3]],
        )
        yield app, anonymous, ctx, tokens


#: Text that only what is about one jurisdiction carries: its account's owner and e-mail, its terminal's serial, a
#: coordinate of a fix there (in every reason about it), its licence's note and an audit reason about that licence.
TAIPEI_MARK = (25.0337, 121.5645)
KYIV_MARK = (50.4501, 30.5234)
MARKS = {
    "tw": ("Owner tw", "tw@example.org", "UT-TW-0001", "121.5645", "TW-LICENCE-NOTE", "TW-AUDIT-MARK"),
    "ua": ("Owner ua", "ua@example.org", "UT-UA-0001", "30.5234", "UA-LICENCE-NOTE", "UA-AUDIT-MARK"),
}
#: Routes that return per-terminal, per-account or per-jurisdiction records: the operator reads both
#: jurisdictions' marks there, each regulator only its own.
DATA_ROUTES = {
    "/api/v1/accounts",
    "/api/v1/accounts/{account_id}",
    "/api/v1/terminals",
    "/api/v1/terminals/{terminal_id}",
    "/api/v1/telemetry/fixes",
    "/api/v1/decisions",
    "/api/v1/decisions/{decision_id}",
    "/api/v1/alerts",
    "/api/v1/alerts/{alert_id}",
    "/api/v1/audit",
    "/api/v1/licences",
    "/api/v1/licences/{licence_id}",
    "/api/v1/map/terminals",
    "/api/v1/map/alerts/stream",
}
#: List filters a foreign regulator might use to ask for another jurisdiction's records directly.
FILTERED = (
    ("/api/v1/accounts", {"country": "{CC}"}),
    ("/api/v1/terminals", {"account_id": "{account}"}),
    ("/api/v1/telemetry/fixes", {"terminal_id": "{terminal}"}),
    ("/api/v1/decisions", {"country": "{CC}"}),
    ("/api/v1/decisions", {"terminal_id": "{terminal}"}),
    ("/api/v1/alerts", {"terminal_id": "{terminal}"}),
    ("/api/v1/licences", {"jurisdiction": "{CC}"}),
    ("/api/v1/audit", {"after": "0", "limit": "1000"}),
)


def _marks_in(text: str, cc: str) -> list[str]:
    return [mark for mark in MARKS[cc] if mark in text]


def _get_texts(ctx: Context, client: TestClient, who: str, items: str) -> dict[str, str]:
    """Every GET route of the app (from its route table), as ``who``, addressing the items of ``items`` ("tw" or
    "ua"): route template → the answer's text."""
    extra = dict(ctx.world.extra if items == "tw" else ctx.world.extra["ua"])
    saved = dict(ctx.world.extra)
    ctx.world.extra.clear()
    ctx.world.extra.update(extra)
    try:
        texts = {}
        for method, template in sorted(_route_table(client.app)):
            if method != "GET":
                continue
            call = EXPECTED[(method, template)][2](ctx, who)
            headers = {**_credentials("x-api-key", who, ctx.world, {}), **call.headers}
            response = client.get(call.path, params=call.params, headers=headers)
            texts[template] = response.content.decode("latin-1")
        for path, params in FILTERED:
            values = {k: v.format(CC=items.upper(), **extra) for k, v in params.items()}
            response = client.get(path, params=values, headers=_credentials("x-api-key", who, ctx.world, {}))
            texts[f"{path}?{values}"] = response.content.decode("latin-1")
        return texts
    finally:
        ctx.world.extra.clear()
        ctx.world.extra.update(saved)


@pytest.mark.parametrize(("who", "own", "foreign"), [("regulator", "tw", "ua"), ("regulator_foreign", "ua", "tw")])
def test_no_get_route_shows_a_regulator_another_jurisdiction(matrix_setup, who, own, foreign):
    """Every GET route the app has (a new one is checked without being listed here), asked by the regulator of one
    jurisdiction for the other's items, lists and filters: none of the other jurisdiction's marks comes back (trial
    2 #2: a UA regulator read TW terminals' positions, customers' names and e-mails, alerts and the audit log)."""
    _app, client, ctx, _tokens = matrix_setup
    leaks = {
        route: found
        for route, text in _get_texts(ctx, client, who, foreign).items()
        if (found := _marks_in(text, foreign))
    }
    assert not leaks, f"{who} reads {foreign.upper()}'s records: {leaks}"
    # the test can fail: the operator reads those marks on every data route, and the regulator its own
    for reader, cc in (("operator", foreign), (who, own)):
        texts = _get_texts(ctx, client, reader, cc)
        blind = sorted(route for route in DATA_ROUTES if not _marks_in(texts[route], cc))
        assert not blind, f"{reader} does not read {cc.upper()}'s records on {blind}"


def test_every_route_has_an_expectation(matrix_setup):
    app = matrix_setup[0]
    routes = _route_table(app)
    assert not routes - EXPECTED.keys(), f"routes without an authorisation expectation: {routes - EXPECTED.keys()}"
    assert not EXPECTED.keys() - routes, f"expectations for routes that do not exist: {EXPECTED.keys() - routes}"


def _credentials(mode: str, who: str, world: World, tokens: dict[str, str]) -> dict[str, str]:
    if who == "anonymous":
        return {}
    if mode == "x-api-key":
        return auth(world.keys[who])
    if mode == "bearer-key":
        return {"Authorization": f"Bearer {world.keys[who]}"}
    return {"Authorization": f"Bearer {tokens[who]}"}


@pytest.mark.parametrize("mode", ["x-api-key", "bearer-key", "oauth2-token"])
def test_authorisation_matrix(matrix_setup, mode):
    _app, client, ctx, tokens = matrix_setup
    failures = []
    checked = 0
    for (method, template), (success, allowed, build) in sorted(EXPECTED.items()):
        for who in PRINCIPALS:
            call = build(ctx, who)
            headers = {**_credentials(mode, who, ctx.world, tokens), **call.headers}
            if template.endswith("/access-token"):
                headers = {}  # the token endpoint authenticates by its form, never by headers
            response = client.request(
                method, call.path, json=call.json, data=call.data, params=call.params, headers=headers
            )
            if who in allowed:
                expected = success
            elif who in ("anonymous", "revoked"):
                expected = 401
            elif (method, template) in NOT_FOUND_FOR_OTHERS:
                expected = 404
            elif who == "regulator_foreign" and (method, template) in HIDDEN_FROM_FOREIGN:
                expected = 404
            else:
                expected = 403
            checked += 1
            if response.status_code != expected:
                failures.append(
                    f"{method} {template} as {who}: {response.status_code}, expected {expected}: {response.text[:200]}"
                )
            elif expected >= 400:
                assert response.headers["content-type"].startswith("application/problem+json")
    unexpected_successes = [f for f in failures if ": 2" in f.split(", expected")[0]]
    assert not unexpected_successes, "\n".join(unexpected_successes)
    assert not failures, "\n".join(failures)
    assert checked == len(EXPECTED) * len(PRINCIPALS)


def test_a_key_may_rotate_itself_but_not_another(matrix_setup):
    _, client, ctx, _ = matrix_setup
    own = ctx.ok("POST", "/api/v1/keys", json={"name": "self", "role": "analyst", "reason": "rotation test"})
    other = ctx.new_key()
    mine = auth(own["key"])
    assert client.post(f"/api/v1/keys/{other}/rotate", json={"reason": "x"}, headers=mine).status_code == 403
    rotated = client.post(
        f"/api/v1/keys/{own['id']}/rotate", json={"reason": "90 days", "grace_seconds": 0}, headers=mine
    )
    assert rotated.status_code == 201, rotated.text
    assert client.get("/api/v1/keys/me", headers=mine).status_code == 401  # no grace: the old key is gone
    assert client.get("/api/v1/keys/me", headers=auth(rotated.json()["key"])).json()["role"] == "analyst"


#: Who may create (rotate, revoke) a key of each kind through the API (trial report #1: an operator key minted a
#: regulator key and granted its own licence).  Regulator keys otherwise come from ``skyfence keys create``.
KEY_KINDS: dict[str, tuple[dict[str, Any], frozenset[str]]] = {
    "operator": ({"role": "operator"}, OP),
    "analyst": ({"role": "analyst"}, OP),
    "terminal": ({"role": "terminal"}, OP),
    "regulator TW": ({"role": "regulator", "jurisdiction": "TW"}, frozenset({"regulator"})),
    "regulator UA": ({"role": "regulator", "jurisdiction": "UA"}, frozenset({"regulator_foreign"})),
}


def _expected_for(who: str, allowed: frozenset[str], success: int) -> int:
    if who in allowed:
        return success
    return 401 if who in ("anonymous", "revoked") else 403


def _spec(ctx: Context, kind: str) -> dict[str, Any]:
    spec = dict(KEY_KINDS[kind][0])
    if spec["role"] == "terminal":
        spec["terminal_id"] = ctx.world.terminals["tw"]
    return spec


def _target_key(ctx: Context, kind: str) -> str:
    """A fresh key of ``kind`` to rotate or revoke, made where such keys come from."""
    spec = _spec(ctx, kind)
    if spec["role"] == "regulator":
        return admin_key(ctx.db_url, name="target", **spec)[0]
    return ctx.ok("POST", "/api/v1/keys", json={"name": "target", "reason": "matrix", **spec})["id"]


@pytest.mark.parametrize("action", ["create", "rotate", "revoke"])
def test_who_may_manage_keys_of_each_role(matrix_setup, action):
    _app, client, ctx, _tokens = matrix_setup
    failures = []
    for kind, (_, allowed) in KEY_KINDS.items():
        for who in PRINCIPALS:
            headers = _credentials("x-api-key", who, ctx.world, {})
            if action == "create":
                body = {"name": f"{kind} by {who}", "reason": "matrix", **_spec(ctx, kind)}
                response = client.post("/api/v1/keys", json=body, headers=headers)
                success = 201
            else:
                target = _target_key(ctx, kind)
                response = client.post(f"/api/v1/keys/{target}/{action}", json={"reason": "matrix"}, headers=headers)
                success = 201 if action == "rotate" else 200
            expected = _expected_for(who, allowed, success)
            if response.status_code != expected:
                failures.append(f"{action} {kind} key as {who}: {response.status_code}, expected {expected}")
            elif expected == 403:
                assert response.headers["content-type"].startswith("application/problem+json")
            elif expected == 201:
                assert response.json()["role"] == KEY_KINDS[kind][0]["role"]
    assert not failures, "\n".join(failures)


def test_an_operator_cannot_grant_its_own_licence(matrix_setup):
    """The trial's path: operator key → regulator key → grant.  The first step is refused, so is the grant."""
    _app, client, ctx, _tokens = matrix_setup
    body = {"name": "NCC Taiwan", "role": "regulator", "jurisdiction": "TW", "reason": "regulator key"}
    minted = client.post("/api/v1/keys", json=body, headers=auth(ctx.world.keys["operator"]))
    assert minted.status_code == 403, minted.text
    assert "skyfence keys create" in minted.json()["detail"]
    licence = ctx.new_licence()
    for state in ("pending_regulatory", "granted"):
        answer = client.patch(
            f"/api/v1/licences/{licence}",
            json={"state": state, "reason": "self-service"},
            headers=auth(ctx.world.keys["operator"]),
        )
        assert answer.status_code == 403, answer.text


#: Bodies that are not JSON, each with the words its problem must carry (trial report #26: a deeply nested body was
#: a 400 "There was an error parsing the body", a truncated one a 422, a non-UTF-8 one a 400).  The truncated body
#: carries a server-like path that must not come back.
UNPARSABLE_BODIES: dict[str, tuple[bytes, str]] = {
    "truncated": (b'{"reason": "/srv/skyfence/secret.toml", "items": [', "at line 1, column 51"),
    "nested too deeply": (b'{"reason": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nested too deeply"),
    "not UTF-8": (b'{"reason": "\xff\xfe"}', "not UTF-8"),
}


def test_every_json_route_answers_an_unparsable_body_alike(matrix_setup):
    """Every route taking a JSON body, as a caller allowed to use it: one status, one problem type, field ``body``."""
    _app, client, ctx, _tokens = matrix_setup
    failures = []
    checked = 0
    for (method, template), (_success, allowed, build) in sorted(EXPECTED.items()):
        if method not in ("POST", "PUT", "PATCH"):
            continue
        who = "operator" if "operator" in allowed else sorted(allowed)[0]
        call = build(ctx, who)
        if call.json is None:  # the token endpoint takes a form
            continue
        for label, (body, words) in UNPARSABLE_BODIES.items():
            headers = {**auth(ctx.world.keys[who]), **call.headers, "Content-Type": "application/json"}
            response = client.request(method, call.path, content=body, params=call.params, headers=headers)
            checked += 1
            problem = response.json() if response.headers["content-type"].startswith("application/problem") else {}
            if (
                response.status_code != 422
                or problem.get("type") != "urn:skyfence:problem:validation-error"
                or [e["field"] for e in problem.get("errors", [])] != ["body"]
                or not problem["detail"].startswith("body: invalid JSON: ")
                or words not in problem["detail"]
                or "/srv/" in response.text
                or "secret" in response.text
            ):
                failures.append(f"{method} {template} ({label}): {response.status_code} {response.text[:200]}")
    assert checked >= 3 * 20, checked  # every JSON route of the matrix (23 today), not a handful
    assert not failures, "\n".join(failures)


def _innermost_object(document: Any) -> dict[str, Any] | None:
    """The first object found deepest in ``document`` (a fix of a batch, an item of an enrolment)."""
    if isinstance(document, list):
        for item in document:
            found = _innermost_object(item)
            if found is not None:
                return found
        return None
    if not isinstance(document, dict):
        return None
    for value in document.values():
        found = _innermost_object(value)
        if found is not None:
            return found
    return document if document else None


def _with_a_repeated_key(document: Any) -> tuple[str, str, int]:
    """``document`` as JSON text whose innermost object has its first key written twice: first with ``null``, then
    with its value (a parser that keeps the last copy accepts it); the key and the column of the second copy."""
    target = _innermost_object(document)
    assert target is not None
    key = next(iter(target))
    marker = f"repeated-{uuid.uuid4().hex}"
    original = target[key]
    target[key] = marker
    text = json.dumps(document)
    target[key] = original
    written = f"{json.dumps(key)}: {json.dumps(marker)}"
    doubled = f"{json.dumps(key)}: null, {json.dumps(key)}: {json.dumps(original)}"
    text = text.replace(written, doubled)
    return text, key, text.index(doubled) + len(f"{json.dumps(key)}: null, ") + 1


def test_every_json_route_refuses_a_repeated_key(matrix_setup):
    """Trial 2, #8: a key written twice in an object (``"lat_deg": 12, "lat_deg": 15``) was read as its last copy;
    a gateway reading the first copy saw another request than the one served.  Every JSON route, as a caller allowed
    to use it, answers the one invalid-JSON problem naming the key, its line and its column, and stores nothing."""
    _app, client, ctx, _tokens = matrix_setup
    failures = []
    checked = 0
    for (method, template), (_success, allowed, build) in sorted(EXPECTED.items()):
        if method not in ("POST", "PUT", "PATCH"):
            continue
        who = "operator" if "operator" in allowed else sorted(allowed)[0]
        call = build(ctx, who)
        if call.json is None:  # the token endpoint takes a form
            continue
        text, key, column = _with_a_repeated_key(call.json)
        headers = {**auth(ctx.world.keys[who]), **call.headers, "Content-Type": "application/json"}
        before = ctx.ok("GET", "/api/v1/audit/verify", expected=200)["head_seq"]
        response = client.request(method, call.path, content=text.encode(), params=call.params, headers=headers)
        after = ctx.ok("GET", "/api/v1/audit/verify", expected=200)["head_seq"]
        checked += 1
        problem = response.json() if response.headers["content-type"].startswith("application/problem") else {}
        words = f"body: invalid JSON: duplicate key '{key}' in one object at line 1, column {column}"
        if (
            response.status_code != 422
            or problem.get("type") != "urn:skyfence:problem:validation-error"
            or [e["field"] for e in problem.get("errors", [])] != ["body"]
            or problem.get("detail") != words
            or after != before
        ):
            failures.append(f"{method} {template}: {response.status_code} {response.text[:300]} (wanted {words})")
    assert checked >= 20, checked  # every JSON route of the matrix, not a handful
    assert not failures, "\n".join(failures)


def test_every_route_reads_json_one_way(matrix_setup):
    """One parser for every JSON body (the repeated-key check cannot be skipped by a router that forgets it)."""
    from fastapi.routing import iter_route_contexts

    from skyfence.service.api.routing import JsonRoute

    app = matrix_setup[0]
    api_routes = [c.original_route for c in iter_route_contexts(app.routes) if isinstance(c.original_route, APIRoute)]
    assert len(api_routes) >= len(EXPECTED) - 5
    assert [r.path for r in api_routes if not isinstance(r, JsonRoute)] == []
