"""The MinDiff experiment (assay.apps.mindiff_experiment): synthetic data, and real data if present."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from assay.apps.mindiff_experiment import (  # noqa: E402
    TabularTask,
    TaskSpec,
    evaluate_experiment,
    format_summary,
    load_task,
    preprocess,
    run_experiment,
    stratified_split,
    summarize,
)


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_preprocess_fits_on_train_only():
    train = {
        "num": np.array([1.0, 2.0, 3.0, np.nan]),
        "cat": np.array(["a", "b", None, "a"], dtype=object),
    }
    test = {"num": np.array([2.0, 10.0]), "cat": np.array(["b", "zzz"], dtype=object)}
    x_tr, x_te, names = preprocess(train, test, ["cat"], ["num"])
    assert names == ["num", "cat=<missing>", "cat=a", "cat=b"]
    mean, std = 2.0, np.std([1.0, 2.0, 3.0])
    np.testing.assert_allclose(
        x_tr[:, 0], [(1 - mean) / std, 0.0, (3 - mean) / std, 0.0], rtol=1e-6
    )
    np.testing.assert_allclose(x_te[:, 0], [0.0, (10 - mean) / std], rtol=1e-6)
    np.testing.assert_array_equal(x_tr[:, 1:], [[0, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(x_te[:, 1:], [[0, 0, 1], [0, 0, 0]])  # unseen -> zeros
    assert x_tr.dtype == np.float32


def _task() -> TabularTask:
    def make(n: int, seed: int):
        rng = np.random.default_rng(seed)
        in_a = rng.random(n) < 0.4
        x = rng.standard_normal((n, 6)).astype(np.float32)
        x[:, 0] += 2.0 * in_a
        logit = x[:, 1] + x[:, 2] + 3.0 * in_a - 1.5
        y = (rng.random(n) < 1 / (1 + np.exp(-2 * logit))).astype(np.float32)
        return x, y, np.where(in_a, "a", "b").astype(object)

    spec = TaskSpec((), (), "group", "a", "b", label_value=0, metric="fpr")
    xtr, ytr, gtr = make(1500, 0)
    xte, yte, gte = make(1500, 1)
    return TabularTask("synthetic", spec, xtr, ytr, gtr, xte, yte, gte, [f"f{i}" for i in range(6)])


def test_run_experiment_and_evaluate_on_synthetic_data():
    result = run_experiment(
        _task(),
        losses=("mmd",),
        loss_weights=(2.0,),
        epochs=6,
        batch_size=128,
        hidden=(16,),
        lr=0.01,
    )
    assert list(result.models) == ["baseline", "mmd@2"]
    assert set(result.columns) == {"label", "group", "baseline", "mmd@2"}
    for name in ("baseline", "mmd@2"):
        scores = result.columns[name]
        assert scores.shape == (1500,) and np.all((scores >= 0) & (scores <= 1))
    again = run_experiment(
        _task(),
        losses=("mmd",),
        loss_weights=(2.0,),
        epochs=6,
        batch_size=128,
        hidden=(16,),
        lr=0.01,
    )
    np.testing.assert_array_equal(result.columns["mmd@2"], again.columns["mmd@2"])

    pytest.importorskip("pandas")
    evaluation = evaluate_experiment(result)
    rows = summarize(result, evaluation)
    by_model = {r["model"]: r for r in rows}
    base, md = by_model["baseline"], by_model["mmd@2"]
    assert md["score_mmd"] < 0.5 * base["score_mmd"]
    assert abs(md["gap"]) < abs(base["gap"])
    assert base["gap"] == pytest.approx(base["fpr_a"] - base["fpr_b"], abs=1e-9)
    assert base["gap_lower"] <= base["gap"] <= base["gap_upper"]
    table = format_summary(rows)
    assert table.splitlines()[0].startswith("| model | accuracy | roc_auc | fpr_a | fpr_b |")
    assert len(table.splitlines()) == 4


def test_load_task_on_real_data_when_present():
    datasets = pytest.importorskip("assay.datasets")
    home = datasets.get_data_home()
    if not (home / "compas" / "compas-scores-two-years.csv").exists():
        pytest.skip("COMPAS file not in the data home")
    task = load_task("compas", download=False)
    assert task.x_train.shape[1] == task.x_test.shape[1] == len(task.feature_names)
    assert abs(len(task.y_test) / (len(task.y_train) + len(task.y_test)) - 0.3) < 0.01
    assert {"African-American", "Caucasian"} <= set(task.group_train.tolist())
    # standardised on the training split
    assert abs(float(task.x_train[:, 0].mean())) < 1e-5


def test_stratified_split_keeps_the_shares_and_is_seeded():
    y = np.array([0] * 70 + [1] * 30)
    train, test = stratified_split(y, 0.3, seed=3)
    assert sorted([*train, *test]) == list(range(100))
    assert (y[test] == 1).sum() == 9 and (y[test] == 0).sum() == 21
    assert list(test) == sorted(test)
    again_train, again_test = stratified_split(y, 0.3, seed=3)
    np.testing.assert_array_equal(test, again_test)
    np.testing.assert_array_equal(train, again_train)


def test_the_documented_command_line_entry_point_runs():
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "assay.apps.mindiff_experiment", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--dataset" in out.stdout and "--weights" in out.stdout
