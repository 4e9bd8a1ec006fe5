from __future__ import annotations

import pytest

from causal_lessons.claims import FAILS, HOLDS, PARTLY, claims_table, correlation_claims
from causal_lessons.explorers import confounding_grid, confounding_panel


def test_correlation_claims_carry_the_measured_numbers():
    rows = correlation_claims()
    assert [c.verdict for c in rows] == [HOLDS, FAILS, PARTLY]
    assert "r = 0.791" in rows[0].measured
    assert "0.60" in rows[1].measured and "0.67" in rows[1].measured
    assert "100% of 20 seeds" in rows[2].measured
    assert claims_table(rows).shape == (3, 4)


def test_explorer_panels_and_errors():
    assert len(confounding_grid((0.0, 1.0), (0.0, 0.5), n=50).axes) == 4
    with pytest.raises(ValueError, match="confounding must be >= 0"):
        confounding_panel(-1.0)
    with pytest.raises(ValueError, match="n must be at least 5"):
        confounding_panel(1.0, n=2)
    with pytest.raises(ValueError, match="claims must not be empty"):
        claims_table([])
