"""Population per cell: GeoNames cities plus Natural Earth's rural remainder; no country exceeds its population."""

from __future__ import annotations

import pytest

from skyfence.capacity.demand import DemandModel, population_per_cell
from skyfence.earth.regions import countries, get_region
from skyfence.errors import InputError


@pytest.mark.parametrize("code", ["TW", "JP", "KR", "PH", "UA"])
def test_no_country_exceeds_its_population(data_dir, code):
    pop_est = float(countries().query("iso_a2 == @code")["pop_est"].sum())
    cells = get_region(code).cells(5)
    population = population_per_cell(cells)
    assert population.min() >= 0.0
    assert population.sum() <= pop_est * (1 + 1e-9)
    assert population.sum() >= 0.8 * pop_est  # most of it lands on the country's own cells
    assert (population > 0).mean() > 0.95  # the rural remainder reaches the countryside


def test_taipei_metro_spreads_over_its_cells(data_dir):
    import numpy as np

    from skyfence.earth import cells as h3cells

    cells = get_region("TW").cells(5)
    population = population_per_cell(cells)
    lat, lon = h3cells.cell_centers(cells)
    km = 111.2 * np.hypot(lat - 25.0330, (lon - 121.5654) * np.cos(np.radians(25.0)))
    metro = km < 30.0
    # Taipei and New Taipei hold about 6.6 M of Taiwan's 23.4 M (28 %); GeoNames' metro figure spreads over
    # several cells instead of piling onto one
    assert 0.2 < population[metro].sum() / population.sum() < 0.45
    assert km[population.argmax()] < 30.0
    assert population.max() < 0.15 * population.sum()


def test_demand_model():
    model = DemandModel(take_rate=0.1, busy_hour_mbps=2.0, oversubscription=10.0)
    assert float(model.demand_mbps(1000.0)) == pytest.approx(200.0)
    assert float(model.active_users(1000.0)) == pytest.approx(10.0)
    for bad in ({"take_rate": -0.1}, {"take_rate": 1.01}, {"oversubscription": 0.5}, {"busy_hour_mbps": -1}):
        with pytest.raises(InputError):
            DemandModel(**bad)
