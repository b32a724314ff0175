"""What data values are used for (Yoon, Arik and Pfister 2020, section 5; Ghorbani and Zou
2019): finding corrupted rows, point removal, learning robustly from noisy labels and
adapting to a target domain. Pure functions over a vector of values (larger = more
valuable), one per training row; they work with the values of any method.

- :func:`discovery_curve`: inspect the rows from the lowest value up; the fraction of the
  corrupted rows found against the fraction of rows inspected (with the random and optimal
  curves).
- :func:`detection_scores`: flag the lowest-valued rows (as many as there are corrupted rows,
  by default): precision, recall, F1, and the AUROC of ``-value`` as a corruption score.
- :func:`point_removal`: retrain after removing the lowest (or highest) valued ``k``% of the
  rows; the score on a held-out set against ``k`` (the paper's plot).
- :func:`robust_fit`: train on the rows weighted by value, or on the selected rows.
- :func:`domain_adaptation`: value source-domain rows against a validation set from the
  target domain, then train weighted by the values and score on the target domain.

Ranks break ties by row order (a stable sort): rows of equal value are inspected (or
removed) first-come first-served, so a method that gives many rows the same value is not
credited for an order it did not give; :func:`detection_scores`' AUROC averages over ties.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._util.validation import check_choice
from ._common import (
    F64,
    I64,
    ModelUtility,
    as_features,
    as_labels,
    check_seed,
    clone_estimator,
    to_numpy,
)

__all__ = [
    "DiscoveryCurve",
    "DomainAdaptation",
    "RemovalCurve",
    "detection_scores",
    "discovery_curve",
    "domain_adaptation",
    "point_removal",
    "robust_fit",
    "selection_weights",
]

#: Default grid of inspected / removed fractions.
DEFAULT_FRACTIONS: tuple[float, ...] = tuple(np.round(np.arange(0.0, 0.501, 0.05), 2).tolist())


def as_values(values: Any, name: str = "values", *, func: str, n: int | None = None) -> F64:
    """``values`` as a finite 1-d float array (of length ``n`` when given)."""
    if hasattr(values, "values_") and not isinstance(values, np.ndarray):
        values = values.values_
    values = to_numpy(values)
    try:
        v = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"The {name!r} parameter of {func} must be numbers (one value per training row). "
            f"Got {type(values).__name__} that does not convert to float."
        ) from exc
    if v.ndim != 1:
        raise ValueError(
            f"The {name!r} parameter of {func} must be a 1-d array (one value per training "
            f"row). Got shape {v.shape} instead."
        )
    if v.size == 0:
        raise ValueError(f"The {name!r} parameter of {func} must hold at least one value. Got 0.")
    if n is not None and v.size != n:
        raise ValueError(
            f"The {name!r} parameter of {func} must have one value per training row ({n}). "
            f"Got {v.size} instead."
        )
    if not np.all(np.isfinite(v)):
        bad = np.flatnonzero(~np.isfinite(v))
        raise ValueError(
            f"The {name!r} parameter of {func} must be finite. Got {bad.size} NaN or infinite "
            f"value(s), first at row {int(bad[0])}."
        )
    return v


def as_mask(mask: Any, n: int, name: str, *, func: str) -> NDArray[np.bool_]:
    """A boolean mask of ``n`` rows from booleans / 0-1 values, or from row indices."""
    a = np.asarray(mask)
    if a.dtype == bool:
        if a.shape != (n,):
            raise ValueError(
                f"The {name!r} parameter of {func} must be a boolean mask of {n} rows or an "
                f"array of row indices. Got a boolean array of shape {a.shape} instead."
            )
        return a
    if a.ndim == 1 and a.size == n and a.dtype.kind in "iuf" and np.all(np.isin(a, (0, 1))):
        return a.astype(bool)
    if a.ndim == 1 and a.dtype.kind in "iu":
        if a.size and (a.min() < 0 or a.max() >= n):
            raise ValueError(
                f"The {name!r} parameter of {func} holds row indices outside [0, {n}). "
                f"Got min {int(a.min())}, max {int(a.max())}."
            )
        out = np.zeros(n, dtype=bool)
        out[a] = True
        return out
    raise TypeError(
        f"The {name!r} parameter of {func} must be a boolean mask of {n} rows or an array of "
        f"row indices. Got dtype {a.dtype} and shape {a.shape} instead."
    )


def values_and_corrupted(
    values: Any, is_corrupted: Any, *, func: str
) -> tuple[F64, NDArray[np.bool_], int]:
    """The values, the corruption mask over the same rows and its count (at least one)."""
    v = as_values(values, func=func)
    bad = as_mask(is_corrupted, v.size, "is_corrupted", func=func)
    n_bad = int(bad.sum())
    if n_bad == 0:
        raise ValueError(
            f"The 'is_corrupted' parameter of {func} must mark at least one corrupted row. Got none."
        )
    return v, bad, n_bad


def as_fractions(fractions: Any, *, func: str, upper_open: bool = False) -> F64:
    try:
        f = np.asarray(list(fractions), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"The 'fractions' parameter of {func} must be a sequence of numbers in [0, 1]. "
            f"Got {fractions!r} instead."
        ) from exc
    top_ok = (f < 1) if upper_open else (f <= 1)
    if f.ndim != 1 or f.size == 0 or not np.all((f >= 0) & top_ok):
        bound = "[0, 1)" if upper_open else "[0, 1]"
        raise ValueError(
            f"The 'fractions' parameter of {func} must be a non-empty sequence of numbers in "
            f"{bound}. Got {fractions!r} instead."
        )
    return f


def ascending_order(values: F64) -> I64:
    """Row indices from the lowest value up; ties by row order."""
    out: I64 = np.argsort(values, kind="stable").astype(np.int64)
    return out


def n_of(fraction: float, n: int) -> int:
    """How many of ``n`` rows a fraction means (rounded half up)."""
    return int(np.floor(fraction * n + 0.5 + 1e-9))


# ----------------------------------------------------------------------------------------
# corrupted-sample discovery
# ----------------------------------------------------------------------------------------


@dataclass
class DiscoveryCurve:
    """The fraction of corrupted rows found (``found``) after inspecting the lowest-valued
    ``inspected`` fraction of the rows; ``optimal``: the best any ranking can do
    (``min(1, inspected * n / n_corrupted)``); ``random``: the expectation of a random order
    (``inspected``). ``area``: the mean of ``found`` over the grid (1 for a perfect ranking
    on a grid from 0 to the corrupted fraction, higher is better)."""

    inspected: F64
    found: F64
    optimal: F64
    random: F64
    n_rows: int
    n_corrupted: int

    @property
    def area(self) -> float:
        return float(np.mean(self.found))

    def to_dict(self) -> dict[str, Any]:
        return {"inspected": self.inspected.tolist(), "found": self.found.tolist(),
                "optimal": self.optimal.tolist(), "random": self.random.tolist(),
                "n_rows": self.n_rows, "n_corrupted": self.n_corrupted}  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DiscoveryCurve:
        a = [np.asarray(d[k], dtype=np.float64) for k in ("inspected", "found", "optimal", "random")]
        return cls(a[0], a[1], a[2], a[3], int(d["n_rows"]), int(d["n_corrupted"]))


def discovery_curve(
    values: Any, is_corrupted: Any, fractions: Sequence[float] | None = None
) -> DiscoveryCurve:
    """Corrupted-sample discovery: rank the rows by value, lowest first, and report the
    fraction of the corrupted rows among the first ``round(f * n)`` rows for each ``f`` in
    ``fractions`` (default 0, 0.05, ..., 0.5).

    ``is_corrupted``: a boolean mask (or 0/1) of the training rows, or their indices."""
    func = "discovery_curve"
    v, bad, n_bad = values_and_corrupted(values, is_corrupted, func=func)
    f = as_fractions(DEFAULT_FRACTIONS if fractions is None else fractions, func=func)
    hits = np.concatenate([[0], np.cumsum(bad[ascending_order(v)])])
    counts = np.array([n_of(x, v.size) for x in f])
    found = hits[counts] / n_bad
    optimal = np.minimum(1.0, counts / n_bad)
    return DiscoveryCurve(f, found.astype(np.float64), optimal, f.copy(), int(v.size), n_bad)


def _auroc(score: F64, positive: NDArray[np.bool_]) -> float:
    """Mann-Whitney AUROC of ``score`` for the positive rows (ties count one half)."""
    from_ranks = _average_ranks(score)
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((from_ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _average_ranks(x: F64) -> F64:
    """1-based ranks, ties given their average rank (as ``scipy.stats.rankdata``)."""
    order = np.argsort(x, kind="stable")
    xs = x[order]
    starts = np.flatnonzero(np.concatenate([[True], xs[1:] != xs[:-1]]))
    ends = np.concatenate([starts[1:], [xs.size]])
    avg = (starts + ends + 1) / 2.0
    ranks = np.empty(x.size)
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks


def detection_scores(
    values: Any, is_corrupted: Any, fraction: float | None = None
) -> dict[str, float]:
    """Noisy-label detection: flag the ``round(fraction * n)`` lowest-valued rows (default:
    as many rows as are corrupted, so precision = recall = F1) as corrupted.

    Returns ``precision``, ``recall``, ``f1``, ``n_flagged``, ``fraction`` and ``auroc`` (of
    ``-value`` as a score for being corrupted, ties averaged: 0.5 is a random ranking)."""
    func = "detection_scores"
    v, bad, n_bad = values_and_corrupted(values, is_corrupted, func=func)
    if fraction is None:
        m = n_bad
    else:
        if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not (
            0 < float(fraction) <= 1
        ):
            raise ValueError(
                f"The 'fraction' parameter of {func} must be a number in (0, 1] or None. "
                f"Got {fraction!r} instead."
            )
        m = max(1, n_of(float(fraction), v.size))
    flagged = np.zeros(v.size, dtype=bool)
    flagged[ascending_order(v)[:m]] = True
    tp = int((flagged & bad).sum())
    precision = tp / m
    recall = tp / n_bad
    f1 = 0.0 if tp == 0 else 2 * precision * recall / (precision + recall)
    return {"precision": precision, "recall": recall, "f1": f1, "n_flagged": float(m),
            "fraction": m / v.size, "auroc": _auroc(-v, bad)}  # fmt: skip


# ----------------------------------------------------------------------------------------
# point removal
# ----------------------------------------------------------------------------------------


@dataclass
class RemovalCurve:
    """Score on held-out data after removing a fraction of the training rows:
    ``scores[order][j]`` after removing ``removed[j]`` of the rows, ``order`` one of
    ``"lowest"`` (least valuable first: the score should rise or hold), ``"highest"`` (most
    valuable first: it should fall fast) and ``"random"`` (mean over ``n_random`` orders)."""

    removed: F64
    scores: dict[str, F64]
    n_rows: int
    metric: str = "accuracy"
    config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"removed": self.removed.tolist(), "n_rows": self.n_rows, "metric": self.metric,
                "scores": {k: v.tolist() for k, v in self.scores.items()},
                "config": self.config}  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RemovalCurve:
        return cls(np.asarray(d["removed"], dtype=np.float64),
                   {k: np.asarray(v, dtype=np.float64) for k, v in d["scores"].items()},
                   int(d["n_rows"]), str(d.get("metric", "accuracy")), dict(d.get("config", {})))  # fmt: skip


def point_removal(
    estimator: Any,
    x_train: Any,
    y_train: Any,
    x_test: Any,
    y_test: Any,
    values: Any,
    *,
    fractions: Sequence[float] | None = None,
    orders: Sequence[str] = ("lowest", "highest"),
    scoring: Callable[[Any, Any, Any], float] | None = None,
    n_random: int = 5,
    random_state: int | None = 0,
) -> RemovalCurve:
    """Retrain ``estimator`` (a scikit-learn clone) after removing the ``round(f * n)``
    lowest- (``"lowest"``) or highest-valued (``"highest"``) training rows, for each ``f`` in
    ``fractions`` (default 0, 0.05, ..., 0.5), and score it on ``(x_test, y_test)`` (default
    ``model.score``, the accuracy). ``"random"`` in ``orders`` adds the mean over
    ``n_random`` random removal orders (seeded). A remaining set with one class is scored as
    the constant prediction of that class."""
    func = "point_removal"
    xt = as_features(x_train, "x_train", func=func)
    yt = as_labels(y_train, xt.shape[0], "y_train", func=func)
    xs = as_features(x_test, "x_test", func=func)
    ys = as_labels(y_test, xs.shape[0], "y_test", func=func)
    if xs.shape[1] != xt.shape[1]:
        raise ValueError(
            f"The 'x_test' parameter of {func} must have as many features as 'x_train' "
            f"({xt.shape[1]}). Got {xs.shape[1]} instead."
        )
    n = xt.shape[0]
    v = as_values(values, func=func, n=n)
    f = as_fractions(DEFAULT_FRACTIONS if fractions is None else fractions, func=func,
                     upper_open=True)  # fmt: skip
    orders = list(orders)
    for o in orders:
        check_choice("orders", o, ["lowest", "highest", "random"], func=func)
    util = ModelUtility(estimator, xt, yt, xs, ys, scoring=scoring, cache=False, func=func)
    rng = check_seed(random_state, func=func)
    up = ascending_order(v)
    down = ascending_order(-v)  # highest first, ties by row order

    def curve(order: I64) -> F64:
        return np.array([util(np.sort(order[n_of(x, n):])) for x in f])

    scores: dict[str, F64] = {}
    for o in orders:
        if o == "lowest":
            scores[o] = curve(up)
        elif o == "highest":
            scores[o] = curve(down)
        else:
            scores[o] = np.mean([curve(rng.permutation(n).astype(np.int64))
                                 for _ in range(max(1, int(n_random)))], axis=0)  # fmt: skip
    metric = "accuracy" if scoring is None else getattr(scoring, "__name__", "score")
    return RemovalCurve(f, scores, n, metric, {"estimator": type(estimator).__name__,
                                               "n_random": int(n_random)})  # fmt: skip


# ----------------------------------------------------------------------------------------
# robust learning and domain adaptation
# ----------------------------------------------------------------------------------------


def selection_weights(
    values: Any,
    *,
    mode: str = "weight",
    keep_fraction: float | None = None,
    threshold: float | None = None,
    normalize: bool = True,
) -> F64:
    """Training weights from values.

    ``mode="weight"``: the values clipped at 0 (a negative Shapley value gets weight 0),
    divided by their mean when ``normalize`` (the default): a regularised estimator's
    penalty is weighed against the weighted loss, so weights of the size of Shapley values
    (about ``1/n``) would otherwise leave it almost unfitted; DVRL's selection probabilities
    (mean about 0.9) change little. ``mode="select"``: 1 for the rows kept,
    0 otherwise: the ``keep_fraction`` highest-valued rows (default 0.8), or the rows with a
    value above ``threshold``."""
    func = "selection_weights"
    v = as_values(values, func=func)
    check_choice("mode", mode, ["weight", "select"], func=func)
    if mode == "weight":
        w = np.clip(v, 0.0, None)
        if not np.any(w > 0):
            raise ValueError(
                f"The 'values' parameter of {func} must have at least one positive value for "
                "mode='weight' (the weights are the values clipped at 0). Got none; use "
                "mode='select'."
            )
        if normalize:
            w = w / w.mean()
        return w
    if threshold is not None and keep_fraction is not None:
        raise ValueError(
            f"The 'keep_fraction' and 'threshold' parameters of {func} are exclusive. Got both."
        )
    w = np.zeros(v.size)
    if threshold is not None:
        w[v > float(threshold)] = 1.0
    else:
        keep = 0.8 if keep_fraction is None else keep_fraction
        if isinstance(keep, bool) or not isinstance(keep, int | float) or not 0 < keep <= 1:
            raise ValueError(
                f"The 'keep_fraction' parameter of {func} must be a number in (0, 1]. "
                f"Got {keep_fraction!r} instead."
            )
        w[ascending_order(-v)[: max(1, n_of(float(keep), v.size))]] = 1.0
    if not np.any(w > 0):
        raise ValueError(f"The 'threshold' parameter of {func} keeps no row (all values <= "
                         f"{threshold!r}).")
    return w


def robust_fit(
    estimator: Any,
    x_train: Any,
    y_train: Any,
    values: Any,
    *,
    mode: str = "weight",
    keep_fraction: float | None = None,
    threshold: float | None = None,
    normalize: bool = True,
) -> Any:
    """A clone of ``estimator`` trained robustly: with ``sample_weight`` from
    :func:`selection_weights` (``mode="weight"``: the values clipped at 0, divided by their
    mean when ``normalize``) or on the selected rows only (``mode="select"``; the estimator
    need not take weights)."""
    func = "robust_fit"
    xt = as_features(x_train, "x_train", func=func)
    yt = as_labels(y_train, xt.shape[0], "y_train", func=func)
    v = as_values(values, func=func, n=xt.shape[0])
    w = selection_weights(v, mode=mode, keep_fraction=keep_fraction, threshold=threshold,
                          normalize=normalize)
    model = clone_estimator(estimator, func=func)
    if mode == "select":
        keep = w > 0
        return model.fit(xt[keep], yt[keep])
    try:
        return model.fit(xt, yt, sample_weight=w)
    except TypeError as exc:
        raise TypeError(
            f"The 'estimator' parameter of {func} must accept fit(x, y, sample_weight=...) for "
            f"mode='weight'; {type(estimator).__name__} does not ({exc}). Use mode='select'."
        ) from exc


@dataclass
class DomainAdaptation:
    """Domain adaptation by data valuation: ``values`` of the source rows against a
    validation set from the target domain; target-domain test scores of the model trained
    on the source rows as they are (``baseline_score``) and weighted by the values
    (``adapted_score``); ``fit_time`` of the valuation in seconds."""

    values: F64
    baseline_score: float
    adapted_score: float
    fit_time: float
    method: str

    @property
    def gain(self) -> float:
        return self.adapted_score - self.baseline_score


def domain_adaptation(
    valuer: Any,
    estimator: Any,
    x_source: Any,
    y_source: Any,
    x_target_val: Any,
    y_target_val: Any,
    x_target_test: Any,
    y_target_test: Any,
    *,
    mode: str = "weight",
    keep_fraction: float | None = None,
    scoring: Callable[[Any, Any, Any], float] | None = None,
) -> DomainAdaptation:
    """Yoon et al.'s domain adaptation: fit ``valuer`` (any valuation method of this package,
    unfitted) with the source rows as training data and the small target-domain set
    ``(x_target_val, y_target_val)`` as validation data; train ``estimator`` on the source
    rows weighted by the values (:func:`robust_fit`) and compare its score on the target
    test set with the unweighted model's (``scoring(model, x, y)``, default ``model.score``)."""
    func = "domain_adaptation"
    if not hasattr(valuer, "fit"):
        raise TypeError(
            f"The 'valuer' parameter of {func} must be a valuation method with fit(x_train, "
            f"y_train, x_val, y_val) (e.g. KNNShapley()). Got {type(valuer).__name__} instead."
        )
    xs = as_features(x_source, "x_source", func=func)
    ys = as_labels(y_source, xs.shape[0], "y_source", func=func)
    xe = as_features(x_target_test, "x_target_test", func=func)
    ye = as_labels(y_target_test, xe.shape[0], "y_target_test", func=func)
    t0 = time.perf_counter()
    valuer.fit(xs, ys, x_target_val, y_target_val)
    fit_time = time.perf_counter() - t0
    v = as_values(valuer.values_, "valuer.values_", func=func, n=xs.shape[0])

    def score(model: Any) -> float:
        return float(model.score(xe, ye) if scoring is None else scoring(model, xe, ye))

    base = clone_estimator(estimator, func=func).fit(xs, ys)
    adapted = robust_fit(estimator, xs, ys, v, mode=mode, keep_fraction=keep_fraction)
    return DomainAdaptation(v, score(base), score(adapted), fit_time,
                            str(getattr(valuer, "name", type(valuer).__name__)))  # fmt: skip

