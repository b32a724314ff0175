"""A slice of a real data set (COMPAS): a convex pipeline is pinned down by its data (the
seed changes nothing: detected), a small MLP is not; metrics against scikit-learn."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from assay.robustness import StressSet, stress_test


def _home() -> Path:
    for home in (os.environ.get("ASSAY_DATA_HOME"), Path(__file__).resolve().parents[2] / ".." / "shared" / "data"):
        if home and (Path(home) / "compas" / "compas-scores-two-years.csv").is_file():
            return Path(home)
    pytest.skip("COMPAS is not in the data home (set ASSAY_DATA_HOME)")


@pytest.fixture(scope="module")
def compas() -> dict[str, Any]:
    from assay.datasets import load_compas

    df = load_compas(data_home=_home(), download=False).to_pandas()
    num = df[["age", "priors_count", "juv_fel_count", "juv_misd_count"]].to_numpy(float)
    num = (num - num.mean(0)) / num.std(0)
    cat = pd.get_dummies(df[["sex", "c_charge_degree", "race"]].astype(str)).to_numpy(float)
    X, y = np.c_[num, cat], df["two_year_recid"].to_numpy(int)
    test = np.random.default_rng(0).random(len(y)) < 0.3
    return {"Xtr": X[~test], "ytr": y[~test], "Xte": X[test], "yte": y[test], "sex": df["sex"].to_numpy(object)[test]}


def test_convex_pipeline_ignores_the_seed_and_an_mlp_does_not(compas: dict[str, Any]) -> None:
    Xtr, ytr, Xte, yte = compas["Xtr"], compas["ytr"], compas["Xte"], compas["yte"]
    iid = StressSet("test", Xte, yte, groups={"sex": compas["sex"]})

    def logistic(seed: int) -> LogisticRegression:  # lbfgs: random_state is not used
        return LogisticRegression(max_iter=1000, random_state=seed).fit(Xtr, ytr)

    with pytest.warns(UserWarning, match="ignore its seed"):
        res = stress_test(iid, train=logistic, seeds=range(3))
    assert res.verdict("test/sex=Female") == "identical models"

    def mlp(seed: int) -> MLPClassifier:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return MLPClassifier(hidden_layer_sizes=(8,), max_iter=15, random_state=seed).fit(Xtr, ytr)

    res = stress_test(iid, train=mlp, seeds=range(3))
    assert not res.config["identical"]
    female = compas["sex"] == "Female"
    for s in range(3):
        p = mlp(s).predict_proba(Xte)[:, 1] > 0.5
        assert res.values("test", "accuracy")[s] == pytest.approx(skm.accuracy_score(yte, p))
        assert res.values("test/sex=Female", "accuracy")[s] == pytest.approx(skm.accuracy_score(yte[female], p[female]))
    assert res.row("test")["sd"] > 0
