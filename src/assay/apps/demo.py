"""The main job (``assay demo`` / ``make demo``): find a fairness gap, fix it, show it.

End to end on a real data set from the data home (Adult by default, COMPAS as an option):

1. load the data and split it (Adult: the official train / test files; COMPAS: a seeded,
   stratified 70 / 30 split);
2. train a baseline MLP classifier with PyTorch;
3. evaluate it on the held-out split, by slice, with jackknife confidence intervals;
4. train the same network (same initial weights, same batches) with MinDiff;
5. evaluate it again;
6. write the comparison report (HTML), the model card (Markdown and JSON) and both results
   (JSON), and print the headline numbers: the gap before and after, with intervals, and
   accuracy and AUC.

Everything is seeded: two runs with the same arguments give the same numbers. The demo uses
only public names of the library (:func:`assay.evaluate`, :class:`assay.EvalResult` and its
report methods, :mod:`assay.datasets`, :mod:`assay.fairness.remediation`) and the task set-up
of :mod:`assay.apps.mindiff_experiment`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

import assay

from ._common import Progress, check_choice, check_int, require_torch

#: Default MinDiff settings per data set (loss and weight chosen on the training data
#: sweep recorded in docs/mindiff.md).
DEFAULTS: dict[str, dict[str, Any]] = {
    "adult": {"loss": "mmd", "loss_weight": 4.0, "epochs": 8},
    "compas": {"loss": "mmd", "loss_weight": 4.0, "epochs": 8},
}


_DISPLAY = {"adult": "Adult", "compas": "COMPAS"}


@dataclass
class DemoResult:
    """What the demo produced: both evaluations, the headline numbers and the files."""

    dataset: str
    baseline: assay.EvalResult
    mindiff: assay.EvalResult
    headline: dict[str, Any]
    files: dict[str, Path]
    seconds: float
    predictions: dict[str, NDArray[Any]]


def _slice_columns(name: str, data_home: str | None, seed: int) -> dict[str, NDArray[Any]]:
    """Raw columns of the held-out rows to slice on, in the order of the task's test split."""
    from assay import datasets

    from .mindiff_experiment import stratified_split

    if name == "adult":
        t = datasets.load_adult(split="test", data_home=data_home)
        age = np.asarray(t.column("age").to_numpy(zero_copy_only=False))
    else:
        full = datasets.load_compas(data_home=data_home)
        label = np.asarray(full.column("label").to_numpy(zero_copy_only=False))
        _, te = stratified_split(label, 0.3, seed)
        t = full.take(te)
        age = np.asarray(t.column("age").to_numpy(zero_copy_only=False))
    bins = np.array([25, 35, 45, 55, 65])
    names = np.array(["<25", "25-34", "35-44", "45-54", "55-64", "65+"])
    return {
        "sex": np.asarray(t.column("sex").to_pylist(), dtype=object),
        "race": np.asarray(t.column("race").to_pylist(), dtype=object),
        "age_group": names[np.searchsorted(bins, age, side="right")],
    }


def _train(
    task: Any,
    *,
    loss: str | None,
    loss_weight: float,
    epochs: int,
    seed: int,
    progress: bool,
    desc: str,
) -> Any:
    torch = require_torch("the demo")
    from assay.fairness.remediation import (
        MinDiffLoader,
        MinDiffModel,
        build_mindiff_sets,
        make_mlp,
        mindiff_train_step,
    )

    spec = task.spec
    net = make_mlp(task.x_train.shape[1], (64, 64), 1, seed=seed)
    data = (task.x_train, task.y_train)
    sets = build_mindiff_sets(
        data,
        task.group_train,
        label_value=spec.label_value,
        sensitive_value=spec.sensitive_value,
        nonsensitive_value=spec.nonsensitive_value,
    )
    loader = MinDiffLoader(data, sets, batch_size=256, seed=seed)

    def bce(out: Any, target: Any) -> Any:
        return torch.nn.functional.binary_cross_entropy_with_logits(out[:, 0], target)

    model = (
        MinDiffModel(net, loss, loss_weight, predictions_transform=torch.sigmoid)
        if loss is not None
        else None
    )
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.train()
    with Progress(epochs * len(loader), desc=desc, unit="batches", enabled=progress) as bar:
        for _ in range(epochs):
            for (xb, yb), md in loader:
                if model is None:
                    optimizer.zero_grad(set_to_none=True)
                    bce(net(xb), yb).backward()
                    optimizer.step()
                else:
                    mindiff_train_step(model, optimizer, bce, ((xb, yb), md))
                bar.update(1)
    net.eval()
    return net


def run_demo(
    dataset: str = "adult",
    *,
    out_dir: str | Path = "out/demo",
    data_home: str | None = None,
    loss: str | None = None,
    loss_weight: float | None = None,
    epochs: int | None = None,
    seed: int = 0,
    progress: bool = True,
    echo: bool = True,
) -> DemoResult:
    """Run the end-to-end demonstration and write its report; see the module docstring."""
    check_choice("dataset", dataset, ["adult", "compas"], func="run_demo")
    require_torch("the demo")
    from .mindiff_experiment import load_task, predict_proba

    cfg = dict(DEFAULTS[dataset])
    loss = loss or cfg["loss"]
    loss_weight = cfg["loss_weight"] if loss_weight is None else float(loss_weight)
    epochs = check_int("epochs", cfg["epochs"] if epochs is None else epochs, minimum=1,
                       func="run_demo")  # fmt: skip
    say = print if echo else (lambda *a, **k: None)
    start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    task = load_task(dataset, seed=seed, data_home=data_home)
    spec = task.spec
    cols = _slice_columns(dataset, data_home, seed)
    if list(cols[spec.sensitive]) != list(task.group_test):
        raise RuntimeError("internal error: slice columns are not aligned with the test split")
    say(
        f"{dataset}: {len(task.y_train):,} training and {len(task.y_test):,} test rows, "
        f"{task.x_train.shape[1]} features; sensitive attribute {spec.sensitive!r}, "
        f"gap metric {spec.metric.upper()} ({spec.sensitive}={spec.sensitive_value} vs "
        f"{spec.sensitive}={spec.nonsensitive_value})"
    )
    nets = {}
    torch = require_torch("the demo")
    threads = torch.get_num_threads()
    # A 2x64 MLP on batches of 256 is too small to gain from intra-op threads; on a busy
    # 2-core machine they cost 10-50x in synchronisation. Train on one thread.
    torch.set_num_threads(1)
    try:
        for name, l_ in (("baseline", None), ("mindiff", loss)):
            nets[name] = _train(task, loss=l_, loss_weight=loss_weight, epochs=epochs,
                                seed=seed, progress=progress, desc=f"train {name:8s}")  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    table = {"label": task.y_test.astype(np.int64), **cols}
    for name, net in nets.items():
        table[name] = predict_proba(net, task.x_test)
    baseline_slice = f"{spec.sensitive}={spec.nonsensitive_value}"
    kw: dict[str, Any] = dict(
        label="label",
        slices=["sex", "race", ("sex", "race"), "age_group"],
        min_slice_size=30,
        baseline=baseline_slice,
        ci="jackknife",
        seed=seed,
        progress=progress,
    )
    results = {name: assay.evaluate(table, scores={name: name}, **kw) for name in nets}
    base, fixed = results["baseline"], results["mindiff"]

    files = {
        "report": out / "report.html",
        "model_card": out / "model_card.md",
        "model_card_json": out / "model_card.json",
        "baseline": out / "baseline.json",
        "mindiff": out / "mindiff.json",
    }
    names = ("baseline", f"MinDiff ({loss}, weight {loss_weight:g})")
    sample = {k: v for k, v in table.items()}
    s_slice = f"{spec.sensitive}={spec.sensitive_value}"
    base.to_html(files["report"], other=fixed, names=names, sample=sample,
                 title=f"{_DISPLAY[dataset]}: baseline vs MinDiff",
                 headline=(spec.metric, s_slice, baseline_slice))  # fmt: skip
    desc = (
        f"A 2x64 MLP trained on {dataset} ({epochs} epochs, Adam, batch 256, seed {seed}); "
        f"MinDiff with the {loss} loss (weight {loss_weight:g}) on the "
        f"{'positives' if spec.label_value == 1 else 'negatives'} of "
        f"{spec.sensitive}={spec.sensitive_value} vs {baseline_slice}. Held-out split."
    )
    base.to_model_card(files["model_card"], other=fixed, names=names,
                       title=f"{_DISPLAY[dataset]} income model" if dataset == "adult" else "COMPAS recidivism model",
                       description=desc)  # fmt: skip
    base.to_model_card(files["model_card_json"], format="json", other=fixed, names=names,
                       description=desc)  # fmt: skip
    base.to_json(files["baseline"])
    fixed.to_json(files["mindiff"])

    headline: dict[str, Any] = {"metric": spec.metric, "slice": s_slice, "baseline_slice": baseline_slice}
    for name, res in results.items():
        g = res.value(spec.metric, slice=s_slice, threshold=0.5, model=name)
        headline[name] = {
            "gap": g.diff,
            "gap_lower": g.diff_lower,
            "gap_upper": g.diff_upper,
            "significant": g.significant,
            "accuracy": res.value("accuracy", threshold=0.5, model=name).value,
            "roc_auc": res.value("roc_auc", model=name).value,
        }
    seconds = time.perf_counter() - start
    say("")
    say(f"{spec.metric.upper()} gap at threshold 0.5 ({s_slice} minus {baseline_slice}), "
        "95% jackknife interval; accuracy; ROC AUC (held-out split):")  # fmt: skip
    for name in ("baseline", "mindiff"):
        h = headline[name]
        say(
            f"  {name:9s} gap {h['gap']:+.3f} [{h['gap_lower']:+.3f}, {h['gap_upper']:+.3f}]"
            f"{' (significant)' if h['significant'] else ''}   accuracy {h['accuracy']:.3f}"
            f"   AUC {h['roc_auc']:.3f}"
        )
    say("")
    say(f"report:     {files['report'].resolve()}")
    say(f"model card: {files['model_card'].resolve()}")
    say(f"results:    {files['baseline']}, {files['mindiff']}")
    say(f"done in {seconds:.0f} s")
    return DemoResult(dataset, base, fixed, headline, files, seconds, table)
