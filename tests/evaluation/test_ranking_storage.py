"""The ranking family's adaptive score histograms: memory per slice value follows its rows,
and every number equals the dense storage's and scikit-learn's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import assay
from assay.core.engine import LocalEngine
from assay.core.plan import Plan
from assay.evaluation.families import ranking


def _frame(n: int = 6_000, values: int = 1_500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, values, n)
    z = rng.normal(size=n) + 0.5 * (g % 3 == 0)
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    # scores on the bin grid of auc_bins=4096: the histogram AUCs are exact
    s = np.round(1 / (1 + np.exp(-(z + rng.normal(size=n)))) * 4096 - 0.5) / 4096 + 0.5 / 4096
    return pd.DataFrame({"y": y, "s": s, "g": g})


def test_small_slices_cost_their_rows_not_the_bins() -> None:
    df = _frame()
    plan = Plan.build({"label": "y", "scores": "s", "slices": ["g"], "ci": "jackknife"},
                      func="evaluate")  # fmt: skip
    state = LocalEngine().run(plan, df).state
    hist = state.tables[1].hists["hist0"]
    dense_bytes = 1_500 * 2 * 4096 * 21 * 8  # what the dense state held: 2 GB
    assert hist.n_dense == 0
    assert hist.nbytes < 40 * len(df)  # about 16 bytes per row and occupied cell
    assert hist.nbytes < dense_bytes / 1_000


def test_same_numbers_as_dense_storage_and_sklearn(monkeypatch: pytest.MonkeyPatch) -> None:
    df = _frame(n=3_000, values=40)
    kw = dict(label="y", scores="s", slices=["g"], ci="jackknife", thresholds=[0.5])
    adaptive = assay.evaluate(df, **kw).to_frame()
    monkeypatch.setattr(ranking, "_STORAGE", "dense")
    dense = assay.evaluate(df, **kw).to_frame()
    pd.testing.assert_frame_equal(adaptive, dense)  # bit-identical, intervals included
    r = assay.evaluate(df, **kw)
    for v in (0, 3, 17):
        m = df.g == v
        want = roc_auc_score(df.y[m], df.s[m])
        assert r.value("roc_auc", slice=f"g={v}").value == pytest.approx(want, abs=1e-12)
        bpsn = (m & (df.y == 0)) | (~m & (df.y == 1))
        want = roc_auc_score(df.y[bpsn], df.s[bpsn])
        assert r.value("bpsn_auc", slice=f"g={v}").value == pytest.approx(want, abs=1e-12)
