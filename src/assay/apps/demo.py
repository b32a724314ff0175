"""The main job (``assay demo`` / ``make demo``): find a fairness gap, try to fix it, show the cost.

End to end on a real data set from the data home (Adult by default, COMPAS as an option):

1. load the data and split it (Adult: the official train / test files; COMPAS: a seeded,
   stratified 70 / 30 split);
2. train a baseline MLP classifier with PyTorch;
3. train the same network (same initial weights, same batches) with MinDiff at several
   loss weights (the sweep; the default weight is the one ``docs/mindiff.md`` chose);
4. evaluate every model in ONE :func:`assay.evaluate` call on the held-out split, by
   slice, with jackknife intervals, so that the change between models gets paired
   intervals and the report's trade-off plot shows the whole sweep;
5. print, for each model, the headline gap with its interval and whether it is
   significant (after the Benjamini-Hochberg adjustment across slices), and the overall
   false positive rate, false negative rate, accuracy and positive rate with intervals:
   closing a gap usually costs something, and the demo shows what;
6. write the report (HTML, opening with the headline), the model card (Markdown, the
   project's JSON and the Model Card Toolkit JSON) and the result (JSON).

Everything is seeded: two runs with the same arguments give the same numbers. The demo uses
only public names of the library (:func:`assay.evaluate`, :class:`assay.EvalResult` and its
report methods, :mod:`assay.datasets`, :mod:`assay.fairness.remediation`) and the task set-up
of :mod:`assay.apps.mindiff_experiment`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
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

#: MinDiff loss weights of the sweep (besides ``loss_weight``, which is always trained).
DEFAULT_WEIGHTS: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0)

#: The overall metrics printed and kept per model, in this order.
OVERALL = ("fpr", "fnr", "accuracy", "positive_rate")


_DISPLAY = {"adult": "Adult", "compas": "COMPAS"}


@dataclass
class DemoResult:
    """What the demo produced.

    ``result`` holds every model (``"baseline"`` and one ``"mindiff_w<weight>"`` per weight
    of the sweep); ``mindiff`` names the one trained with ``loss_weight``. ``headline`` has,
    per model, the gap with its interval and significance and the overall metrics of
    :data:`OVERALL` with intervals; ``text`` is what the demo printed."""

    dataset: str
    result: assay.EvalResult
    models: list[str]
    mindiff: str
    headline: dict[str, Any]
    files: dict[str, Path]
    seconds: float
    predictions: dict[str, NDArray[Any]]
    text: str


def model_name(weight: float) -> str:
    """The demo's name of the MinDiff model trained with ``weight``: ``mindiff_w4``."""
    return f"mindiff_w{weight:g}"


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


def _card_info(dataset: str, spec: Any, loss: str, weight: float, epochs: int, seed: int,
               n_train: int, weights: list[float]) -> dict[str, Any]:  # fmt: skip
    """The model card's authored sections: what this demonstration model is and is not."""
    what = "income above 50K" if dataset == "adult" else "two-year recidivism"
    return {
        "model_details": {
            "name": f"{_DISPLAY[dataset]} demonstration models (assay demo)",
            "overview": f"A baseline MLP predicting {what} and the same MLP trained with "
            f"MinDiff ({loss} loss) at weights {', '.join(f'{w:g}' for w in weights)}.",
            "architecture": "MLP with two hidden layers of 64 units (ReLU), one logit",
            "training": f"Adam, learning rate 1e-3, batch 256, {epochs} epochs, seed {seed}; "
            f"MinDiff on the {'positives' if spec.label_value == 1 else 'negatives'} of "
            f"{spec.sensitive}={spec.sensitive_value} vs {spec.sensitive}={spec.nonsensitive_value}",
            "version": "assay demo",
        },
        "intended_use": "Demonstrating how to measure a fairness gap with intervals, try a "
        "remediation and read its cost; nothing else.",
        "intended_users": "People learning assay, Fairness Indicators-style evaluation or MinDiff.",
        "out_of_scope_uses": [
            "Any decision about a person (credit, hiring, bail, parole, sentencing).",
            "Claims about the population the data came from.",
        ],
        "factors": f"{spec.sensitive} is the attribute MinDiff acts on; sex, race and age "
        "group are sliced because the literature on this data set reports gaps along them.",
        "metrics": f"The headline is the {spec.metric.upper()} gap (the error MinDiff targets); "
        "the other error rate, accuracy and the positive rate show what closing it costs.",
        "evaluation_data": "The held-out split: Adult's official test file"
        if dataset == "adult"
        else "The held-out split: a seeded, stratified 30% of ProPublica's COMPAS two-year file",
        "training_data": f"The training split ({n_train:,} rows), one-hot encoded categorical "
        "and standardised numeric columns (fitted on the training split only).",
        "ethical_considerations": [
            "The data sets record historical decisions and outcomes with known biases.",
            f"The sensitive attribute {spec.sensitive} is used in training by MinDiff.",
        ],
        "caveats_and_recommendations": [
            "Equalising one error rate can move the other and the positive rate: read "
            "them together.",
            "A gap that is not significant is not shown to be absent.",
        ],
    }


def _fmt(v: float, lo: float, hi: float, signed: bool = False) -> str:
    f = "{:+.3f}" if signed else "{:.3f}"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f.format(v)
    return f"{f.format(v)} [{f.format(lo)}, {f.format(hi)}]"


def _significance(h: dict[str, Any]) -> str:
    """The gap's significance in words."""
    if not (math.isfinite(h["gap_lower"]) and math.isfinite(h["gap_upper"])):
        return "no interval, not tested"
    if h["significant_adjusted"]:
        return "significant"
    if h["significant"]:
        return "not significant after the adjustment across slices"
    return "not significant: the interval includes 0"


def run_demo(
    dataset: str = "adult",
    *,
    out_dir: str | Path = "out/demo",
    data_home: str | None = None,
    loss: str | None = None,
    loss_weight: float | None = None,
    weights: Sequence[float] | None = None,
    epochs: int | None = None,
    seed: int = 0,
    progress: bool = True,
    echo: bool = True,
) -> DemoResult:
    """Run the end-to-end demonstration and write its report; see the module docstring.

    ``loss`` (default ``"mmd"``), ``loss_weight`` (default 4) and ``epochs`` (default 8)
    default to :data:`DEFAULTS`; ``weights`` are the MinDiff loss weights of the sweep
    (default :data:`DEFAULT_WEIGHTS`; ``loss_weight`` is added when missing, ``()`` trains
    only ``loss_weight``)."""
    check_choice("dataset", dataset, ["adult", "compas"], func="run_demo")
    require_torch("the demo")
    from .mindiff_experiment import load_task, predict_proba

    cfg = dict(DEFAULTS[dataset])
    loss = loss or cfg["loss"]
    loss_weight = cfg["loss_weight"] if loss_weight is None else float(loss_weight)
    epochs = check_int("epochs", cfg["epochs"] if epochs is None else epochs, minimum=1,
                       func="run_demo")  # fmt: skip
    sweep = list(DEFAULT_WEIGHTS if weights is None else weights)
    for w in [*sweep, loss_weight]:
        if isinstance(w, bool) or not isinstance(w, int | float) or not w > 0 or not math.isfinite(w):
            raise ValueError(
                "The 'weights' and 'loss_weight' parameters of run_demo must be positive "
                f"numbers. Got {w!r} instead."
            )
    sweep = sorted({float(w) for w in [*sweep, loss_weight]})
    lines: list[str] = []

    def say(text: str = "") -> None:
        lines.append(text)
        if echo:
            print(text, flush=True)

    start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    task = load_task(dataset, seed=seed, data_home=data_home)
    spec = task.spec
    cols = _slice_columns(dataset, data_home, seed)
    if list(cols[spec.sensitive]) != list(task.group_test):
        raise RuntimeError("internal error: slice columns are not aligned with the test split")
    metric = spec.metric
    s_slice = f"{spec.sensitive}={spec.sensitive_value}"
    baseline_slice = f"{spec.sensitive}={spec.nonsensitive_value}"
    say(
        f"{dataset}: {len(task.y_train):,} training and {len(task.y_test):,} test rows, "
        f"{task.x_train.shape[1]} features; sensitive attribute {spec.sensitive!r}, "
        f"gap metric {metric.upper()} ({s_slice} vs {baseline_slice}); MinDiff ({loss}) "
        f"weights {', '.join(f'{w:g}' for w in sweep)}"
    )
    torch = require_torch("the demo")
    threads = torch.get_num_threads()
    # A 2x64 MLP on batches of 256 is too small to gain from intra-op threads; on a busy
    # 2-core machine they cost 10-50x in synchronisation. Train on one thread.
    torch.set_num_threads(1)
    runs: list[tuple[str, str | None, float]] = [("baseline", None, 0.0)]
    runs += [(model_name(w), loss, w) for w in sweep]
    nets = {}
    try:
        for name, l_, w in runs:
            nets[name] = _train(task, loss=l_, loss_weight=w, epochs=epochs, seed=seed,
                                progress=progress, desc=f"train {name:12s}")  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    table: dict[str, NDArray[Any]] = {"label": task.y_test.astype(np.int64), **cols}
    for name, net in nets.items():
        table[name] = predict_proba(net, task.x_test)
    models = list(nets)
    main = model_name(loss_weight)
    y_test = table["label"]
    result = assay.evaluate(
        table,
        label="label",
        scores={m: m for m in models},
        slices=["sex", "race", ("sex", "race"), "age_group"],
        min_slice_size=30,
        baseline=baseline_slice,
        ci="jackknife",
        seed=seed,
        progress=progress,
    )

    headline: dict[str, Any] = {"metric": metric, "slice": s_slice, "baseline_slice": baseline_slice,
                                "threshold": 0.5, "mindiff": main}  # fmt: skip
    for m in models:
        g = result.value(metric, slice=s_slice, threshold=0.5, model=m)
        h: dict[str, Any] = {
            "gap": g.diff, "gap_lower": g.diff_lower, "gap_upper": g.diff_upper,
            "significant": g.significant, "significant_adjusted": g.significant_adjusted,
            "p_value_adjusted": g.p_value_adjusted,
        }  # fmt: skip
        for k in OVERALL:
            v = result.value(k, threshold=0.5, model=m)
            h[k], h[f"{k}_lower"], h[f"{k}_upper"] = v.value, v.lower, v.upper
        h["roc_auc"] = result.value("roc_auc", model=m).value
        headline[m] = h

    files = {
        "report": out / "report.html",
        "model_card": out / "model_card.md",
        "model_card_json": out / "model_card.json",
        "model_card_toolkit": out / "model_card_toolkit.json",
        "result": out / "result.json",
    }
    title = f"{_DISPLAY[dataset]}: baseline and MinDiff ({loss}) at weights " + ", ".join(
        f"{w:g}" for w in sweep
    )
    hl = (metric, s_slice, baseline_slice)
    result.to_html(files["report"], sample=dict(table), title=title, headline=hl)
    info = _card_info(dataset, spec, loss, loss_weight, epochs, seed, len(task.y_train), sweep)
    card_title = "Adult income model" if dataset == "adult" else "COMPAS recidivism model"
    result.to_model_card(files["model_card"], title=card_title, info=info, headline=hl)
    result.to_model_card(files["model_card_json"], format="json", title=card_title, info=info,
                         headline=hl)  # fmt: skip
    result.to_model_card(files["model_card_toolkit"], format="model-card-toolkit",
                         title=card_title, info=info, headline=hl)  # fmt: skip
    result.to_json(files["result"])

    seconds = time.perf_counter() - start
    name_w = max(len(m) for m in models)
    say("")
    say(f"Held-out split, threshold 0.5, 95% jackknife intervals; significance adjusted "
        f"across slices ({result.config.get('multiple_comparisons', 'bh')}).")  # fmt: skip
    say(f"{metric.upper()} gap = {metric.upper()}({s_slice}) - {metric.upper()}({baseline_slice}):")
    for m in models:
        h = headline[m]
        say(f"  {m:{name_w}s}  gap {_fmt(h['gap'], h['gap_lower'], h['gap_upper'], True)}"
            f"  {_significance(h)}")  # fmt: skip
    say("Overall (all test rows):")
    say(f"  {'model':{name_w}s}  {'FPR':22s}{'FNR':22s}{'accuracy':22s}{'positive rate':22s}AUC")
    for m in models:
        h = headline[m]
        cells = "".join(f"{_fmt(h[k], h[k + '_lower'], h[k + '_upper']):22s}" for k in OVERALL)
        say(f"  {m:{name_w}s}  {cells}{h['roc_auc']:.3f}")
    b, f = headline["baseline"], headline[main]
    say("")
    words = {"fpr": "false positive rate", "fnr": "false negative rate"}
    other = "fnr" if metric == "fpr" else "fpr"
    say(
        f"Trade-off of MinDiff at weight {loss_weight:g}: the {metric.upper()} gap goes from "
        f"{_fmt(b['gap'], b['gap_lower'], b['gap_upper'], True)} ({_significance(b)}) to "
        f"{_fmt(f['gap'], f['gap_lower'], f['gap_upper'], True)} ({_significance(f)}), while "
        f"the overall {words[metric]} goes from {b[metric]:.3f} to {f[metric]:.3f}, the "
        f"overall {words[other]} from {b[other]:.3f} to {f[other]:.3f}, the positive rate "
        f"from {b['positive_rate']:.3f} to {f['positive_rate']:.3f} and accuracy from "
        f"{b['accuracy']:.3f} to {f['accuracy']:.3f}."
    )
    if not b["significant_adjusted"]:
        say(
            f"The baseline's {metric.upper()} gap is not significant: on these {len(y_test):,} "
            "test rows the data do not show a gap, so they do not show that MinDiff was "
            "needed either (nor that the gap is absent: read the interval)."
        )
    mc = result.comparison_arrow().to_pydict()
    changes = []
    for i, (mm, sl, me, th) in enumerate(zip(mc["model"], mc["slice"], mc["metric"],
                                             mc["threshold"], strict=True)):  # fmt: skip
        if mm == main and sl == "overall" and me in OVERALL and th is not None and abs(th - 0.5) < 1e-9:
            changes.append(f"{me} {_fmt(mc['diff'][i], mc['diff_lower'][i], mc['diff_upper'][i], True)}"
                           + (" (significant)" if mc["significant_adjusted"][i] else ""))  # fmt: skip
    if changes:
        say("Paired change from the baseline (same rows, paired jackknife): " + "; ".join(changes) + ".")
    say("")
    say(f"report:     {files['report'].resolve()}")
    say(f"model card: {files['model_card'].resolve()} (JSON: {files['model_card_json'].name}, "
        f"Model Card Toolkit JSON: {files['model_card_toolkit'].name})")  # fmt: skip
    say(f"result:     {files['result']}")
    say(f"done in {seconds:.0f} s")
    return DemoResult(dataset, result, models, main, headline, files, seconds, table,
                      "\n".join(lines))  # fmt: skip
