"""sharpsim.stats: intervals and log-log slopes against hand-computed values."""

import numpy as np
import pytest

from sharpsim.stats import clopper_pearson, loglog_slope


def test_clopper_pearson_known_values():
    lo, hi = clopper_pearson(5, 10)
    assert lo == pytest.approx(0.18708602, abs=1e-7) and hi == pytest.approx(0.81291398, abs=1e-7)
    assert clopper_pearson(0, 20)[0] == 0.0 and clopper_pearson(20, 20)[1] == 1.0
    assert clopper_pearson(0, 20)[1] == pytest.approx(1 - 0.025 ** (1 / 20), rel=1e-9)
    with pytest.raises(ValueError, match="k must lie"):
        clopper_pearson(11, 10)


def test_loglog_slope_exact_power_law():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    slope, se = loglog_slope(x, 3.0 * x**-2)
    assert slope == pytest.approx(-2.0, abs=1e-12) and se < 1e-10
