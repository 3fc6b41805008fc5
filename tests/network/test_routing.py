"""Ground segment, places, links and routing on real data: Taiwan, bent pipe, unreachable pairs, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from skyfence.earth.places import resolve_place
from skyfence.errors import InputError
from skyfence.network.ground import great_circle_km, load_ground_segment, read_ground_segment
from skyfence.network.links import ground_links, isl_pairs, plus_grid
from skyfence.network.routing import C_KM_S, FIBRE_GROUP_INDEX, fibre_km, latency, route_pairs

TLE_2025 = "tle/starlink_20250923.tle"
GS_2026 = "ground_stations/starlink_gateways_pops_starlink-viz_20260320.json"


@pytest.fixture(scope="module")
def starlink(data_file):
    from skyfence.orbits.elements import read_elements

    return read_elements(data_file(TLE_2025))


@pytest.fixture(scope="module")
def ground(data_file, monkeypatch_module):
    monkeypatch_module.setenv("SKYFENCE_DATA_DIR", str(data_file(GS_2026).parents[1]))
    return load_ground_segment()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.fixture(scope="module")
def times():
    from skyfence.orbits.time import time_grid

    return time_grid("2025-09-23T12:00Z", "10m", "15s")


def test_ground_segment_status_countries_and_home_pops(ground, data_file):
    every = read_ground_segment(data_file(GS_2026), status=None)
    assert len(every) == 357 and len(ground) == 214 + 35  # operational gateways + PoPs
    assert set(ground.sites["status"]) == {"operational"}
    row = ground.sites.set_index("name").loc["Akita, Japan"]
    assert (row["kind"], row["country"], row["home_pop"]) == ("gateway", "JP", "Tokyo, Japan")
    assert (ground.sites["country"] != "").all()
    assert not (ground.gateways["country"] == "TW").any()  # no gateway in Taiwan
    planned = read_ground_segment(data_file(GS_2026), status=["planned"])
    assert len(planned) == 93 + 15
    added = ground.add_site("Taoyuan gateway", 25.0, 121.3)
    assert added.sites.iloc[-1]["country"] == "TW" and len(added) == len(ground) + 1
    removed = added.remove_sites(["Taoyuan gateway", "Akita, Japan"])
    assert len(removed) == len(ground) - 1
    assert not ground.exclude_gateways_in(["JP"]).gateways["country"].eq("JP").any()
    with pytest.raises(InputError, match="did you mean"):
        ground.remove_sites(["Akita, Japn"])


def test_ground_segment_2023_map(data_file):
    segment = read_ground_segment(data_file("ground_stations/Gateways_PoPs_n_Backbone_2023-10-10_points_DERIVED.csv"))
    assert len(segment.pops) == 23 and 50 < len(segment.gateways) < 200
    assert not segment.sites["name"].str.contains("TT&C").any()


def test_places():
    taipei = resolve_place("Taipei")
    assert taipei.country == "TW" and abs(taipei.lat_deg - 25.05) < 0.1
    assert resolve_place("London, CA").country == "CA" and resolve_place("London").country == "GB"
    assert resolve_place(" 25.03 , 121.56 ").lon_deg == 121.56
    with pytest.raises(InputError, match="did you mean Taipei"):
        resolve_place("Taipie")
    with pytest.raises(InputError):
        resolve_place("95,10")


def test_great_circle_and_fibre():
    # London-New York ~5,570 km; fibre equivalent = x 1.5 x 1.468.
    d = great_circle_km(51.5074, -0.1278, 40.7128, -74.006)
    assert 5560 < d < 5580
    assert fibre_km(d) == pytest.approx(d * 1.5 * FIBRE_GROUP_INDEX)


def test_plus_grid_matches_hypatia_isls(data_file):
    """Our +grid on 72 x 22 plane/slot labels equals Hypatia's isls.txt for Starlink-550."""
    plane, slot = np.divmod(np.arange(72 * 22), 22)
    ours = plus_grid(plane, slot, np.zeros(72 * 22, dtype=int), same_slot=True)
    hypatia = np.loadtxt(data_file("benchmarks/hypatia_starlink550/isls.txt"), dtype=np.int64)
    assert {tuple(p) for p in ours.tolist()} == {tuple(sorted(p)) for p in hypatia.tolist()}


def test_plus_grid_for_a_real_catalog_has_about_four_lasers(starlink):
    from skyfence.network.routing import in_service

    service = in_service(starlink)
    pairs = isl_pairs(starlink, "+grid", in_service=service)
    degree = np.bincount(pairs.ravel(), minlength=len(starlink))[service]
    assert 3.5 < degree.mean() < 4.5 and np.median(degree) == 4
    assert isl_pairs(starlink, "none").shape == (0, 2)
    with pytest.raises(InputError, match="ISL topology"):
        isl_pairs(starlink, "mesh")


def test_ground_links_against_look_angles():
    from skyfence.earth.geodesy import geodetic_to_ecef, look_angles

    rng = np.random.default_rng(4)
    sats = geodetic_to_ecef(rng.uniform(-60, 60, 500), rng.uniform(-180, 180, 500), 550.0)
    gi, si, r = ground_links(sats, [25.0, -33.9], [121.5, 151.2], min_elevation_deg=25.0)
    el, _, slant = look_angles(np.array([25.0, -33.9])[:, None], np.array([121.5, 151.2])[:, None], 0.0, sats[None])
    expected = np.argwhere(el >= 25.0)
    assert sorted(zip(gi.tolist(), si.tolist(), strict=True)) == [tuple(x) for x in expected.tolist()]
    np.testing.assert_allclose(r, slant[gi, si], rtol=1e-12)


def test_taiwan_foreign_gateways_against_hypothetical_gateway(starlink, ground, times):
    taipei = resolve_place("Taipei")
    foreign = latency(starlink, taipei, None, times, ground.exclude_gateways_in(["TW"]))
    summary = foreign.summary()
    assert summary["reachable_share"] == 1.0
    assert summary["gateways"] and all(g["country"] in {"JP", "PH", "GU"} for g in summary["gateways"])
    assert summary["pops"] and all(p["country"] not in {"TW", ""} for p in summary["pops"])
    # Propagation only: at least the straight distance Taipei -> Tokyo PoP and back at c.
    assert summary["min_rtt_ms"] > 2 * great_circle_km(25.05, 121.53, 35.68, 139.65) / C_KM_S * 1e3
    local = latency(
        starlink,
        taipei,
        None,
        times,
        ground.add_site("Taipei gateway", 25.03, 121.56).add_site("Taipei PoP", 25.04, 121.55, kind="pop"),
    )
    local_summary = local.summary()
    assert local_summary["gateways"][0]["name"] == "Taipei gateway" and local_summary["pops"][0]["country"] == "TW"
    assert local_summary["median_rtt_ms"] < summary["median_rtt_ms"] - 5.0
    bent_pipe = latency(starlink, taipei, None, times, ground.exclude_gateways_in(["TW"]), isl="none")
    assert all(len(s) == 1 for s in bent_pipe.satellites if s)  # one satellite per path without ISLs
    assert bent_pipe.summary()["median_rtt_ms"] >= summary["median_rtt_ms"] - 1e-9  # ISLs can only help


def test_rtt_at_least_great_circle_over_c_and_unreachable_is_null(starlink, ground, times):
    places = [resolve_place(p) for p in ("London", "Sydney", "New York", "Sao Paulo")]
    far = [resolve_place(p) for p in ("Tokyo", "Johannesburg", "Madrid", "Lima")]
    results = route_pairs(starlink, places, far, times[:3], ground)
    for src, dst, result in zip(places, far, results, strict=True):
        bound = 2 * great_circle_km(src.lat_deg, src.lon_deg, dst.lat_deg, dst.lon_deg) / C_KM_S * 1e3
        assert np.isfinite(result.rtt_ms).all() and (result.rtt_ms >= bound).all()
    # Point Nemo without ISLs: no gateway within a bent pipe's reach.
    pole = route_pairs(starlink, [resolve_place("-48.88,-123.39")], [None], times[:3], ground, isl="none")[0]
    assert np.isnan(pole.rtt_ms).all() and pole.summary()["median_rtt_ms"] is None
    doc = json.loads(json.dumps(pole.to_dict(), allow_nan=False))  # never NaN or Infinity in JSON
    assert doc["steps"][0]["rtt_ms"] is None and doc["steps"][0]["gateway"] is None


# --- CLI ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_app():
    import typer

    from skyfence.cli import network

    app = typer.Typer()
    app.add_typer(network.app, name="network")
    app.command("latency")(network.latency)
    return app


def test_cli_latency_json_names_foreign_gateways(cli_app, data_file, ground):
    result = CliRunner().invoke(
        cli_app,
        [
            "latency",
            str(data_file(TLE_2025)),
            "--from",
            "Taipei",
            "--to",
            "pop",
            "--start",
            "2025-09-23T12:00Z",
            "--duration",
            "2m",
            "--exclude-gateways-in",
            "TW",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert len(doc["steps"]) == 9 and doc["summary"]["gateways"][0]["country"] in {"JP", "PH", "GU"}
    human = CliRunner().invoke(
        cli_app,
        [
            "latency",
            str(data_file(TLE_2025)),
            "--from",
            "Taipei",
            "--start",
            "2025-09-23T12:00Z",
            "--duration",
            "1m",
            "--add-gateway",
            "Taipei GW=25.03,121.56",
            "--add-pop",
            "Taipei PoP=25.04,121.55",
        ],
    )
    assert human.exit_code == 0 and "Taipei GW [TW]" in human.output


def test_cli_routes_and_hypatia_state(cli_app, data_file, tmp_path):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text('from,to\nTaipei,pop\n"51.5,-0.13",New York\n')
    result = CliRunner().invoke(
        cli_app,
        [
            "network",
            "routes",
            str(data_file(TLE_2025)),
            "--pairs",
            str(pairs),
            "--start",
            "2025-09-23T12:00Z",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert [d["summary"]["destination"] == "pop" for d in doc] == [True, False]
    out = tmp_path / "state"
    result = CliRunner().invoke(
        cli_app,
        [
            "network",
            "hypatia-state",
            str(data_file("benchmarks/hypatia_starlink550")),
            "--duration",
            "2s",
            "--step",
            "1s",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert next(s["fstate_entries"] for s in json.loads(result.output)["steps"]) == 168_300
    assert sorted(p.name for p in out.iterdir())[0] == "fstate_0.txt"


def test_cli_bad_input_is_one_line(tmp_path, data_file):
    import shutil
    import subprocess
    import sys

    bad = tmp_path / "inputs"
    shutil.copytree(data_file("benchmarks/hypatia_starlink550"), bad)
    (bad / "isls.txt").chmod(0o644)
    (bad / "isls.txt").write_text("0 1\n0 99999\n")
    code = (
        "import typer, sys\n"
        "from skyfence.cli import network\n"
        "from skyfence.cli._common import fail\n"
        "from skyfence.errors import SkyfenceError\n"
        "app = typer.Typer(); app.add_typer(network.app, name='network')\n"
        "try:\n    app(sys.argv[1:])\nexcept SkyfenceError as e:\n    fail(str(e))\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "network",
            "hypatia-state",
            str(bad),
            "--duration",
            "1s",
            "--step",
            "1s",
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "isls.txt:2" in done.stderr and "satellite 99999 does not exist" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
