"""Fleet spec: every bad key or value is one line naming the key path."""

from __future__ import annotations

import pytest

from skyfence.detection import loads_fleet_spec
from skyfence.errors import InputError


def test_defaults_and_counts():
    spec = loads_fleet_spec("[classes.drone]\ncount = 3\n")
    assert spec.counts()["drone"] == 3 and spec.fleet.days == 7.0 and spec.fleet.step_s == 60


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("[classes.tank]\ncount = 1\n", "classes.tank", "unknown class 'tank'"),
        ("[classes.drone]\ncount = 1\nspeed_kmh = [300, 100]\n", "classes.drone.speed_kmh", "low <= high"),
        ("[classes.drone]\ncount = -1\n", "classes.drone.count", "greater than or equal"),
        ("[fleet]\ndayz = 3\n[classes.drone]\ncount = 1\n", "fleet.dayz", "unknown key"),
        ("[classes.residential]\ncount = 0\n", "(top level)", "no terminals"),
        ("[fleet]\nseed = 1\n", "classes", "missing [classes]"),
        ("[classes.black_market]\ncount = 2\nused_weights = [1.0]\n", "classes.black_market", "one weight"),
    ],
)
def test_bad_spec_names_the_key(text, field, words):
    with pytest.raises(InputError) as caught:
        loads_fleet_spec(text, source="fleet.toml")
    message = str(caught.value)
    assert message.startswith("fleet.toml: field " + field), message
    assert words in message and "\n" not in message


def test_not_toml():
    with pytest.raises(InputError, match="invalid TOML"):
        loads_fleet_spec("[classes\n", source="x.toml")
