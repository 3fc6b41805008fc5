"""``skyfence export czml``: the file's packets, clock and samples; positions against skyfield; GSLs against
skyfield's look angles; bad input is one line and leaves nothing behind."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path

import numpy as np
import pytest

TLE = "tle/oneweb_20250923.tle"
START, DURATION, STEP = "2025-09-23T12:00:00Z", "10m", "60s"
N_SAMPLES = 11


@pytest.fixture(scope="module")
def exported(data_dir, tmp_path_factory) -> dict:
    """The real OneWeb catalog of 2025-09-23 over 10 minutes, with the Starlink ground list (on purpose: OneWeb's is
    not in the data), GSLs and ISLs."""
    from skyfence.report.czml import export_czml

    out = tmp_path_factory.mktemp("czml") / "oneweb.czml"
    export = export_czml(
        str(data_dir / TLE),
        out,
        start=START,
        duration=DURATION,
        step=STEP,
        sites="starlink_ground_stations",
        gsl=True,
        isl=True,
        lasers="all",
    )
    packets = json.loads(out.read_text())
    return {"export": export, "packets": packets, "by_id": {p["id"]: p for p in packets}, "out": out}


@pytest.fixture(scope="module")
def constellation(data_dir):
    from skyfence.orbits.sources import load_constellation

    return load_constellation(data_dir / TLE)


@pytest.fixture(scope="module")
def ground():
    from skyfence.network.ground import load_ground_segment

    return load_ground_segment()


def test_document_packet_comes_first_with_the_clock(exported):
    document = exported["packets"][0]
    assert document["id"] == "document" and document["version"] == "1.0"
    assert document["clock"]["interval"] == "2025-09-23T12:00:00.000Z/2025-09-23T12:10:00.000Z"
    assert document["clock"]["currentTime"] == "2025-09-23T12:00:00.000Z"
    assert "/work/" not in json.dumps(document) and "/tmp/" not in json.dumps(document)  # no machine paths


def test_one_packet_per_satellite_site_and_link(exported, constellation, ground):
    packets, export = exported["packets"], exported["export"]
    ids = [p["id"] for p in packets]
    assert len(ids) == len(set(ids)) == export.packets
    satellites = [i for i in ids if i.startswith("satellite/")]
    assert sorted(satellites) == sorted(f"satellite/{n}" for n in constellation.satellites["norad_id"])
    assert sorted(i for i in ids if i.startswith("gateway/")) == sorted(f"gateway/{n}" for n in ground.gateways.name)
    assert sorted(i for i in ids if i.startswith("pop/")) == sorted(f"pop/{n}" for n in ground.pops.name)
    gsl = [i for i in ids if i.startswith("gsl/")]
    isl = [i for i in ids if i.startswith("isl/")]
    assert len(gsl) == export.gsl_links > 100 and len(isl) == export.isl_links > 500
    assert len(satellites) + export.sites + len(gsl) + len(isl) + 1 == len(ids)
    kinds = {i.split("/", 1)[0] for i in ids}
    assert kinds == {"document", "satellite", "gateway", "pop", "gsl", "isl"}


def test_every_satellite_has_the_whole_span_and_all_samples(exported):
    span = exported["packets"][0]["clock"]["interval"]
    heights_km = []
    for packet in exported["packets"]:
        if not packet["id"].startswith("satellite/"):
            continue
        assert packet["availability"] == span
        position = packet["position"]
        assert position["referenceFrame"] == "FIXED" and position["epoch"] == "2025-09-23T12:00:00.000Z"
        samples = np.reshape(position["cartesian"], (-1, 4))
        assert len(samples) == N_SAMPLES
        assert samples[:, 0].tolist() == [60.0 * k for k in range(N_SAMPLES)]
        heights_km.append(np.linalg.norm(samples[:, 1:], axis=1) / 1000 - 6378)
    heights_km = np.array(heights_km)
    assert np.all((heights_km > 150) & (heights_km < 1400))  # LEO; some satellites are still raising their orbit
    assert np.mean((heights_km > 1150) & (heights_km < 1300)) > 0.9  # OneWeb's shell at about 1,200 km


def test_a_sample_equals_skyfields_itrs_position(exported, data_dir):
    from skyfield.api import load
    from skyfield.framelib import itrs

    ts = load.timescale(builtin=True)
    satellites = {s.model.satnum: s for s in load.tle_file(str(data_dir / TLE), ts=ts)}
    packet = exported["by_id"]["satellite/44057"]
    t_s, *xyz_m = np.reshape(packet["position"]["cartesian"], (-1, 4))[7]
    t = ts.utc(2025, 9, 23, 12, 0, t_s)
    expected_m = satellites[44057].at(t).frame_xyz(itrs).m
    assert np.linalg.norm(np.array(xyz_m) - expected_m) < 0.2  # written to 0.1 m


def test_gsl_links_the_nearest_gateway_above_25_deg(exported, ground, data_dir):
    """Check three links against skyfield's geodetic look angles from every gateway (independent of skyfence)."""
    from skyfield.api import load, wgs84

    ts = load.timescale(builtin=True)
    satellites = {s.model.satnum: s for s in load.tle_file(str(data_dir / TLE), ts=ts)}
    gateways = ground.gateways
    stations = [wgs84.latlon(r.lat_deg, r.lon_deg, elevation_m=r.alt_km * 1000) for r in gateways.itertuples()]
    links = [p for p in exported["packets"] if p["id"].startswith("gsl/")]
    for packet in links[:: max(1, len(links) // 3)][:3]:
        first = packet["polyline"]["positions"][0]
        moment = first["interval"].split("/")[0]
        sat_ref, gw_ref = first["references"]
        norad = int(packet["id"].split("/")[1])
        assert sat_ref == f"satellite/{norad}#position"
        t = ts.from_datetime(np.datetime64(moment.rstrip("Z")).astype("datetime64[us]").item().replace(tzinfo=UTC))
        best, best_km = None, np.inf
        for row, station in zip(gateways.itertuples(), stations, strict=True):
            alt, _, distance = (satellites[norad] - station).at(t).altaz()
            if alt.degrees >= 25.0 and distance.km < best_km:
                best, best_km = row.name, distance.km
        assert gw_ref == f"gateway/{best}#position", moment


def test_links_reference_packets_of_the_file(exported):
    ids = set(exported["by_id"])
    degree: dict[str, int] = {}
    for packet in exported["packets"]:
        if packet["id"].startswith("isl/"):
            refs = packet["polyline"]["positions"]["references"]
            for ref in refs:
                degree[ref] = degree.get(ref, 0) + 1
        elif packet["id"].startswith("gsl/"):
            refs = [r for piece in packet["polyline"]["positions"] for r in piece["references"]]
            assert len(packet["availability"]) <= len(packet["polyline"]["positions"])
        else:
            continue
        assert all(ref.removesuffix("#position") in ids for ref in refs), packet["id"]
    assert np.median(list(degree.values())) == 4  # +grid: two in-plane and two cross-plane lasers


def test_isls_are_the_routing_models_grid(exported, constellation):
    from skyfence.network.links import isl_pairs
    from skyfence.network.routing import in_service
    from skyfence.orbits.time import parse_time

    norad = constellation.satellites["norad_id"].to_numpy()
    pairs = isl_pairs(constellation, "+grid", t_ref=parse_time(START), in_service=in_service(constellation))
    expected = {f"isl/{norad[a]}-{norad[b]}" for a, b in pairs}
    assert {i for i in exported["by_id"] if i.startswith("isl/")} == expected


def test_the_cli_writes_the_file_and_a_summary(skyfence_cli, data_dir, tmp_path):
    out = tmp_path / "plain.czml"
    ran = skyfence_cli(
        "export", "czml", "oneweb_tle_20250923", "--start", START, "--duration", "5m", "--out", out, "--json"
    )
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout)
    packets = json.loads(out.read_text())
    assert summary["packets"] == len(packets) == 1 + summary["satellites"] + summary["sites"]
    assert summary["satellites"] == 651 and summary["samples_per_satellite"] == 6
    assert summary["gsl_links"] == summary["isl_links"] == 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["nosuch_catalog"], "is not a file, a preset"),
        (["oneweb", "--duration", "-5m"], "duration must not be negative"),
        (["oneweb", "--step", "0s"], "step must be positive"),
        (["starlink-gen1", "--duration", "1d", "--step", "10s"], "position samples, more than"),
        (["oneweb", "--lasers", "some"], "laser availability"),
        (["oneweb", "--status", "live"], "site status"),
        (["oneweb", "--start", "yesterday"], "cannot read time"),
    ],
    ids=["unknown-source", "negative-duration", "zero-step", "too-many-samples", "lasers", "status", "start"],
)
def test_bad_input_is_one_line_and_leaves_the_old_file(skyfence_cli, data_dir, tmp_path, args, needle):
    out = tmp_path / "kept.czml"
    out.write_text("old")
    span = [] if "--duration" in args else ["--duration", "2m"]
    ran = skyfence_cli("export", "czml", *args, *span, "--isl", "--out", out)
    assert ran.returncode != 0
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in ran.stderr, ran.stderr
    assert needle in lines[0], lines[0]
    assert out.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["kept.czml"]  # no temporary file left behind


def test_wrong_suffix_is_refused_before_any_work(skyfence_cli, tmp_path):
    ran = skyfence_cli("export", "czml", "oneweb", "--out", tmp_path / "x.json")
    assert ran.returncode != 0 and "use a .czml file name" in ran.stderr
    assert not any(Path(tmp_path).iterdir())


SMALL = Path(__file__).parents[1] / "data" / "scenarios" / "small.toml"


def _scenario(tmp_path: Path, outputs: str) -> Path:
    text = SMALL.read_text().replace('file = "../../../examples/', f'file = "{SMALL.parents[3]}/examples/')
    file = tmp_path / "small.toml"
    file.write_text(text + "\n[outputs]\n" + outputs)
    return file


def test_assess_writes_czml_beside_the_report_and_links_it(skyfence_cli, data_dir, tmp_path):
    plain = skyfence_cli("assess", _scenario(tmp_path, ""), "--out", tmp_path / "plain")
    assert plain.returncode == 0, plain.stderr
    assert not (tmp_path / "plain" / "czml").exists()  # off by default
    assert 'id="czml"' not in (tmp_path / "plain" / "report.html").read_text()
    scenario = _scenario(tmp_path, 'czml = true\nczml_duration = "10m"\nczml_step = "2m"\n')
    ran = skyfence_cli("assess", scenario, "--out", tmp_path / "report")
    assert ran.returncode == 0, ran.stderr
    report = (tmp_path / "report" / "report.html").read_text()
    for name, satellites, lasers in (("starlink-550", 1584, True), ("oneweb", 588, False)):
        file = tmp_path / "report" / "czml" / f"{name}.czml"
        packets = json.loads(file.read_text())
        assert packets[0]["id"] == "document"
        assert packets[0]["clock"]["interval"] == "2026-01-01T00:00:00.000Z/2026-01-01T00:10:00.000Z"
        sats = [p for p in packets if p["id"].startswith("satellite/")]
        assert len(sats) == satellites
        assert all(len(p["position"]["cartesian"]) == 4 * 6 for p in sats)  # 0, 2, ..., 10 min
        assert any(p["id"].startswith("gsl/") for p in packets)
        assert any(p["id"].startswith("isl/") for p in packets) is lasers  # OneWeb Gen1 has no inter-satellite links
        assert f'href="czml/{name}.czml"' in report
    assert f"CZML: {tmp_path / 'report' / 'czml' / 'oneweb.czml'}" in ran.stdout.replace("\n", "")


@pytest.mark.parametrize(
    ("outputs", "needle"),
    [
        ('czml = true\nczml_step = "-1m"\n', "outputs.czml_step"),
        ('czml = true\nczml_duration = "soon"\n', "outputs.czml_duration"),
        ('czml = true\nczml_duration = "2h"\nczml_step = "1s"\n', "outputs.czml_step"),
    ],
    ids=["negative-step", "bad-duration", "too-many-samples"],
)
def test_assess_czml_bad_keys_are_one_line(skyfence_cli, data_dir, tmp_path, outputs, needle):
    ran = skyfence_cli("assess", _scenario(tmp_path, outputs), "--out", tmp_path / "report")
    assert ran.returncode != 0
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in ran.stderr, ran.stderr
    assert needle in lines[0], lines[0]
    assert not (tmp_path / "report").exists()  # nothing half-written
