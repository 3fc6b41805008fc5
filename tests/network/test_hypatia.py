"""Hypatia compatibility on the real W1 inputs: invariants, Hypatia's rules, pyephem positions, bad input."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skyfence.errors import InputError
from skyfence.network import hypatia as h

W1 = "benchmarks/hypatia_starlink550"
N_SAT, N_GS = 1584, 100


@pytest.fixture(scope="module")
def w1(data_file) -> h.HypatiaInputs:
    return h.read_hypatia_inputs(data_file(W1))


@pytest.fixture(scope="module")
def w1_out(w1, tmp_path_factory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("w1_state")
    summary = h.generate_dynamic_state(w1, out, duration_ns=3_000_000_000, step_ns=1_000_000_000)
    return out, summary


def _read_fstate(path: Path) -> np.ndarray:
    text = path.read_text()
    if not text:
        return np.empty((0, 5), dtype=np.int64)
    return np.array([line.split(",") for line in text.splitlines()], dtype=np.int64)


def test_w1_inputs_are_read(w1):
    assert (w1.n_orbits, w1.sats_per_orbit, w1.n_satellites, w1.n_ground_stations) == (72, 22, N_SAT, N_GS)
    assert w1.epoch == np.datetime64("2000-01-01T00:00:00", "ns")  # t = 0 as the TLEs encode (00001.0)
    assert len(w1.isls) == 2 * N_SAT  # +grid: one in-plane and one cross-plane ISL per satellite
    assert w1.max_gsl_length_m == pytest.approx(1089686.4181956202)
    assert w1.ground_station_names[0] == "Tokyo"


def test_w1_files_and_entry_counts(w1_out):
    out, summary = w1_out
    times = [0, 1_000_000_000, 2_000_000_000]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"fstate_{t}.txt" for t in times] + [f"gsl_if_bandwidth_{t}.txt" for t in times]
    )
    full = _read_fstate(out / "fstate_0.txt")
    assert len(full) == 1584 * 100 + 100 * 99 == summary[0]["fstate_entries"]
    # Every (node, destination) appears once, satellites first then ground-station pairs, as satgenpy writes.
    assert full[0].tolist()[:2] == [0, N_SAT] and full[N_SAT * N_GS].tolist()[:2] == [N_SAT, N_SAT + 1]
    # After t = 0 only changed entries are written, and each names a valid (node, destination) key.
    for t, s in zip(times[1:], summary[1:], strict=True):
        delta = _read_fstate(out / f"fstate_{t}.txt")
        assert 0 < len(delta) == s["fstate_entries"] < len(full) // 100
        assert (delta[:, 1] >= N_SAT).all()
    bandwidth = (out / "gsl_if_bandwidth_0.txt").read_text().splitlines()
    assert len(bandwidth) == N_SAT + N_GS
    assert bandwidth[0] == "0,4,1.000000" and bandwidth[N_SAT] == f"{N_SAT},0,1.000000"
    assert (out / "gsl_if_bandwidth_1000000000.txt").read_text() == ""


def _apply(state: dict, rows: np.ndarray) -> None:
    for cur, dst, nxt, my_if, nxt_if in rows.tolist():
        state[(cur, dst)] = (nxt, my_if, nxt_if)


def test_w1_invariants_every_pair_reachable_and_rtt_above_great_circle(w1, w1_out):
    """Follow the written fstate hop by hop for all 9,900 pairs at t = 0, 1, 2 s."""
    out, _ = w1_out
    positions = h.hypatia_positions_m(w1.satrecs, w1.epoch_jd, np.array([0, 1, 2]) * 1_000_000_000)
    ground = w1.ground_xyz_m
    state: dict = {}
    for step, t in enumerate([0, 1_000_000_000, 2_000_000_000]):
        _apply(state, _read_fstate(out / f"fstate_{t}.txt"))
        nodes = np.vstack([positions[:, step], ground])
        src, dst = np.divmod(np.arange(N_GS * N_GS), N_GS)
        keep = src != dst
        src, dst = src[keep] + N_SAT, dst[keep] + N_SAT
        length = np.zeros(len(src))
        here = src.copy()
        for _ in range(N_SAT + 2):
            moving = here != dst
            if not moving.any():
                break
            nxt = np.array([state[(a, b)][0] for a, b in zip(here[moving], dst[moving], strict=True)])
            assert (nxt >= 0).all(), "unreachable pair"
            length[moving] += np.linalg.norm(nodes[nxt] - nodes[here[moving]], axis=1)
            here[moving] = nxt
        assert (here == dst).all(), "forwarding loop"
        # Great circle on a sphere through the lower of the two stations: a path that stays outside the
        # Earth can only be longer.  RTT = 2 x length / c.
        a, b = ground[src - N_SAT], ground[dst - N_SAT]
        radius = np.minimum(np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1))
        cos_angle = np.clip(np.einsum("ij,ij->i", a, b) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1), -1, 1)
        great_circle_m = radius * np.arccos(cos_angle)
        rtt_ms = 2 * length / h.SPEED_OF_LIGHT_M_S * 1e3
        assert np.isfinite(rtt_ms).all()
        assert (rtt_ms >= 2 * great_circle_m / h.SPEED_OF_LIGHT_M_S * 1e3).all()
        # The walked path has the length the state was computed from.
        recomputed = h.compute_forwarding_state(positions[:, step], ground, w1.isls, w1.max_gsl_length_m)
        np.testing.assert_allclose(length, recomputed.gs_to_gs_m[src - N_SAT, dst - N_SAT], rtol=1e-9)


def _hypatia_reference(isl_m, gsl_m, isls, n_sat):
    """A literal re-statement of satgenpy's loops (Floyd-Warshall, sorted tuples, strict '<' over neighbours)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import floyd_warshall

    n_gs = gsl_m.shape[0]
    graph = csr_matrix((isl_m, (isls[:, 0], isls[:, 1])), shape=(n_sat, n_sat))
    fw = floyd_warshall(graph, directed=False)
    neighbours: list[list[int]] = [[] for _ in range(n_sat)]
    iface: dict = {}
    weight: dict = {}
    for (a, b), w in zip(isls.tolist(), isl_m.tolist(), strict=True):
        iface[(a, b)], iface[(b, a)] = len(neighbours[a]), len(neighbours[b])
        neighbours[a].append(b)
        neighbours[b].append(a)
        weight[(a, b)] = weight[(b, a)] = w
    in_range = [[(gsl_m[g, s], s) for s in range(n_sat) if np.isfinite(gsl_m[g, s])] for g in range(n_gs)]
    rows, to_gs = [], {}
    for cur in range(n_sat):
        for g in range(n_gs):
            options = sorted((fw[cur, s] + d, s) for d, s in in_range[g] if not math.isinf(fw[cur, s]))
            decision, dist = (-1, -1, -1), math.inf
            if options:
                dist, exit_sat = options[0]
                if cur != exit_sat:
                    best = 1e15
                    for n in neighbours[cur]:
                        if weight[(cur, n)] + fw[n, exit_sat] < best:
                            best = weight[(cur, n)] + fw[n, exit_sat]
                            decision = (n, iface[(cur, n)], iface[(n, cur)])
                else:
                    decision = (n_sat + g, len(neighbours[cur]), 0)
            to_gs[(cur, g)] = dist
            rows.append(decision)
    for s in range(n_gs):
        for t in range(n_gs):
            if s != t:
                options = sorted((d + to_gs[(a, t)], a) for d, a in in_range[s] if not math.isinf(to_gs[(a, t)]))
                rows.append((options[0][1], 0, len(neighbours[options[0][1]])) if options else (-1, -1, -1))
    return np.array(rows, dtype=np.int64)


def test_w1_next_hops_follow_hypatias_rules_exactly(w1):
    """Our vectorised Dijkstra-from-ground-stations against a literal port of satgenpy's loops (25 cities)."""
    ground = w1.ground_xyz_m[:25]
    position = h.hypatia_positions_m(w1.satrecs, w1.epoch_jd, np.array([0]))[:, 0]
    ours = h.compute_forwarding_state(position, ground, w1.isls, w1.max_gsl_length_m)
    reference = _hypatia_reference(ours.isl_m, ours.gsl_m, w1.isls, N_SAT)
    assert ours.decision.shape == reference.shape == (N_SAT * 25 + 25 * 24, 3)
    np.testing.assert_array_equal(ours.decision, reference)


#: Starlink Gen1 as modified by FCC 21-48: (altitude km, inclination deg, orbits, satellites per orbit).
GEN1_SHELLS = ((550, 53.0, 72, 22), (540, 53.2, 72, 22), (570, 70.0, 36, 20), (560, 97.6, 6, 58), (560, 97.6, 4, 43))


def _gen1_as_satgenpy_writes_it() -> tuple[tuple, np.ndarray]:
    """The five Gen1 shells through satgenpy's ``generate_tles_from_scratch_manual`` (epoch 2000-01-01, no phase
    shift, e = 1e-7) and ``generate_plus_grid_isls`` (``isl_shift=0``, ``idx_offset`` per shell), ids in shell
    order; mean motion from the altitude (WGS-72)."""
    from sgp4.api import WGS72, Satrec

    def checksum(line: str) -> str:
        return str(sum(int(c) if c.isdigit() else int(c == "-") for c in line) % 10)

    satrecs, isls, counter = [], [], 0
    for alt_km, inc_deg, n_orbits, n_per in GEN1_SHELLS:
        mean_motion = 86400.0 / (2 * math.pi * math.sqrt((6378.135 + alt_km) ** 3 / 398600.8))
        offset = counter
        for orbit in range(n_orbits):
            for n in range(n_per):
                l1 = f"1 {counter + 1:05d}U 00000ABC 00001.00000000  .00000000  00000-0  00000+0 0    0"
                l2 = "2 {:05d} {} {} {} {} {} {}    0".format(  # satgenpy's "%3.4f" fields, right-aligned
                    counter + 1,
                    f"{inc_deg:3.4f}".rjust(8),
                    f"{orbit * 360.0 / n_orbits:3.4f}".rjust(8),
                    f"{0.0000001:0.7f}"[2:],
                    f"{0.0:3.4f}".rjust(8),
                    f"{n * 360 / n_per:3.4f}".rjust(8),
                    f"{mean_motion:2.8f}".rjust(11),
                )
                satrecs.append(Satrec.twoline2rv(l1 + checksum(l1), l2 + checksum(l2), WGS72))
                counter += 1
        for i in range(n_orbits):
            for j in range(n_per):
                sat, same = i * n_per + j, i * n_per + (j + 1) % n_per
                adjacent = ((i + 1) % n_orbits) * n_per + j
                isls += [
                    (offset + min(sat, same), offset + max(sat, same)),
                    (offset + min(sat, adjacent), offset + max(sat, adjacent)),
                ]
    return tuple(satrecs), np.array(isls, dtype=np.int64)


@pytest.mark.slow
def test_gen1_variant_of_w1_breaks_exact_ties_as_satgenpy(w1, monkeypatch):
    """Gen1's 4,408 satellites, W1's 100 cities, t = 0: every one of the 450,700 fstate entries equals the literal
    satgenpy port (Floyd--Warshall over all satellites), including the entries decided by exact ties in the polar
    and 70-degree shells."""
    satrecs, isls = _gen1_as_satgenpy_writes_it()
    assert len(satrecs) == 4408 and len(isls) == 2 * 4408
    position = h.hypatia_positions_m(satrecs, w1.epoch_jd, np.array([0]))[:, 0]
    ours = h.compute_forwarding_state(position, w1.ground_xyz_m, isls, w1.max_gsl_length_m)
    reference = _hypatia_reference(ours.isl_m, ours.gsl_m, isls, len(satrecs))
    assert ours.decision.shape == reference.shape == (4408 * 100 + 100 * 99, 3)
    np.testing.assert_array_equal(ours.decision, reference)
    # Without the tie rule, Dijkstra's rounding decides some of those entries differently.
    monkeypatch.setattr(h, "_break_ties_as_satgenpy", lambda *args: None)
    plain = h.compute_forwarding_state(position, w1.ground_xyz_m, isls, w1.max_gsl_length_m)
    assert 0 < int((plain.decision != reference).any(axis=1).sum()) < 100


def test_w1_positions_against_pyephem(w1, data_file):
    """What Hypatia computes (pyephem) against what we compute: metres, and the same in-range sets."""
    ephem = pytest.importorskip("ephem")
    lines = data_file(f"{W1}/tles.txt").read_text().splitlines()
    sats = [ephem.readtle(*lines[1 + 3 * i : 4 + 3 * i]) for i in range(N_SAT)]
    offsets = np.array([0, 1, 2]) * 1_000_000_000
    positions = h.hypatia_positions_m(w1.satrecs, w1.epoch_jd, offsets)
    for step, date in enumerate(["2000/1/1 00:00:00", "2000/1/1 00:00:01", "2000/1/1 00:00:02"]):
        ranges = np.empty((N_GS, N_SAT))
        for g in range(N_GS):
            observer = ephem.Observer()
            observer.epoch, observer.date = "2000/1/1", date
            observer.lat, observer.lon = str(w1.ground_lat_deg[g]), str(w1.ground_lon_deg[g])
            observer.elevation = float(w1.ground_elevation_m[g])
            for s, sat in enumerate(sats):
                sat.compute(observer)
                ranges[g, s] = sat.range
        ours = h.compute_forwarding_state(positions[:, step], w1.ground_xyz_m, w1.isls, w1.max_gsl_length_m)
        diff = np.linalg.norm(w1.ground_xyz_m[:, None] - positions[None, :, step], axis=2) - ranges
        near = ranges <= 1.2 * w1.max_gsl_length_m
        assert abs(diff[near].mean()) < 10.0 and diff[near].std() < 40.0 and abs(diff[near]).max() < 100.0
        # Same (ground station, satellite) pairs in range as pyephem gives (918, 917, 917 of them).
        np.testing.assert_array_equal(np.isfinite(ours.gsl_m), ranges <= w1.max_gsl_length_m)
        # Next hops computed from pyephem's GSL ranges agree with ours in >= 99.99 % of the entries.
        from_ephem = h.compute_forwarding_state(
            positions[:, step],
            w1.ground_xyz_m,
            w1.isls,
            w1.max_gsl_length_m,
            isl_length_m=ours.isl_m,
            gsl_length_m=ranges,
        )
        assert (from_ephem.decision == ours.decision).all(axis=1).mean() >= 0.9999
        np.testing.assert_allclose(from_ephem.rtt_ms(), ours.rtt_ms(), atol=0.002)  # 2 us


def test_itrf_frame_moves_ground_fixed_positions_by_earth_rotation_offset(w1):
    hyp = h.hypatia_positions_m(w1.satrecs[:10], w1.epoch_jd, np.array([0]))
    itrf = h.hypatia_positions_m(w1.satrecs[:10], w1.epoch_jd, np.array([0]), frame="itrf")
    shift_m = np.linalg.norm(hyp - itrf, axis=-1)
    # UT1 - UTC = +0.355 s on 2000-01-01: ~0.355 s x 7.29e-5 rad/s x 6,900 km ~ 180 m, plus polar motion.
    assert 100 < shift_m.min() and shift_m.max() < 300


def test_unreachable_ground_station_gives_minus_one_and_nan(w1):
    position = h.hypatia_positions_m(w1.satrecs, w1.epoch_jd, np.array([0]))[:, 0]
    north_pole = np.array([[0.0, 0.0, 6356752.0]])  # no 53-degree satellite within 1,090 km
    ground = np.vstack([w1.ground_xyz_m[:2], north_pole])
    state = h.compute_forwarding_state(position, ground, w1.isls, w1.max_gsl_length_m)
    rtt = state.rtt_ms()
    assert np.isnan(rtt[0, 2]) and np.isnan(rtt[2, 0]) and np.isfinite(rtt[0, 1])
    to_pole = state.destination == N_SAT + 2
    assert (state.decision[to_pole] == -1).all()
    from_pole = state.current == N_SAT + 2
    assert (state.decision[from_pole] == -1).all()


# --- bad input ---------------------------------------------------------------------------------------------------


@pytest.fixture
def w1_copy(data_file, tmp_path) -> Path:
    target = tmp_path / "inputs"
    shutil.copytree(data_file(W1), target)
    for p in target.iterdir():
        p.chmod(0o644)
    return target


def _corrupt(path: Path, line: int, text: str) -> None:
    lines = path.read_text().splitlines()
    lines[line - 1] = text
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("file", "line", "text", "message"),
    [
        ("ground_stations.txt", 7, "6,Cairo,30.06,31.24,0.0,4758000.0", "6 columns, expected 8"),
        ("ground_stations.txt", 3, "5,Shanghai,31.2,121.4,0,1,2,3", "ground station id 5, expected 2"),
        ("isls.txt", 12, "5 1584", "satellite 1584 does not exist"),
        ("isls.txt", 4, "1 23 7", "3 columns, expected 2"),
        ("isls.txt", 5, "2 2", "must be larger"),
        ("tles.txt", 1, "72", "header has 1 fields"),
        ("description.txt", 1, "max_gsl_length_m=far", "is not a number"),
        ("gsl_interfaces_info.txt", 9, "8,1", "2 columns, expected 3"),
    ],
)
def test_malformed_inputs_name_file_and_line(w1_copy, file, line, text, message):
    _corrupt(w1_copy / file, line, text)
    with pytest.raises(InputError) as info:
        h.read_hypatia_inputs(w1_copy)
    error = info.value
    assert message in str(error)
    assert error.source.endswith(file) and error.line == line
    assert f"{file}:{line}" in str(error) and "\n" not in str(error)


def test_missing_file_and_short_isl_limit(w1_copy, tmp_path):
    (w1_copy / "description.txt").write_text("max_gsl_length_m=1089686.4\nmax_isl_length_m=1000\n")
    inputs = h.read_hypatia_inputs(w1_copy)
    with pytest.raises(InputError, match="above max_isl_length_m"):
        h.generate_dynamic_state(inputs, tmp_path / "out", duration_ns=1_000_000_000, step_ns=1_000_000_000)
    (w1_copy / "isls.txt").unlink()
    with pytest.raises(InputError, match=r"missing isls\.txt"):
        h.read_hypatia_inputs(w1_copy)


def test_time_steps_follow_satgenpy():
    assert h.hypatia_time_offsets_ns(3_000_000_000, 1_000_000_000).tolist() == [0, 1_000_000_000, 2_000_000_000]
    assert h.hypatia_time_offsets_ns(2_500_000_000, 1_000_000_000).tolist() == [0, 1_000_000_000]
    with pytest.raises(InputError):
        h.hypatia_time_offsets_ns(1, 0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(-1, 10**15), min_size=5, max_size=5), min_size=1, max_size=40))
def test_format_int_rows_matches_percent_d(rows):
    expected = "".join("%d,%d,%d,%d,%d\n" % tuple(r) for r in rows).encode()  # noqa: UP031 - satgenpy's format
    assert h.format_int_rows(np.array(rows)) == expected


def test_gmst82_reference_value():
    # Vallado (2013) Example 3-5: 1992-08-20 12:14 UT1 -> GMST 152.578787810 deg.
    gmst = h.gmst82_rad(2448854.5, (12 * 3600 + 14 * 60) / 86400.0)
    assert math.degrees(gmst) == pytest.approx(152.578787810, abs=1e-6)


def test_network_front_door_names_resolve():
    import skyfence.network as network

    assert network.__all__ == sorted(network.__all__)
    for name in network.__all__:
        assert getattr(network, name) is not None
