"""The engine: the real-world 2026 cases, the antimeridian, exactness of the fast path, explanations, bad fixes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from skyfence.earth.regions import get_region, lookup_country
from skyfence.errors import PolicyError
from skyfence.policy import load_policy
from tests.policy.conftest import HEADER

KYIV = (50.4501, 30.5234)
DONETSK = (48.0159, 37.8028)  # occupied since 2014; inside every DeepState polygon (PROVENANCE.md 6b)
BERLIN = (52.52, 13.405)
TAIPEI = (25.033, 121.565)


def _check(policy, lat, lon, **fix):
    return policy.engine().explain(lat, lon, **fix)


# --------------------------------------------------------------------------- the acceptance cases


def test_registered_terminal_in_kyiv_is_allowed(real_world):
    result = _check(real_world, *KYIV, whitelisted=True)
    assert (result.decision, result.rule_id) == ("allow", "licensed-service")
    assert result.country == "UA"


def test_unregistered_terminal_in_the_whitelist_zone_is_denied(real_world):
    result = _check(real_world, *KYIV)
    assert (result.decision, result.rule_id) == ("deny", "ukraine-whitelist")
    assert "not whitelisted" in result.reason


def test_donetsk_is_denied_by_the_occupation_rule(real_world):
    assert get_region("occupied:ua:2026-08-22").contains(*DONETSK)
    for whitelisted in (False, True):
        result = _check(real_world, *DONETSK, whitelisted=whitelisted)
        assert (result.decision, result.rule_id) == ("deny", "occupied-territory")
        assert "occupied" in result.reason.lower() and "2026-08-22" in result.reason


def test_120_kmh_on_a_land_plan_is_denied(real_world):
    for plan in ("roam", "residential"):
        result = _check(real_world, *KYIV, whitelisted=True, plan=plan, speed_kmh=120.0)
        assert (result.decision, result.rule_id) == ("deny", "ukraine-speed-cutoff")
        assert "speed 120 km/h" in result.reason
    # 60 km/h stays under the reported cut-off
    assert _check(real_world, *KYIV, whitelisted=True, plan="roam", speed_kmh=60.0).decision == "allow"


def test_aviation_at_800_kmh_is_allowed_where_aviation_is_licensed(real_world):
    over_germany = _check(real_world, 50.5, 10.0, plan="aviation", speed_kmh=800.0, alt_m=11_000.0)
    assert (over_germany.decision, over_germany.rule_id) == ("allow", "aviation-licensed")
    over_atlantic = _check(real_world, 45.0, -30.0, plan="aviation", speed_kmh=800.0, alt_m=11_000.0)
    assert (over_atlantic.decision, over_atlantic.rule_id) == ("allow", "high-seas-mobility")
    over_india = _check(real_world, 22.0, 79.0, plan="aviation", speed_kmh=800.0, alt_m=11_000.0)
    assert (over_india.decision, over_india.rule_id) == ("deny", "aviation-unlicensed")
    too_fast = _check(real_world, 50.5, 10.0, plan="aviation", speed_kmh=1500.0, alt_m=11_000.0)
    assert (too_fast.decision, too_fast.rule_id) == ("deny", "aviation-envelope")


def test_statuses_of_the_real_feed_decide_elsewhere(real_world):
    assert _check(real_world, *BERLIN).rule_id == "launched"
    moscow = _check(real_world, 55.75, 37.62)
    assert (moscow.decision, moscow.rule_id) == ("deny", "blacklisted")
    taipei = _check(real_world, *TAIPEI)
    assert (taipei.decision, taipei.rule_id) == ("deny", "default")
    assert "TW is coming_soon" in taipei.reason  # never a silent allow: the default is explicit and explained
    military = _check(real_world, *BERLIN, end_use="military_aircraft")
    assert (military.decision, military.rule_id) == ("deny", "denied-end-use")


def test_explain_lists_every_rule_in_precedence_order(real_world):
    result = _check(real_world, *KYIV)
    assert len(result.traces) == len(real_world.spec.rules)
    priorities = [t.priority for t in result.traces]
    assert priorities == sorted(priorities, reverse=True)
    decided = [t for t in result.traces if t.decided]
    assert [t.id for t in decided] == ["ukraine-whitelist"]
    why = {t.id: t.why for t in result.traces}
    # the feed's jargon is explained where it is shown (trial: "UA has status exclude", yet Ukraine is served)
    assert why["blacklisted"].startswith("UA has status exclude (served in parts: the operator's map marks regions")
    assert why["ukraine-speed-cutoff"] == "speed 0 km/h is within 75 km/h"
    assert "not aviation" in why["aviation-unlicensed"]
    later = [t for t in result.traces if t.matched and not t.decided]
    assert {t.id for t in later} == {"licensed-service"}  # matched, but a higher rule decided first


def test_rules_apply_only_in_their_period(real_world):
    before = _check(real_world, *KYIV, time="2026-01-15T12:00:00Z")  # before the whitelist
    assert (before.decision, before.rule_id) == ("allow", "licensed-service")
    assert _check(real_world, *KYIV, time="2022-01-01T00:00:00Z").rule_id == "default"  # before the licence


# --------------------------------------------------------------------------- antimeridian


ANTIMERIDIAN = [
    # (name, lat, lon, country) -- Natural Earth 10m DEU; both sides of 180°, and the seam itself
    ("Chukotka west of 180", 66.0, 175.0, "RU"),
    ("Chukotka east of 180", 66.0, -175.0, "RU"),
    ("Chukotka near +180", 67.0, 179.999, "RU"),
    ("Chukotka near -180", 67.0, -179.999, "RU"),
    ("Chukotka on +180", 67.0, 180.0, "RU"),
    ("Chukotka on -180", 67.0, -180.0, "RU"),
    ("Attu (Aleutians, east longitude)", 52.85, 172.95, "US"),
    ("Adak (Aleutians, west longitude)", 51.87, -176.63, "US"),
    ("Bering Sea west of 180", 51.0, 179.9, ""),
    ("Bering Sea east of 180", 51.0, -179.9, ""),
    ("Vanua Levu west of 180", -16.6, 179.3, "FJ"),
    ("Vanua Levu east of 180", -16.5, -179.95, "FJ"),
    ("Fiji on +180", -16.85, 180.0, "FJ"),
    ("Fiji on -180", -16.85, -180.0, "FJ"),
    ("Lakeba (Lau group)", -18.2, -178.8, "FJ"),
    ("Koro Sea west of 180", -17.5, 179.99, ""),
    ("Koro Sea east of 180", -17.5, -179.99, ""),
]


@pytest.fixture(scope="module")
def dateline(data_dir, tmp_path_factory):
    text = (
        HEADER
        + """
[zones.russia]
countries = ["RU"]
[zones.fiji]
countries = ["FJ"]
[zones.usa]
countries = ["US"]
[[rules]]
id = "russia"
kind = "jurisdiction"
zone = "russia"
action = "deny"
priority = 50
[[rules]]
id = "fiji"
kind = "jurisdiction"
zone = "fiji"
action = "allow"
priority = 10
[[rules]]
id = "usa"
kind = "jurisdiction"
zone = "usa"
action = "degrade"
priority = 10
"""
    )
    path = tmp_path_factory.mktemp("dateline") / "dateline.toml"
    path.write_text(text)
    return load_policy(path)


@pytest.mark.parametrize("method", ["exact", "index"])
def test_fiji_chukotka_and_aleutians_on_both_sides_of_180(dateline, method):
    lat = np.array([p[1] for p in ANTIMERIDIAN])
    lon = np.array([p[2] for p in ANTIMERIDIAN])
    decisions = dateline.engine().evaluate(lat=lat, lon=lon, method=method)
    expected_rule = {"RU": "russia", "FJ": "fiji", "US": "usa", "": "default"}
    expected_decision = {"RU": "deny", "FJ": "allow", "US": "degrade", "": "deny"}
    got = list(zip(decisions.countries(), decisions.labels, np.asarray(decisions.rule_ids()), strict=True))
    want = [(c, expected_decision[c], expected_rule[c]) for _, _, _, c in ANTIMERIDIAN]
    assert got == want, [p[0] for p, g, w in zip(ANTIMERIDIAN, got, want, strict=True) if g != w]
    off_seam = np.abs(lon) != 180.0
    assert list(lookup_country(lat[off_seam], lon[off_seam], pov="DEU")) == list(decisions.countries()[off_seam])


# --------------------------------------------------------------------------- exactness of the fast path


def test_index_agrees_with_the_exact_path_worldwide(real_world):
    engine = real_world.engine()
    rng = np.random.default_rng(7)
    n = 60_000
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lon = rng.uniform(-180, 180, n)
    # add points crowded around Ukraine's borders and the front line
    lat = np.concatenate([lat, rng.uniform(44.0, 53.0, n)])
    lon = np.concatenate([lon, rng.uniform(22.0, 41.0, n)])
    fast_bits, fast_country = engine.locate(lat, lon, method="index")
    exact_bits, exact_country = engine.locate(lat, lon, method="exact")
    assert np.array_equal(fast_country, exact_country)
    assert np.array_equal(fast_bits, exact_bits)


def test_points_on_a_denied_polygons_vertices_are_denied(real_world):
    occupied = get_region("occupied:ua:2026-08-22").geometry
    vertices = shapely.get_coordinates(occupied)[::7]
    for method in ("exact", "index"):
        decisions = real_world.engine().evaluate(
            lat=vertices[:, 1], lon=vertices[:, 0], whitelisted=True, method=method
        )
        assert set(np.asarray(decisions.rule_ids())) == {"occupied-territory"}


def test_on_a_shared_border_the_stricter_of_equal_priority_rules_wins(data_dir, write_policy):
    text = (
        HEADER
        + """
[zones.ukraine]
countries = ["UA"]
[zones.russia]
countries = ["RU"]
[[rules]]
id = "ukraine"
kind = "jurisdiction"
zone = "ukraine"
action = "allow"
priority = 10
[[rules]]
id = "russia"
kind = "jurisdiction"
zone = "russia"
action = "deny"
priority = 10
"""
    )
    policy = load_policy(write_policy(text))  # accepted: the two zones share only their border
    ukraine, russia = (get_region(code, pov="DEU").geometry for code in ("UA", "RU"))
    vertices = shapely.get_coordinates(ukraine)
    shared = vertices[shapely.intersects_xy(russia, vertices[:, 0], vertices[:, 1])]
    assert len(shared) > 100
    for method in ("exact", "index"):
        decisions = policy.engine().evaluate(lat=shared[:, 1], lon=shared[:, 0], method=method)
        assert set(np.asarray(decisions.rule_ids())) == {"russia"}  # deny > allow at equal priority
    inside = policy.engine().explain(*KYIV)
    assert [t.id for t in inside.traces] == ["russia", "ukraine"] and inside.decision == "allow"


def test_kernel_and_explain_agree_on_random_fixes(real_world):
    engine = real_world.engine()
    rng = np.random.default_rng(3)
    n = 150
    fixes = pd.DataFrame(
        {
            "lat": np.concatenate([rng.uniform(44, 53, n // 2), np.degrees(np.arcsin(rng.uniform(-1, 1, n - n // 2)))]),
            "lon": np.concatenate([rng.uniform(22, 41, n // 2), rng.uniform(-180, 180, n - n // 2)]),
            "plan": rng.choice(["residential", "roam", "maritime", "aviation"], n),
            "speed_kmh": rng.choice([0.0, 50.0, 120.0, 800.0, 2000.0], n),
            "alt_m": rng.choice([0.0, 11_000.0, 20_000.0], n),
            "whitelisted": rng.random(n) < 0.5,
            "registered_in": rng.choice(["UA", "DE", ""], n),
            "end_use": rng.choice(["", "", "", "military_aircraft"], n),
            "days_abroad": rng.choice([0.0, 90.0], n),
            "time": rng.choice(["2025-06-01T00:00:00Z", "2026-08-22T00:00:00Z"], n),
        }
    )
    decisions = engine.evaluate(fixes, method="index")
    for i, row in enumerate(fixes.itertuples(index=False)):
        fix = row._asdict()
        explained = engine.explain(fix.pop("lat"), fix.pop("lon"), **fix)
        assert explained.rule == decisions.rule[i]
        assert explained.decision == decisions.labels[i]


# --------------------------------------------------------------------------- more rule kinds


LICENCES = """
[operators.starlink]
local_ownership_in = ["TW"]
[zones.everywhere]
regions = ["world"]
[[licences]]
countries = ["TW"]
state = "granted"
history = [{ state = "applied", on = 2025-01-01 }, { state = "pending_regulatory", on = 2025-03-01 },
           { state = "granted", on = 2026-01-01 }]
conditions = { local_ownership = true, expires = 2026-12-31 }
[[licences]]
countries = ["JP"]
state = "granted"
conditions = { local_gateway = true }
[[licences]]
countries = ["IN"]
state = "pending_regulatory"
[[rules]]
id = "licensed"
kind = "licence"
action = "allow"
priority = 10
[[rules]]
id = "pending"
kind = "licence"
states = ["pending_regulatory", "applied"]
action = "degrade"
priority = 5
"""


def test_licence_states_periods_and_conditions(data_dir, write_policy):
    policy = load_policy(write_policy(HEADER + LICENCES))
    engine = policy.engine()

    def at(time, lat=TAIPEI[0], lon=TAIPEI[1]):
        result = engine.explain(lat, lon, time=time)
        return result.decision, result.rule_id

    assert at("2024-06-01T00:00:00Z") == ("deny", "default")  # no application yet
    assert at("2025-06-01T00:00:00Z") == ("degrade", "pending")
    assert at("2026-06-01T00:00:00Z") == ("allow", "licensed")
    assert at("2026-12-31T23:00:00Z") == ("allow", "licensed")  # expires is inclusive
    assert at("2027-01-01T00:00:00Z") == ("deny", "default")
    assert at("2026-06-01T00:00:00Z", 35.68, 139.69) == ("deny", "default")  # JP: no local gateway declared
    assert at("2026-06-01T00:00:00Z", 28.6, 77.2) == ("degrade", "pending")


def test_a_licence_not_in_force_denies_naming_why_where_the_rule_says_so(data_dir, write_policy):
    """``not_in_force = "deny"`` (what the registry resolution writes): where a licence exists but does not serve,
    the licence rule denies and names the state, the unmet condition or the expiry -- the live decision's words."""
    text = HEADER + LICENCES.replace("priority = 10\n", 'priority = 10\nnot_in_force = "deny"\n', 1)
    engine = load_policy(write_policy(text)).engine()

    def at(time, lat=TAIPEI[0], lon=TAIPEI[1]):
        result = engine.explain(lat, lon, time=time)
        return result.decision, result.rule_id, result.reason

    assert at("2024-06-01T00:00:00Z")[:2] == ("deny", "default")  # before the application: no licence, unmatched
    decision, rule, reason = at("2025-06-01T00:00:00Z")  # under review: denied by the licence rule, not degraded
    assert (decision, rule) == ("deny", "licensed")
    assert "licence not in force (licence pending_regulatory, not granted) for TW" in reason
    assert at("2026-06-01T00:00:00Z")[:2] == ("allow", "licensed")
    assert "licence not in force (licence expired on 2026-12-31)" in at("2027-01-01T00:00:00Z")[2]
    decision, rule, reason = at("2026-06-01T00:00:00Z", 35.68, 139.69)
    assert (decision, rule) == ("deny", "licensed") and "condition unmet: no operational gateway in JP" in reason
    assert reason.startswith("deny by rule 'licensed' (licence, priority 10): ")
    trace = {t.id: t for t in engine.explain(35.68, 139.69, time="2026-06-01T00:00:00Z").traces}
    assert trace["licensed"].action == "deny" and trace["licensed"].decided

    wrong = text.replace('not_in_force = "deny"\n', 'not_in_force = "deny"\nstates = ["applied"]\n', 1)
    with pytest.raises(PolicyError, match="not_in_force"):
        load_policy(write_policy(wrong))


def test_whitelist_terminal_lists_roaming_and_registration(data_dir, write_policy):
    text = (
        HEADER
        + """
[zones.ukraine]
countries = ["UA"]
[zones.everywhere]
regions = ["world"]
[[rules]]
id = "whitelist"
kind = "whitelist"
zone = "ukraine"
terminals = ["UT-1"]
priority = 90
[[rules]]
id = "roaming"
kind = "roaming"
max_days_abroad = 2
action = "degrade"
priority = 50
[[rules]]
id = "german-terminals"
kind = "jurisdiction"
zone = "everywhere"
registered_in = ["DE"]
action = "allow"
priority = 10
"""
    )
    engine = load_policy(write_policy(text)).engine()
    fixes = pd.DataFrame(
        {
            "terminal": ["UT-1", "UT-2", "T3", "T3", "T3", "T3", "T3"],
            "lat": [KYIV[0], KYIV[0], BERLIN[0], 48.85, 48.85, 48.85, 48.85],
            "lon": [KYIV[1], KYIV[1], BERLIN[1], 2.35, 2.35, 2.35, 2.35],
            "registered_in": ["DE", "DE", "DE", "DE", "DE", "DE", "DE"],
            "time": [
                "2026-08-22T00:00Z",
                "2026-08-22T00:00Z",
                "2026-08-01T00:00Z",
                "2026-08-02T10:00Z",
                "2026-08-02T12:00Z",
                "2026-08-03T10:00Z",
                "2026-08-05T10:00Z",
            ],
        }
    )
    decisions = engine.evaluate(fixes)
    assert list(np.asarray(decisions.rule_ids())) == [
        "german-terminals",
        "whitelist",
        "german-terminals",
        "german-terminals",
        "german-terminals",
        "german-terminals",
        "roaming",
    ]
    assert list(decisions.fixes.days_abroad) == [1, 1, 0, 1, 1, 2, 3]  # distinct days in France (or Ukraine)
    assert "days_abroad derived from terminal and time" in decisions.assumptions
    assert decisions.reason(6).endswith("3 days abroad)")


def test_outside_geofence_and_altitude(data_dir, write_policy):
    text = (
        HEADER
        + """
[zones.ukraine]
countries = ["UA"]
[[rules]]
id = "only-ukraine"
kind = "geofence"
zone = "ukraine"
buffer_km = 20
side = "outside"
action = "deny"
priority = 50
[[rules]]
id = "no-balloons"
kind = "motion"
plans = ["residential", "roam"]
max_altitude_m = 3000
priority = 40
[[rules]]
id = "ukraine"
kind = "jurisdiction"
zone = "ukraine"
action = "allow"
priority = 10
"""
    )
    engine = load_policy(write_policy(text)).engine()
    lat = np.array([KYIV[0], KYIV[0], BERLIN[0], 49.78, 52.0])
    lon = np.array([KYIV[1], KYIV[1], BERLIN[1], 22.77, 23.0])  # Przemysl (PL): 8 km from Ukraine; 52N 23E: 60 km
    alt = np.array([0.0, 5000.0, 0.0, 0.0, 0.0])
    decisions = engine.evaluate(lat=lat, lon=lon, alt_m=alt)
    assert list(np.asarray(decisions.rule_ids())) == [
        "ukraine",
        "no-balloons",
        "only-ukraine",
        "default",
        "only-ukraine",
    ]


def test_geodesic_buffer_distance(data_dir):
    from pyproj import Geod

    from skyfence.policy import buffer_km

    geod = Geod(ellps="WGS84")
    square = shapely.box(30.0, 60.0, 32.0, 61.0)  # at 60° N a degree of longitude is half a degree of latitude
    grown = buffer_km(square, 25.0)
    ring = shapely.get_coordinates(grown.exterior)[::5]
    edge = shapely.get_coordinates(shapely.segmentize(square.exterior, 0.002))
    for lon, lat in ring:
        _, _, distance = geod.inv(np.full(len(edge), lon), np.full(len(edge), lat), edge[:, 0], edge[:, 1])
        assert distance.min() == pytest.approx(25_000.0, rel=0.005)


def test_decisions_table_and_reasons(real_world):
    lat = np.array([KYIV[0], DONETSK[0], BERLIN[0], 0.0])
    lon = np.array([KYIV[1], DONETSK[1], BERLIN[1], -30.0])
    decisions = real_world.engine().evaluate(lat=lat, lon=lon)
    frame = decisions.to_frame()
    assert list(frame.columns) == ["decision", "rule", "rule_id", "reason", "country"]
    assert list(frame["decision"]) == ["deny", "deny", "allow", "deny"]
    assert list(frame["rule_id"]) == ["ukraine-whitelist", "occupied-territory", "launched", "default"]
    assert list(frame["country"].astype(object).fillna("")) == ["UA", "UA", "DE", ""]
    assert frame["reason"][3].startswith("deny by the policy default")
    assert decisions.counts() == {"allow": 1, "deny": 3, "degrade": 0}


# --------------------------------------------------------------------------- bad fixes


@pytest.mark.parametrize(
    ("column", "values", "needle"),
    [
        ("lat", [50.0, np.nan, 10.0], "row 1: lat is NaN"),
        ("lat", [50.0, 10.0, 95.0], "row 2: lat is 95 deg, outside the valid range [-90, 90] deg"),
        ("lon", [200.0, 10.0, 10.0], "row 0: lon is 200 deg, outside the valid range [-180, 180] deg"),
        ("speed_kmh", [1.0, -5.0, 0.0], "row 1: speed_kmh is -5 km/h"),
        ("plan", ["roam", "roam", "drone"], "row 2: unknown plan 'drone'"),
        ("time", ["2026-01-01", None, "2026-01-01"], "row 1: time is missing"),
    ],
)
def test_bad_fixes_name_the_row(real_world, column, values, needle):
    fixes = {"lat": [50.0, 50.0, 50.0], "lon": [30.0, 30.0, 30.0], column: values}
    with pytest.raises(PolicyError) as caught:
        real_world.engine().evaluate(fixes)
    assert needle in str(caught.value)
    assert caught.value.field == column


def test_an_engine_does_not_change_and_serves_concurrent_calls(real_world):
    """Registration countries and end uses the engine does not know get codes in the call's own tables."""
    from concurrent.futures import ThreadPoolExecutor

    engine = real_world.engine()
    codes, end_uses = engine.codes, engine.end_uses
    rng = np.random.default_rng(7)
    n = 2_000
    batches = []
    for k in range(8):
        unknown = f"Q{chr(ord('M') + k)}"  # user-assigned ISO codes (QM..QZ): never in the geography
        batches.append(
            {
                "lat": rng.uniform(-60, 70, n),
                "lon": rng.uniform(-180, 180, n),
                "registered_in": rng.choice(["DE", "UA", unknown], n),
                "end_use": rng.choice(["", f"use-{k}"], n),
                "whitelisted": rng.random(n) < 0.5,
            }
        )
    alone = [engine.evaluate(**batch) for batch in batches]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda batch: engine.evaluate(**batch), batches))
    for a, b in zip(alone, together, strict=True):
        assert np.array_equal(a.decision, b.decision) and np.array_equal(a.rule, b.rule)
        assert a.codes == b.codes and a.codes[: len(codes)] == list(codes)
    assert engine.codes == codes and engine.end_uses == end_uses
    assert "QM" not in engine.code_index and "QM" in alone[0].codes
