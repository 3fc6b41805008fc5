"""Durability: batched telemetry posted with idempotency keys while the server is SIGKILLed and restarted; every
batch acknowledged with 2xx is stored exactly once (all its fixes and decisions, nothing twice) -- on SQLite and
on PostgreSQL.  The second test does the same with tracks that raise detection alerts all along the stream: after
the kills, the alerts and the per-terminal detector state are exactly those of one uninterrupted offline run over
the same stream (nothing lost, nothing duplicated, state resumed).

A load generator (three client threads) posts batches and retries each one with the same key and body until it is
acknowledged; a killer thread SIGKILLs the uvicorn process at random moments and restarts it.  Some acknowledged
batches are re-sent on purpose and must be answered as replays.  Afterwards the database is read directly.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import create_engine, text

from skyfence.service.core.db import normalise_url
from tests.service.conftest import KYIV, PARIS, TAIPEI, World, auth, operator_key, populate
from tests.service.server import ServerProcess

WORKERS = 3
MIN_BATCHES_PER_WORKER = 12  # each worker keeps posting until the killer is done, and at least this many
MAX_BATCHES_PER_WORKER = 400
FIXES_PER_BATCH = 120
KILLS = 5
DEADLINE_S = 240.0


@dataclass
class Ledger:
    """What the clients saw."""

    sent: dict[str, list[dict]] = field(default_factory=dict)
    acked: dict[str, int] = field(default_factory=dict)  # key -> batch id
    interrupted: int = 0  # requests that failed (connection refused or lost, 5xx) and were retried
    lost_in_flight: int = 0  # requests sent whose answer never came (the server died while handling them)
    replays: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _batches(worker: int, terminals: dict[str, int]) -> Iterator[tuple[str, list[dict]]]:
    rng = random.Random(1000 + worker)
    start = datetime(2026, 8, 22, tzinfo=UTC)
    places = [(terminals["tw"], TAIPEI), (terminals["ua"], KYIV), (terminals["pl"], PARIS)]
    for b in range(MAX_BATCHES_PER_WORKER):
        fixes = []
        for i in range(FIXES_PER_BATCH):
            terminal, (lat, lon) = places[rng.randrange(3)]
            moment = start + timedelta(seconds=worker * 1_000_000 + b * 1000 + i)
            fixes.append(
                {
                    "terminal_id": terminal,
                    "time": moment.isoformat().replace("+00:00", "Z"),
                    "lat_deg": round(lat + rng.uniform(-0.05, 0.05), 6),
                    "lon_deg": round(lon + rng.uniform(-0.05, 0.05), 6),
                    "speed_kmh": round(rng.choice([0.0, 0.0, 40.0, 130.0]), 1),
                }
            )
        yield f"durability-w{worker}-b{b}-{rng.getrandbits(32):08x}", fixes


def _post_until_acked(client: httpx.Client, key: str, fixes: list[dict], ledger: Ledger, deadline: float) -> dict:
    while time.monotonic() < deadline:
        try:
            response = client.post("/api/v1/telemetry/batches", json={"fixes": fixes}, headers={"Idempotency-Key": key})
        except httpx.ConnectError:
            response = None
        except httpx.HTTPError:
            response = None
            with ledger.lock:
                ledger.lost_in_flight += 1
        if response is not None and response.status_code in (200, 201):
            return response.json()
        if response is not None and response.status_code < 500:
            raise AssertionError(f"batch {key} refused: {response.status_code} {response.text[:300]}")
        with ledger.lock:
            ledger.interrupted += 1
        time.sleep(0.05)
    raise AssertionError(f"batch {key} not acknowledged within the deadline")


def _worker(
    base_url: str,
    key: str,
    batches,
    ledger: Ledger,
    deadline: float,
    killer_done: threading.Event,
    errors: list,
    min_batches: int = MIN_BATCHES_PER_WORKER,
) -> None:
    try:
        with httpx.Client(base_url=base_url, headers=auth(key), timeout=10.0) as client:
            for n, (idem, fixes) in enumerate(batches):
                if n >= min_batches and killer_done.is_set():
                    break
                with ledger.lock:
                    ledger.sent[idem] = fixes
                receipt = _post_until_acked(client, idem, fixes, ledger, deadline)
                assert receipt["n_fixes"] == len(fixes)
                with ledger.lock:
                    ledger.acked[idem] = receipt["batch_id"]
                    ledger.replays += bool(receipt["replayed"])
                if n % 4 == 3:  # a client that never saw its answer sends the batch again
                    again = _post_until_acked(client, idem, fixes, ledger, deadline)
                    assert again["replayed"] and again["batch_id"] == receipt["batch_id"], again
    except BaseException as error:  # reported by the main thread
        errors.append(error)


def _killer(
    server: ServerProcess, stop: threading.Event, kills: list[float], done: threading.Event, errors: list
) -> None:
    rng = random.Random(7)
    try:
        while len(kills) < KILLS and not stop.wait(rng.uniform(0.4, 1.2)):
            server.kill()
            kills.append(time.monotonic())
            server.start()
    except BaseException as error:
        errors.append(error)
    finally:
        done.set()


@pytest.fixture
def killable(db_url, tmp_path) -> Iterator[tuple[ServerProcess, str]]:
    """A running server the test may SIGKILL and restart, and an operator key; stopped at the end."""
    key = operator_key(db_url)
    server = ServerProcess(db_url, tmp_path / "server.log")
    server.start()
    try:
        yield server, key
    finally:
        server.stop()


def _post_while_killing(server: ServerProcess, key: str, batches: list, min_batches: int) -> Ledger:
    """One client thread per item of ``batches`` posts them (each until acknowledged) while the killer SIGKILLs and
    restarts the server :data:`KILLS` times; then the server comes up once more, its audit log verifies and it is
    stopped; every batch sent was acknowledged -- at least one of them after losing its answer in flight."""
    ledger = Ledger()
    errors: list[BaseException] = []
    deadline = time.monotonic() + DEADLINE_S
    stop, killer_done = threading.Event(), threading.Event()
    kills: list[float] = []
    workers = [
        threading.Thread(
            target=_worker, args=(server.base_url, key, own, ledger, deadline, killer_done, errors, min_batches)
        )
        for own in batches
    ]
    killer = threading.Thread(target=_killer, args=(server, stop, kills, killer_done, errors))
    for thread in [*workers, killer]:
        thread.start()
    for thread in workers:
        thread.join(timeout=DEADLINE_S + 60)
    stop.set()
    killer.join(timeout=120)
    assert not errors, errors
    assert len(kills) == KILLS, f"only {len(kills)} of {KILLS} kills happened"
    if server.process is None:
        server.start()
    with httpx.Client(base_url=server.base_url, headers=auth(key), timeout=30.0) as admin:
        assert admin.get("/api/v1/audit/verify").json()["ok"]
    server.stop()  # the database is read directly afterwards, with nothing writing
    print(
        f"\n{server.starts} starts, {len(kills)} SIGKILLs, {ledger.interrupted} interrupted requests "
        f"({ledger.lost_in_flight} lost in flight), {ledger.replays} replays, {len(ledger.acked)} batches acknowledged"
    )
    assert ledger.lost_in_flight >= 1, "no request was in flight when the server was killed; the test proved little"
    assert set(ledger.acked) == set(ledger.sent)
    return ledger


def test_acknowledged_batches_survive_sigkill_exactly_once(db_url, killable, service_data):
    server, key = killable
    with httpx.Client(base_url=server.base_url, headers=auth(key), timeout=30.0) as admin:
        world = populate(admin, db_url=db_url)
    batches = [_batches(w, world.terminals) for w in range(WORKERS)]
    ledger = _post_while_killing(server, key, batches, MIN_BATCHES_PER_WORKER)
    _check_exactly_once(db_url, ledger)


def _check_exactly_once(db_url: str, ledger: Ledger, prefix: str = "durability-") -> None:
    engine = create_engine(normalise_url(db_url))
    try:
        with engine.connect() as connection:
            batches = {
                row.idempotency_key: (row.id, row.n_fixes)
                for row in connection.execute(
                    text("SELECT id, idempotency_key, n_fixes FROM telemetry_batches WHERE idempotency_key LIKE :p"),
                    {"p": prefix + "%"},
                )
            }
            fixes: dict[int, list] = {}
            for row in connection.execute(
                text(
                    "SELECT batch_id, index_in_batch, lat_deg, lon_deg, speed_kmh FROM fixes "
                    "ORDER BY batch_id, index_in_batch"
                )
            ):
                fixes.setdefault(row.batch_id, []).append(row)
            decisions = dict(
                connection.execute(
                    # a fix and its decision share a row (migration 0007): count the decided fixes
                    text("SELECT batch_id, count(decision) FROM fixes GROUP BY batch_id")
                ).all()
            )
    finally:
        engine.dispose()
    assert set(batches) == set(ledger.sent), "a batch is missing, or one was stored that nobody sent"
    for idem, sent in ledger.sent.items():
        batch_id, n_fixes = batches[idem]
        assert batch_id == ledger.acked[idem], (
            f"{idem}: acknowledged as batch {ledger.acked[idem]}, stored as {batch_id}"
        )
        stored = fixes.get(batch_id, [])
        assert n_fixes == len(sent) == len(stored), f"{idem}: sent {len(sent)} fixes, stored {len(stored)}"
        assert [r.index_in_batch for r in stored] == list(range(len(sent))), f"{idem}: fixes duplicated or lost"
        for row, fix in zip(stored, sent, strict=True):
            assert (row.lat_deg, row.lon_deg, row.speed_kmh) == (fix["lat_deg"], fix["lon_deg"], fix["speed_kmh"])
        assert decisions.get(batch_id) == len(sent), (
            f"{idem}: {decisions.get(batch_id)} decisions for {len(sent)} fixes"
        )


# --------------------------------------------------------------------------- detection state across kills

#: Per worker: terminals of these kinds, misbehaving from these fixes on (spread over the 150 fixes per terminal
#: of the 30 batches every worker sends at least, so alerts are raised before, between and after the kills).
DETECTION_TERMINALS = (
    ("drone", 2),
    ("jumper", 6),
    ("drone", 25),
    ("jumper", 45),
    ("drone", 70),
    ("jumper", 95),
    ("drone", 120),
    ("car", 0),
    ("resident", 0),
)
STEPS_PER_BATCH = 5  # fixes per terminal per batch


def _register_detection_terminals(admin: httpx.Client, world: World) -> list[dict[int, tuple[str, int]]]:
    """For each worker: terminal id -> (kind, onset), all registered in Ukraine on the Ukrainian account."""
    out = []
    for w in range(WORKERS):
        mine = {}
        for k, (kind, onset) in enumerate(DETECTION_TERMINALS):
            body = {
                "serial": f"UT-DUR-{w}-{k}-{kind}",
                "account_id": world.accounts["ua"],
                "registration_country": "UA",
                "plan": "roam",
                "sale_channel": "retailer",
                "reason": "durability",
            }
            response = admin.post("/api/v1/terminals", json=body)
            assert response.status_code == 201, response.text
            mine[response.json()["id"]] = (kind, onset)
        out.append(mine)
    return out


def _detection_batches(worker: int, terminals: dict[int, tuple[str, int]]) -> Iterator[tuple[str, list[dict]]]:
    from tests.service.tracks import stream

    steps = MAX_BATCHES_PER_WORKER * STEPS_PER_BATCH
    fixes = stream(
        {t: kind for t, (kind, _) in terminals.items()},
        steps,
        seed=worker,
        onsets={t: onset for t, (_, onset) in terminals.items()},
    )
    size = STEPS_PER_BATCH * len(terminals)
    for b in range(MAX_BATCHES_PER_WORKER):
        yield f"detection-w{worker}-b{b}", fixes[b * size : (b + 1) * size]


def test_detection_state_survives_sigkill_and_alerts_equal_an_uninterrupted_run(db_url, killable, service_data):
    server, key = killable
    with httpx.Client(base_url=server.base_url, headers=auth(key), timeout=30.0) as admin:
        world = populate(admin, db_url=db_url)
        terminals = _register_detection_terminals(admin, world)
    batches = [_detection_batches(w, terminals[w]) for w in range(WORKERS)]
    ledger = _post_while_killing(server, key, batches, 30)
    _check_exactly_once(db_url, ledger, "detection-")
    _check_detection(db_url, ledger, world, terminals)


def _check_detection(db_url: str, ledger: Ledger, world: World, terminals: list[dict[int, tuple[str, int]]]) -> None:
    """Alerts and detector state in the database = one offline run over every acknowledged fix."""
    import json
    from pathlib import Path

    import numpy as np
    import pandas as pd

    from skyfence.detection.detectors import Context, StreamDetector
    from skyfence.policy import loads_policy
    from skyfence.service.detect import stored_states
    from tests.service.conftest import POLICY_TOML
    from tests.service.tracks import frame

    kinds = {t: kind for mine in terminals for t, (kind, _) in mine.items()}
    fixes = [f for idem in sorted(ledger.sent) for f in ledger.sent[idem]]
    context = Context(loads_policy(POLICY_TOML, base_dir=Path("/nonexistent-policy-dir"), name="uploaded.toml"))
    offline = StreamDetector(context)
    expected = offline.process(frame(fixes, dict.fromkeys(kinds, world.accounts["ua"]), dict.fromkeys(kinds, "UA")))
    engine = create_engine(normalise_url(db_url))
    try:
        with engine.connect() as connection:
            stored = connection.execute(
                text("SELECT terminal_id, kind, time, score, evidence FROM alerts WHERE rule = 'detector'")
            ).all()
            states = stored_states(connection, sorted(kinds))  # each terminal's newest fix row with a state
    finally:
        engine.dispose()

    def moment(value) -> str:
        stamp = pd.Timestamp(value)
        return (stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp).isoformat()

    got = [
        (int(r.terminal_id), r.kind, moment(r.time), round(float(r.score), 6), json.loads(r.evidence)) for r in stored
    ]
    want = [
        (int(a.terminal_id), a.kind, pd.Timestamp(a.time).isoformat(), round(float(a.score), 6), json.loads(a.evidence))
        for a in expected.itertuples(index=False)
    ]
    key = lambda row: (row[0], row[1], row[2])  # noqa: E731
    assert len({key(r) for r in got}) == len(got), "an alert was stored twice"
    assert sorted(got, key=key) == sorted(want, key=key), "alerts differ from an uninterrupted run"
    raised = {(kinds[t], kind) for t, kind, *_ in got}
    assert ("drone", "drone_suspected") in raised and ("jumper", "spoofing_suspected") in raised
    assert not {k for k in raised if k[0] in ("car", "resident")}, raised
    assert len(got) >= 7 * WORKERS, f"only {len(got)} detection alerts; the stream proved little"
    for terminal in kinds:
        row = np.frombuffer(bytes(states[terminal]), dtype="<f8")
        np.testing.assert_array_equal(row, offline.state[offline.slots[terminal]], err_msg=f"terminal {terminal}")


pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
