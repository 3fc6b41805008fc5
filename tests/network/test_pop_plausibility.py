"""The operator PoP assignment's plausibility check: a row whose PoP lies far beyond the nearest PoP listed for the
same geofeed city (a mis-geolocated prefix) is left out and named in one line; real long detours are kept."""

from __future__ import annotations

from skyfence.network.pops import IMPLAUSIBLE_DETOUR_KM, load_pop_assignment

HEADER = "iso_a2,region,city,pop_code,pop_city,n_prefixes,source_file,pop_metro_code,n_ptr_confirmed\n"


def test_the_snapshot_loses_only_its_los_angeles_almaty_row(data_dir):
    assignment = load_pop_assignment()
    assert len(assignment.excluded) == 1
    line = assignment.excluded[0]
    assert line.startswith(
        "starlink_country_pop_assignment_20261008.csv line 362: PoP Almaty (almykaz1) for Los Angeles, US"
    )
    assert "11,282 km beyond the nearest PoP listed for that city (lsancax1" in line and "left out" in line
    us = assignment.table[assignment.table["iso_a2"] == "US"]
    assert "almykaz1" not in set(us["pop_code"])
    # Almaty still serves Central Asia; the real intercontinental detours stay (Dubai -> Frankfurt, 4,462 km beyond
    # Doha: a share Starlink really sends there)
    assert "almykaz1" in set(assignment.table.loc[assignment.table["iso_a2"] == "KZ", "pop_code"])
    dubai = assignment.table[(assignment.table["iso_a2"] == "AE") & (assignment.table["city"] == "Dubai")]
    assert set(dubai["pop_code"]) == {"dohaqat1", "frntdeu1"}
    shares = assignment.shares("US", 34.05, -118.24)  # Los Angeles
    assert "almykaz1" not in shares and abs(sum(shares.values()) - 1.0) < 1e-9


def test_a_pop_too_far_beyond_the_nearest_is_left_out_with_its_line(data_dir, tmp_path):
    path = tmp_path / "assignment.csv"
    path.write_text(
        HEADER
        + "TW,TW-TPE,Taipei,tkyojpn1,Tokyo,5,x,tyo,5\n"  # 2,100 km: the nearest listed
        + "TW,TW-TPE,Taipei,frntdeu1,Frankfurt,1,x,fra,1\n"  # 9,400 km: 7,300 km beyond Tokyo
        + "JP,JP-13,Tokyo,frntdeu1,Frankfurt,1,x,fra,1\n"  # the only PoP listed for Tokyo: nothing to compare
    )
    assignment = load_pop_assignment(path)
    assert [line.split(":")[0] for line in assignment.excluded] == ["assignment.csv line 3"]
    assert "frntdeu1" in assignment.excluded[0] and f"limit {IMPLAUSIBLE_DETOUR_KM:,.0f} km" in assignment.excluded[0]
    assert assignment.shares("TW") == {"tkyojpn1": 1.0}
    assert assignment.shares("JP") == {"frntdeu1": 1.0}
