from __future__ import annotations

import pytest

from causal_lessons.claims import FAILS, HOLDS, PARTLY
from causal_lessons.correlation.claims import claims, measure
from causal_lessons.correlation.explorers import confounding_grid, confounding_panel


def test_correlation_claims_carry_the_measured_numbers():
    rows = claims(measure())
    assert [c.verdict for c in rows] == [HOLDS, FAILS, PARTLY]
    assert "r = 0.791" in rows[0].measured
    assert "partial r given gdp_per_capita" in rows[1].measured and "CI" in rows[1].measured
    assert "1.00 (95% CI 0.84 to 1.00)" in rows[2].measured


def test_explorer_panels_and_errors():
    assert len(confounding_grid((0.0, 1.0), (0.0, 0.5), n=50).axes) == 4
    with pytest.raises(ValueError, match="confounding must be >= 0"):
        confounding_panel(-1.0)
    with pytest.raises(ValueError, match="n must be at least 5"):
        confounding_panel(1.0, n=2)
