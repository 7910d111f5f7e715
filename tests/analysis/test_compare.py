"""Comparison tests against scipy and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from sse.analysis import compare as cmp


@pytest.mark.parametrize("a,b", [([0.5, 0.6, 0.55, 0.7], [0.4, 0.45, 0.5]), ([0.9, 0.91, 0.95], [0.1, 0.5, 0.3, 0.2])])
def test_welch_matches_scipy(a: list[float], b: list[float]) -> None:
    t, df, p = cmp.welch_t(a, b)
    ref = sps.ttest_ind(a, b, equal_var=False)
    assert t == pytest.approx(ref.statistic) and p == pytest.approx(ref.pvalue) and df == pytest.approx(ref.df)


def test_welch_undefined_cases() -> None:
    assert all(math.isnan(v) for v in cmp.welch_t([0.5], [0.4, 0.6]))          # one run
    assert all(math.isnan(v) for v in cmp.welch_t([0.5, 0.5], [0.4, 0.4]))     # no spread anywhere


def test_paired_t_matches_scipy() -> None:
    a, b = [0.5, 0.62, 0.55, 0.7, 0.66], [0.4, 0.6, 0.5, 0.61, 0.65]
    t, df, p = cmp.paired_t(a, b)
    ref = sps.ttest_rel(a, b)
    assert t == pytest.approx(ref.statistic) and p == pytest.approx(ref.pvalue) and df == 4
    assert math.isnan(cmp.paired_t([0.5, 0.6], [0.4, 0.5])[0])  # constant difference: undefined


def test_mcnemar_exact_matches_binomtest_and_hand() -> None:
    assert cmp.mcnemar_exact(0, 5) == pytest.approx(2 * 0.5 ** 5)  # 0.0625
    assert cmp.mcnemar_exact(3, 3) == 1.0
    assert cmp.mcnemar_exact(0, 0) == 1.0  # identical systems: no discordant pairs
    for b, c in [(2, 9), (10, 4), (1, 0)]:
        assert cmp.mcnemar_exact(b, c) == pytest.approx(sps.binomtest(b, b + c, 0.5).pvalue)


def test_sign_test_reduces_to_mcnemar_for_binary() -> None:
    a = np.array([1, 0, 1, 1, 0, 1, 1, 0], float)
    b = np.array([0, 0, 1, 0, 1, 0, 1, 0], float)
    wins, losses, p = cmp.sign_test(a, b)
    assert (wins, losses) == (3, 1)
    assert p == pytest.approx(sps.binomtest(3, 4).pvalue)


def test_holm_hand_computed() -> None:
    assert cmp.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert cmp.holm([0.5]) == [0.5]
    assert cmp.holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])
    out = cmp.holm([0.02, float("nan"), 0.01])
    assert out[0] == pytest.approx(0.02) and math.isnan(out[1]) and out[2] == pytest.approx(0.02)


def test_cohens_d_hand_computed() -> None:
    # means 2 and 1, variances 1 and 1 -> d = 1
    assert cmp.cohens_d([1, 2, 3], [0, 1, 2]) == pytest.approx(1.0)
    assert cmp.cohens_d([1, 1], [1, 1]) == 0.0
    assert math.isinf(cmp.cohens_d([1, 1], [0, 0]))
