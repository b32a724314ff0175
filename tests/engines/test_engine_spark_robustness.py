"""assay.robustness on the Spark engine: the per-seed numbers, intervals and verdicts of a
stress test are the local engine's."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("scipy")
from assay.robustness import CounterfactualPairs, StressSet, stress_test


def test_stress_test_on_spark_equals_local(spark: Any) -> None:
    rng = np.random.default_rng(3)
    n, seeds = 600, 4
    x = rng.normal(size=(n, 2))
    y = (x[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(int)
    group = np.where(x[:, 1] > 0.3, "a", "b")
    shifted = x + np.array([0.8, 0.0])
    preds = {}
    for s in range(seeds):
        w = 1.0 + 0.3 * rng.normal()
        p = lambda z, w=w: 1 / (1 + np.exp(-(w * z[:, 0] + 0.2 * z[:, 1])))  # noqa: E731
        preds[s] = {"iid": p(x), "shifted": p(shifted), "swap": p(x), "swap/counterfactual": p(x[:, ::-1])}
    iid = StressSet("iid", x, y, groups={"g": group})
    stress = [StressSet("shifted", shifted, y), CounterfactualPairs("swap", x, x[:, ::-1])]
    local = stress_test(iid, stress, predictions=preds)
    remote = stress_test(iid, stress, predictions=preds, engine=spark)
    a, b = local.per_seed_frame(), remote.per_seed_frame()
    assert len(a) > 0
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, atol=1e-12)
    assert local.verdicts == remote.verdicts
    ta, tb = local.to_frame(), remote.to_frame()
    pd.testing.assert_frame_equal(ta, tb, check_exact=False, rtol=1e-12, atol=1e-12)
