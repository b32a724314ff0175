"""From per-seed predictions to per-seed metrics (on the platform) and the verdicts.

Every seed's predictions on every stress test are evaluated by ``assay.evaluate`` (one
call per seed, the stress test as the slice column ``__test``), which gives the metric
values with their intervals; the across-seed spread, ranks, Spearman matrix and the
seed-effect test (:mod:`.stats`) are computed from them and from the per-row losses of the
metrics that are means over rows.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from ..evaluation.evaluate import evaluate
from . import stats as S
from .result import UnderspecificationResult
from .stress import CounterfactualPairs, StressSet, StressTestSpec, layout, n_rows
from .sweep import Predict, SweepRun, predict_inputs, run_sweep

__all__ = ["TASK_METRICS", "MetricDef", "analyze", "stress_test"]

_FUNC = "stress_test"
Task = Literal["binary", "multiclass", "regression"]
F64 = NDArray[np.float64]


@dataclass(frozen=True)
class MetricDef:
    """A metric of a task: its id in ``assay.evaluate``'s result, whether it has a
    threshold, the better direction, and (for means over rows) which rows and which per-row
    loss make it, for the seed-effect test."""

    id: str
    threshold: bool
    higher_better: bool
    rows: str | None = None  # "all", "negatives", "positives"; None: not a mean over rows
    label: str = ""


TASK_METRICS: dict[str, tuple[MetricDef, ...]] = {
    "binary": (
        MetricDef("accuracy", True, True, "all", "accuracy"),
        MetricDef("fpr", True, False, "negatives", "false positive rate"),
        MetricDef("fnr", True, False, "positives", "false negative rate"),
        MetricDef("roc_auc", False, True, None, "ROC AUC"),
        MetricDef("ece", False, False, None, "expected calibration error"),
    ),
    "multiclass": (
        MetricDef("top_label_accuracy", False, True, "all", "accuracy"),
        MetricDef("nll", False, False, None, "negative log-likelihood"),
        MetricDef("top_label_ece", False, False, None, "expected calibration error"),
    ),
    "regression": (
        MetricDef("mean_squared_error", False, False, "all", "mean squared error"),
        MetricDef("mean_absolute_error", False, False, "all", "mean absolute error"),
        MetricDef("r2", False, True, None, "R squared"),
    ),
}
_EVAL_TASK = {"binary": "classification", "multiclass": "uncertainty", "regression": "regression"}
CF_METRICS = (
    MetricDef("counterfactual_change", False, False, "all", "mean prediction change"),
    MetricDef("counterfactual_flip_rate", False, False, "all", "decision flip rate"),
)


def _row_losses(task: str, metric: MetricDef, scores: F64, y: NDArray[Any], threshold: float
                ) -> tuple[F64, NDArray[np.bool_]]:  # fmt: skip
    """Per-row loss whose mean over the selected rows is the metric (see tests), and the
    row selection."""
    if task == "binary":
        yy = y.astype(bool)
        pos = scores > threshold
        if metric.id == "accuracy":
            return (pos == yy).astype(np.float64), np.ones(y.size, bool)
        if metric.id == "fpr":
            return pos.astype(np.float64), ~yy
        return (~pos).astype(np.float64), yy  # fnr
    if task == "multiclass":
        return (np.argmax(scores, axis=1) == y).astype(np.float64), np.ones(y.size, bool)
    err = scores - y.astype(np.float64)
    return (err**2 if metric.id == "mean_squared_error" else np.abs(err)), np.ones(y.size, bool)


def _cf_losses(task: str, a: F64, b: F64, threshold: float) -> tuple[F64, F64]:
    if task == "multiclass":
        return 0.5 * np.abs(a - b).sum(axis=1), (a.argmax(axis=1) != b.argmax(axis=1)).astype(np.float64)
    if task == "binary":
        return np.abs(a - b), ((a > threshold) != (b > threshold)).astype(np.float64)
    return np.abs(a - b), np.full(a.shape[0], np.nan)


def _check_labels(task: str, tests: list[StressTestSpec]) -> None:
    for t in tests:
        if t.labels is None:
            continue
        y = t.labels
        if task == "binary":
            ok = y.dtype == bool or (np.issubdtype(y.dtype, np.number) and np.isin(y, [0, 1]).all())
            want = "0/1 or boolean labels"
        elif task == "multiclass":
            ok = np.issubdtype(y.dtype, np.integer) and bool((y >= 0).all())
            want = "integer class labels 0..K-1"
        else:
            ok = np.issubdtype(y.dtype, np.number) and bool(np.isfinite(y.astype(np.float64)).all())
            want = "finite numeric labels"
        if not ok:
            raise ValueError(
                f"The labels of stress set {t.source!r} of {_FUNC} must be {want} for "
                f"task={task!r}. Got values like {np.unique(y)[:5].tolist()!r} instead."
            )


def _identical(preds: Mapping[int, Mapping[str, F64]]) -> bool:
    seeds = list(preds)
    first = preds[seeds[0]]
    return all(np.array_equal(preds[s][k], first[k]) for s in seeds[1:] for k in first)


def analyze(
    run: SweepRun | Mapping[int, Mapping[str, Any]],
    iid: StressSet,
    stress: Sequence[StressSet | CounterfactualPairs] = (),
    *,
    task: Task = "binary",
    threshold: float = 0.5,
    alpha: float = 0.05,
    test: Literal["chi2", "permutation"] = "chi2",
    reference: Literal["relative", "shift"] = "relative",
    n_permutations: int = 999,
    confidence: float = 0.95,
    ci: Literal["jackknife", "bootstrap"] | None = "jackknife",
    min_denominator: int = 10,
    seed: int = 0,
    engine: Any = "local",
    progress: bool = False,
) -> UnderspecificationResult:
    """Per-seed metrics, their spread and the verdicts from predictions already made.

    ``run``: a :class:`SweepRun` or ``{seed: {input_name: predictions}}`` with one entry
    per stress set (and ``"<name>/counterfactual"`` for counterfactual pairs).
    ``reference``: what the iid spread is allowed to explain: ``"relative"`` (default) the
    stress metric's error may change across seeds by the same factor as the iid error
    (``m_S - b m_I`` is tested, ``b`` the ratio of the mean errors); ``"shift"`` by the same
    amount (``b = 1``, the difference is tested). ``test``: ``"chi2"`` (the asymptotic
    reference distribution) or ``"permutation"`` (``n_permutations`` Monte Carlo draws).
    ``alpha``: level of the Holm-adjusted verdicts; ``threshold``: decision threshold of
    binary scores (positive when ``score > threshold``); ``confidence``, ``ci``,
    ``min_denominator``, ``seed``, ``engine``: passed to ``assay.evaluate`` (``seed`` also
    to the permutations; ``engine="spark"`` evaluates each seed's rows on Spark).
    """
    if task not in TASK_METRICS:
        raise ValueError(f"The 'task' parameter of {_FUNC} must be one of {list(TASK_METRICS)}. Got {task!r} instead.")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"The 'alpha' parameter of {_FUNC} must be in (0, 1). Got {alpha!r} instead.")
    if reference not in ("relative", "shift"):
        raise ValueError(f"The 'reference' parameter of {_FUNC} must be 'relative' or 'shift'. Got {reference!r} instead.")
    if test not in ("chi2", "permutation"):
        raise ValueError(f"The 'test' parameter of {_FUNC} must be 'chi2' or 'permutation'. Got {test!r} instead.")
    inputs, tests = layout(iid, stress)
    _check_labels(task, tests)
    sweep = run if isinstance(run, SweepRun) else SweepRun(predictions={int(s): dict(p) for s, p in run.items()})
    preds: dict[int, dict[str, F64]] = {}
    for s, p in sweep.predictions.items():
        missing = [k for k in inputs if k not in p]
        if missing:
            raise ValueError(
                f"The predictions of seed {s} given to {_FUNC} lack the inputs {missing}; "
                f"every seed needs predictions for {list(inputs)}."
            )
        arrs = {k: np.asarray(p[k], dtype=np.float64) for k in inputs}
        for k, a in arrs.items():
            n = n_rows(inputs[k])
            good = a.shape[0] == n and (a.ndim == 2 if task == "multiclass" else a.ndim == 1)
            if not good:
                want = "(rows, classes)" if task == "multiclass" else "(rows,)"
                raise ValueError(
                    f"The predictions of seed {s} for {k!r} given to {_FUNC} must have shape "
                    f"{want} with {n} rows for task={task!r}. Got shape {a.shape} instead."
                )
        preds[s] = arrs
    seeds = list(preds)
    if len(seeds) < 3:
        failed = f" ({len(sweep.failures)} failed: {sorted(sweep.failures)})" if sweep.failures else ""
        raise ValueError(
            f"{_FUNC} needs at least 3 seeds with predictions to measure a spread across "
            f"seeds. Got {len(seeds)}{failed}."
        )
    notes: list[str] = []
    identical = _identical(preds)
    if identical:
        msg = (f"All {len(seeds)} seeds gave identical predictions on every stress set: the "
               "training function seems to ignore its seed (or the pipeline is deterministic), "
               "so nothing is left to chance and nothing can be tested.")  # fmt: skip
        warnings.warn(msg, UserWarning, stacklevel=2)
        notes.append(msg)
    for s, tb in sweep.failures.items():
        last = tb.strip().splitlines()[-1] if tb.strip() else "unknown error"
        notes.append(f"Seed {s} failed and is left out: {last}")

    metrics = TASK_METRICS[task]
    eval_tests = [t for t in tests if t.counterfactual is None]
    cf_tests = [t for t in tests if t.counterfactual is not None]
    # --- per seed, on the platform
    label_col = np.concatenate([t.labels for t in eval_tests if t.labels is not None])
    if task == "binary":
        label_col = label_col.astype(np.int64)
    test_col = np.concatenate([np.full(t.rows.size, t.name, dtype=object) for t in eval_tests])
    values: dict[tuple[str, str], F64] = {}
    lowers: dict[tuple[str, str], F64] = {}
    uppers: dict[tuple[str, str], F64] = {}
    for t in eval_tests:
        for m in metrics:
            for dct in (values, lowers, uppers):
                dct[(t.name, m.id)] = np.full(len(seeds), np.nan)
    from .._util.progress import Progress

    bar = Progress(len(seeds), desc="evaluating seeds", unit="seeds", enabled=progress)
    for i, s in enumerate(seeds):
        sc = np.concatenate([preds[s][t.source][t.rows] for t in eval_tests])
        data: dict[str, Any] = {"__test": test_col, "__label": label_col}
        kw: dict[str, Any] = {}
        if task == "multiclass":
            cols = [f"__p{c}" for c in range(sc.shape[1])]
            for c, col in enumerate(cols):
                data[col] = sc[:, c]
            scores: Any = {"model": cols}
            kw["classes"] = list(range(sc.shape[1]))
        else:
            data["__score"] = sc
            scores = "__score"
        if task == "binary":
            kw["thresholds"] = [threshold]
        ev = evaluate(data, label="__label", scores=scores, slices=["__test"], task=_EVAL_TASK[task],
                      ci=ci, confidence=confidence, min_denominator=min_denominator, seed=seed,
                      engine=engine, **kw)  # fmt: skip
        for t in eval_tests:
            for m in metrics:
                try:
                    mv = ev.value(m.id, slice={"__test": t.name},
                                  threshold=threshold if m.threshold else None,
                                  cls=0 if task == "multiclass" else None)  # fmt: skip
                except ValueError:
                    continue
                values[(t.name, m.id)][i] = mv.value
                lowers[(t.name, m.id)][i] = mv.lower
                uppers[(t.name, m.id)][i] = mv.upper
        bar.update(1)
    bar.close()
    # --- counterfactual pairs: per-seed prediction change
    cf_losses: dict[tuple[str, str], F64] = {}
    for t in cf_tests:
        ch = np.stack([_cf_losses(task, preds[s][t.source], preds[s][t.counterfactual or ""], threshold)[0] for s in seeds])
        fl = np.stack([_cf_losses(task, preds[s][t.source], preds[s][t.counterfactual or ""], threshold)[1] for s in seeds])
        cf_losses[(t.name, "counterfactual_change")] = ch
        cf_losses[(t.name, "counterfactual_flip_rate")] = fl
        for mid, arr in (("counterfactual_change", ch), ("counterfactual_flip_rate", fl)):
            values[(t.name, mid)] = arr.mean(axis=1)
            lowers[(t.name, mid)] = np.full(len(seeds), np.nan)
            uppers[(t.name, mid)] = np.full(len(seeds), np.nan)

    # --- across seeds
    iid_t = tests[0]
    summary: list[dict[str, Any]] = []
    primary = metrics[0].id
    tester: Callable[..., S.SeedEffectTest]
    if test == "chi2":
        tester = S.seed_effect_test
    else:
        def tester(lo: Any, w: Any) -> S.SeedEffectTest:
            return S.permutation_test(lo, w, n_permutations=n_permutations, seed=seed)

    iid_loss_cache: dict[str, tuple[F64, NDArray[np.bool_]]] = {}
    for t in tests:
        mdefs = CF_METRICS if t.counterfactual is not None else metrics
        for m in mdefs:
            v = values[(t.name, m.id)]
            if t.counterfactual is not None and task == "regression" and m.id == "counterfactual_flip_rate":
                continue
            sp = S.spread(v, confidence)
            row: dict[str, Any] = {
                "test": t.name, "kind": t.kind, "metric": m.id, "primary": m.id in (primary, "counterfactual_change"),
                "rows": int(t.rows.size), "seeds": sp.n, "mean": sp.mean, "sd": sp.sd, "min": sp.min, "max": sp.max,
                "range": sp.max - sp.min, "mean_lower": sp.mean_lower, "mean_upper": sp.mean_upper,
                "sd_lower": sp.sd_lower, "sd_upper": sp.sd_upper,
            }  # fmt: skip
            if t.counterfactual is None:
                iv = values[(iid_t.name, m.id)]
                sd_iid = float(np.nanstd(iv, ddof=1)) if np.isfinite(iv).sum() > 1 else math.nan
                row["sd_ratio"] = (sp.sd / sd_iid if sd_iid > 0 else (math.inf if sp.sd > 0 else math.nan))
                row["spearman_iid"] = S.spearman(iv, v)
                row["discordant_pairs"] = S.discordant_pairs(iv, v)
                row["rank_changed"] = S.rank_changed(iv, v, higher_better=m.higher_better)
            else:
                row.update(sd_ratio=math.nan, spearman_iid=math.nan, discordant_pairs=math.nan, rank_changed=math.nan)
            res: S.SeedEffectTest | None = None
            if m.rows is not None and np.isfinite(v).any():  # not for metrics the platform withheld
                if t.counterfactual is not None:
                    lo = cf_losses[(t.name, m.id)]
                    res = tester(lo, None)
                    row["test_kind"] = "counterfactual change vs per-row churn"
                else:
                    res, kind = _stress_test_stat(task, m, t, iid_t, preds, seeds, threshold, tester, reference,
                                                  iid_loss_cache)  # fmt: skip
                    row["test_kind"] = kind
            if res is not None:
                row.update(statistic=res.statistic, df=res.df, p_value=res.p_value,
                           excess_ratio=res.excess_ratio, slope=res.slope, test_method=res.method)  # fmt: skip
            else:
                row.update(statistic=math.nan, df=math.nan, p_value=math.nan, excess_ratio=math.nan,
                           slope=math.nan, test_method="", test_kind="")  # fmt: skip
            summary.append(row)
    # Holm across the stress tests, per metric (the iid row is the reference); a stress
    # test's headline verdict is its primary metric's
    for r in summary:
        r["p_adjusted"] = math.nan
        r["verdict"] = ""
    for mid in dict.fromkeys(r["metric"] for r in summary):
        fam = [i for i, r in enumerate(summary)
               if r["metric"] == mid and r["kind"] != "iid" and math.isfinite(r["p_value"])]  # fmt: skip
        for i, padj in zip(fam, S.holm([summary[i]["p_value"] for i in fam]), strict=True):
            r = summary[i]
            r["p_adjusted"] = padj
            r["verdict"] = "identical models" if identical else ("underspecified" if padj < alpha else "specified")
    for r in summary:
        if r["kind"] == "iid" and math.isfinite(r["p_value"]):
            r["verdict"] = "identical models" if identical else (
                "seeds differ on iid" if r["p_value"] < alpha else "reference")
        elif r["primary"] and not r["verdict"]:
            r["verdict"] = "not tested"
    per_seed = [
        {"seed": s, "test": t.name, "kind": t.kind, "metric": mid, "value": float(values[(t.name, mid)][i]),
         "lower": float(lowers[(t.name, mid)][i]), "upper": float(uppers[(t.name, mid)][i])}
        for t in tests for (tn, mid) in values if tn == t.name for i, s in enumerate(seeds)
    ]  # fmt: skip
    rank_corr: dict[str, dict[str, Any]] = {}
    for m in metrics:
        names = [t.name for t in eval_tests]
        mat = np.stack([values[(n, m.id)] for n in names], axis=1)
        rank_corr[m.id] = {"tests": names, "matrix": S.spearman_matrix(mat).tolist()}
    config = {
        "task": task, "threshold": threshold, "alpha": alpha, "test": test, "confidence": confidence,
        "ci": ci, "reference": reference, "seeds": seeds, "failed_seeds": sorted(sweep.failures), "primary_metric": primary,
        "n_permutations": n_permutations if test == "permutation" else None,
        "seconds": {str(s): float(x) for s, x in sweep.seconds.items()}, "resumed": list(sweep.resumed),
        "identical": identical,
    }  # fmt: skip
    return UnderspecificationResult(summary, per_seed, rank_corr, config,
                                    failures={int(s): tb for s, tb in sweep.failures.items()}, notes=notes)  # fmt: skip


def _stress_test_stat(task: str, m: MetricDef, t: StressTestSpec, iid_t: StressTestSpec,
                      preds: Mapping[int, Mapping[str, F64]], seeds: list[int], threshold: float,
                      tester: Callable[..., S.SeedEffectTest], reference: str,
                      cache: dict[str, tuple[F64, NDArray[np.bool_]]]) -> tuple[S.SeedEffectTest, str]:  # fmt: skip
    """The seed-effect test of stress test ``t`` on metric ``m``: against per-row churn
    alone for the iid set; otherwise of ``m_S - b m_I`` (``reference="shift"``: ``b = 1``;
    ``"relative"``: the ratio of the mean errors)."""

    def losses(spec: StressTestSpec) -> tuple[F64, NDArray[np.bool_]]:
        assert spec.labels is not None
        lo = [_row_losses(task, m, preds[s][spec.source][spec.rows], spec.labels, threshold) for s in seeds]
        return np.stack([x[0] for x in lo]), lo[0][1]

    if m.id not in cache:
        cache[m.id] = losses(iid_t)
    li, mi = cache[m.id]
    wi = mi / max(mi.sum(), 1)
    if t is iid_t:
        return tester(li, wi), "iid: seeds vs per-row churn"
    ls, ms = losses(t)
    ws = ms / max(ms.sum(), 1)
    if t.source == iid_t.source:  # a subgroup of the iid set: the rows are shared
        lo, v = li, wi
        u = np.zeros_like(wi)
        np.add.at(u, t.rows, ws)
    else:
        lo = np.concatenate([ls, li], axis=1)
        u = np.concatenate([ws, np.zeros_like(wi)])
        v = np.concatenate([np.zeros_like(ws), wi])
    if reference == "shift":
        b = 1.0
    else:  # the ratio of the mean errors (1 - accuracy for accuracies)
        mean_s, mean_i = float(np.mean(lo @ u)), float(np.mean(lo @ v))
        if m.higher_better:
            mean_s, mean_i = 1.0 - mean_s, 1.0 - mean_i
        b = mean_s / mean_i if mean_i > 0 else 1.0
    res = tester(lo, u - b * v)
    kind = "stress minus iid" if reference == "shift" else "stress minus b x iid (b = ratio of mean errors)"
    return replace(res, slope=b), f"{kind} vs per-row churn"


def stress_test(
    iid: StressSet,
    stress: Sequence[StressSet | CounterfactualPairs] = (),
    *,
    train: Callable[[int], Any] | None = None,
    seeds: Iterable[int] | int | None = None,
    models: Sequence[Any] | None = None,
    predictions: Mapping[int, Mapping[str, Any]] | None = None,
    predict: Predict | None = None,
    task: Task = "binary",
    checkpoint_dir: str | None = None,
    n_jobs: int = 1,
    retry_failed: bool = True,
    progress: bool = False,
    **kw: Any,
) -> UnderspecificationResult:
    """Stress-test a pipeline over seeds (D'Amour et al., 2022).

    Give exactly one of ``train`` (with ``seeds``: ``train(seed) -> model`` for each, run by
    :func:`run_sweep` with ``checkpoint_dir`` / ``n_jobs``), ``models`` (already trained, one
    per seed, numbered 0..) or ``predictions`` (``{seed: {stress set name: predictions}}``).
    ``predict(model, X)`` scores a model (default: ``predict_proba``'s positive column for
    binary, all columns for multiclass, else ``predict``). Further keywords go to
    :func:`analyze` (``threshold``, ``alpha``, ``test``, ``confidence``, ``ci``...).
    """
    given = [n for n, v in (("train", train), ("models", models), ("predictions", predictions)) if v is not None]
    if len(given) != 1:
        raise ValueError(
            f"{_FUNC} needs exactly one of 'train' (with 'seeds'), 'models' or 'predictions'. "
            f"Got {given or 'none'} instead."
        )
    inputs, _ = layout(iid, stress)
    if train is not None:
        if seeds is None:
            raise ValueError(f"The 'seeds' parameter of {_FUNC} is needed with 'train' (e.g. range(20)). Got None.")
        run = run_sweep(train, seeds, inputs, predict=predict, checkpoint_dir=checkpoint_dir, n_jobs=n_jobs,
                        retry_failed=retry_failed, progress=progress)  # fmt: skip
    elif models is not None:
        from .sweep import default_predict

        pr = predict or default_predict
        run = SweepRun(predictions={i: predict_inputs(mdl, inputs, pr) for i, mdl in enumerate(models)})
    else:
        assert predictions is not None
        run = SweepRun(predictions={int(s): dict(p) for s, p in predictions.items()})
    return analyze(run, iid, stress, task=task, progress=progress, **kw)
