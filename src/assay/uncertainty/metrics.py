"""Calibration and uncertainty metrics as NumPy functions (no PyTorch needed).

Inputs: ``probs`` of shape ``(n, K)`` (class probabilities, rows summing to one within
:data:`PROB_ATOL`) or ``(n,)`` (binary: the probability of class 1); with
``from_logits=True`` the same shapes hold logits (softmax over the classes, or the sigmoid
of a binary logit). ``labels``: ``(n,)`` integer classes in ``[0, K)`` (0/1 for binary).

Conventions (see ``docs/uncertainty.md``):

* **Top-label** calibration uses the confidence ``max_k p_k`` and the correctness of the
  arg-max prediction (ties go to the lowest class index, as ``numpy.argmax``). A binary
  ``(n,)`` input is the two-class matrix ``[1 - p, p]``.
* **Bins**: equal-width (``strategy="uniform"``) edges ``linspace(0, 1, B + 1)`` or equal-mass
  (``"quantile"``) edges at the quantiles of the confidences (linear interpolation) with the
  first and last edge set to 0 and 1. Bins are closed on the left, ``[e_b, e_{b+1})``; the
  last bin also holds confidence 1 (as ``numpy.histogram`` and netcal).
* ECE with ``norm="l1"``: ``sum_b (n_b / n) |acc_b - conf_b|``; ``"l2"``:
  ``sqrt(sum_b (n_b / n) (acc_b - conf_b)^2)`` (torchmetrics' ``norm="l2"``); ``"max"``
  (the maximum calibration error): ``max_b |acc_b - conf_b|`` over non-empty bins.
* NLL: mean of ``-log p_label``; from probabilities the probability is clipped below at
  :data:`NLL_EPS` (so a zero probability costs ``-log(eps)``, about 36.0, as scikit-learn's
  ``log_loss``); from logits it is the exact log-softmax.
* Brier score: ``normalization="sum"`` (the usual definition, Brier 1950):
  ``mean_i sum_k (p_ik - 1[y_i = k])^2``, in ``[0, 2]``; ``"mean"`` divides by the number of
  classes (Uncertainty Baselines' MNIST code), in ``[0, 1]``; for a binary model ``"mean"``
  equals scikit-learn's ``brier_score_loss``, ``mean (p - y)^2``.
* Uncertainty scores are **larger = more uncertain** (so they serve as OOD scores).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from assay import _native

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Tolerance on probabilities: each row must sum to 1 within this (absolute), and values
#: must lie in ``[-PROB_ATOL, 1 + PROB_ATOL]``.
PROB_ATOL = 1e-4
#: Lower clip of the label's probability in the NLL from probabilities.
NLL_EPS = float(np.finfo(np.float64).eps)

Norm = Literal["l1", "l2", "max"]
Strategy = Literal["uniform", "quantile"]

__all__ = [
    "NLL_EPS",
    "PROB_ATOL",
    "ReliabilityDiagram",
    "accuracy",
    "area_under_risk_coverage",
    "auroc",
    "bin_edges",
    "bin_index",
    "brier_score",
    "calibration_error_from_sums",
    "check_labels",
    "classwise_calibration_error",
    "disagreement",
    "expected_calibration_error",
    "expected_entropy",
    "log_probabilities",
    "maximum_calibration_error",
    "misclassification_auroc",
    "mutual_information",
    "negative_log_likelihood",
    "predictive_entropy",
    "reliability_diagram",
    "risk_coverage_curve",
    "to_probabilities",
    "top_label",
]  # fmt: skip


# ---------------------------------------------------------------- input checking


def _as_float(x: ArrayLike, name: str, func: str) -> F64:
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"The {name!r} parameter of {func} must be an array of numbers. "
            f"Got {type(x).__name__} instead."
        ) from None
    if a.ndim not in (1, 2) or a.shape[0] == 0:
        raise ValueError(
            f"The {name!r} parameter of {func} must be a non-empty array of shape (n,) or "
            f"(n, classes). Got shape {a.shape} instead."
        )
    # a non-finite entry makes the sum non-finite (the sum is the fast check)
    if not np.isfinite(a.sum()) and not np.isfinite(a).all():
        bad = ~np.isfinite(a)
        row = int(np.flatnonzero(bad.reshape(a.shape[0], -1).any(axis=1))[0])
        raise ValueError(
            f"The {name!r} parameter of {func} must hold finite numbers; row {row} holds "
            f"{a[row].tolist() if a.ndim == 2 and a.shape[1] <= 10 else 'NaN or inf'}."
        )
    return a


def _softmax_log(z: F64) -> F64:
    m = z.max(axis=1, keepdims=True)
    zz = z - m
    out: F64 = zz - np.log(np.exp(zz).sum(axis=1, keepdims=True))
    return out


def looks_like_probabilities(a: F64, atol: float = PROB_ATOL) -> bool:
    """Whether every row of ``a`` (n, K) is non-negative and sums to 1 within ``atol``."""
    return bool(
        a.ndim == 2 and a.shape[1] >= 2 and np.all(a >= -atol)
        and np.all(np.abs(a.sum(axis=1) - 1.0) <= atol)
    )  # fmt: skip


def _checked_probabilities(a: F64, name: str, func: str) -> F64:
    """``a`` (already finite, 1-D or 2-D) checked as probabilities; ``(n, K)``, K >= 2."""
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    lo, hi = float(a.min()), float(a.max())
    if lo < -PROB_ATOL or hi > 1.0 + PROB_ATOL:
        raise ValueError(
            f"The {name!r} parameter of {func} must hold probabilities in [0, 1]; got values "
            f"from {lo:g} to {hi:g}. These look like logits: pass from_logits=True."
        )
    if lo < 0.0 or hi > 1.0:
        a = np.clip(a, 0.0, 1.0)
    if a.ndim == 1:
        return np.column_stack([1.0 - a, a])
    s = a.sum(axis=1)
    off = np.abs(s - 1.0) > PROB_ATOL
    if off.any():
        row = int(np.flatnonzero(off)[0])
        raise ValueError(
            f"The {name!r} parameter of {func} must hold class probabilities whose rows "
            f"sum to 1 (within {PROB_ATOL:g}); {int(off.sum())} row(s) do not, first row "
            f"{row} sums to {s[row]:.6g}. Pass from_logits=True for logits, or normalise "
            "the rows."
        )
    return a


def _logit_matrix(a: F64) -> F64:
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim == 1:
        return np.column_stack([np.zeros_like(a), a])  # softmax([0, z]) = [1 - s(z), s(z)]
    return a


def log_probabilities(
    probs: ArrayLike, *, from_logits: bool = False, name: str = "probs", func: str = "assay.uncertainty"
) -> F64:
    """``(n, K)`` log class probabilities (K >= 2) from probabilities or logits, checked.

    A binary ``(n,)`` (or ``(n, 1)``) input becomes the two columns ``[1 - p, p]``.
    """
    a = _as_float(probs, name, func)
    if from_logits:
        return _softmax_log(_logit_matrix(a))
    with np.errstate(divide="ignore"):
        out: F64 = np.log(_checked_probabilities(a, name, func))
    return out


def to_probabilities(
    probs: ArrayLike, *, from_logits: bool = False, name: str = "probs", func: str = "assay.uncertainty"
) -> F64:
    """``(n, K)`` class probabilities (K >= 2) from probabilities or logits, checked (see
    :func:`log_probabilities`)."""
    a = _as_float(probs, name, func)
    if not from_logits:
        return _checked_probabilities(a, name, func)
    z = _logit_matrix(a)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    out: F64 = e / e.sum(axis=1, keepdims=True)
    return out


def check_labels(labels: ArrayLike, n: int, n_classes: int, *, func: str, name: str = "labels") -> I64:
    """``labels`` as int64 classes in ``[0, n_classes)``, one per row."""
    if hasattr(labels, "detach"):
        labels = labels.detach().cpu().numpy()
    y = np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(
            f"The {name!r} parameter of {func} must be a 1-D array with one class per row "
            f"({n}). Got shape {y.shape} instead."
        )
    if y.dtype == bool:
        y = y.astype(np.int64)
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise TypeError(
            f"The {name!r} parameter of {func} must hold integer class indices. Got dtype "
            f"{y.dtype} instead."
        )
    if np.issubdtype(y.dtype, np.floating):
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise ValueError(
                f"The {name!r} parameter of {func} must hold integer class indices; got "
                "non-integer or non-finite values."
            )
    yi = y.astype(np.int64)
    bad = (yi < 0) | (yi >= n_classes)
    if bad.any():
        raise ValueError(
            f"The {name!r} parameter of {func} must hold classes in [0, {n_classes - 1}] "
            f"(the probabilities have {n_classes} columns). Got "
            f"{sorted(set(yi[bad].tolist()))[:5]} instead."
        )
    return yi


def _prepare(probs: ArrayLike, labels: ArrayLike, from_logits: bool, func: str) -> tuple[F64, I64]:
    p = to_probabilities(probs, from_logits=from_logits, func=func)
    y = check_labels(labels, p.shape[0], p.shape[1], func=func)
    return p, y


def _check_bins(n_bins: Any, func: str) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer):
        raise TypeError(
            f"The 'n_bins' parameter of {func} must be an int >= 1. Got {n_bins!r} of type "
            f"{type(n_bins).__name__} instead."
        )
    if n_bins < 1:
        raise ValueError(f"The 'n_bins' parameter of {func} must be an int >= 1. Got {n_bins!r} instead.")
    return int(n_bins)


def _check_choice(param: str, value: Any, choices: tuple[str, ...], func: str) -> None:
    if value not in choices:
        raise ValueError(
            f"The {param!r} parameter of {func} must be one of {', '.join(map(repr, choices))}. "
            f"Got {value!r} instead."
        )


# ---------------------------------------------------------------- the compiled one-pass path


@dataclass(frozen=True)
class CalibrationSums:
    """The sums one pass of the compiled kernel (``assay/_native/_calibration.c``) gives for
    ``n`` rows of probabilities with equal-width bins: ``top`` ``(3, B)`` (per top-label
    confidence bin: count, confidence sum, hit sum), ``per_class`` ``(K, 3, B)`` or ``None``
    (per class and bin of ``p_k``: count, ``p_k`` sum, label sum), and the sums of
    ``-log max(p_y, NLL_EPS)``, of the Brier terms and of the hits."""

    n: int
    n_classes: int
    top: F64
    per_class: F64 | None
    nll_sum: float
    brier_sum: float
    correct: int


def native_sums(probs: Any, labels: Any, n_bins: int, *, classwise: bool = False) -> CalibrationSums | None:
    """The compiled kernel's sums for ``(n, K)`` float32/float64 probabilities (K >= 2) and
    integer labels, or ``None`` when the kernel does not apply (not built or switched off,
    other shapes or dtypes: the NumPy path handles those) or found bad input (the NumPy path
    then raises the message naming the argument). Entries are clipped to [0, 1] and the
    checks use :data:`PROB_ATOL`, as the NumPy path."""
    mod = _native.calibration()
    if mod is None or n_bins > 1 << 20:
        return None
    if hasattr(probs, "detach"):
        probs = probs.detach().cpu().numpy()
    if hasattr(labels, "detach"):
        labels = labels.detach().cpu().numpy()
    if not isinstance(probs, np.ndarray) or probs.dtype not in (np.float32, np.float64):
        return None
    if probs.ndim != 2 or probs.shape[0] == 0 or probs.shape[1] < 2:
        return None
    y = np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != probs.shape[0] or y.dtype.kind not in "iu":
        return None
    n, k = probs.shape
    p = np.ascontiguousarray(probs)
    yi = np.ascontiguousarray(y, dtype=np.int64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    top = np.zeros((3, n_bins))
    per_class = np.zeros((k, 3, n_bins)) if classwise else None
    scal = np.zeros(3)
    status, _row = mod.calibration_sums(
        p.ctypes.data, yi.ctypes.data, n, k, n_bins, edges.ctypes.data, top.ctypes.data,
        0 if per_class is None else per_class.ctypes.data, scal.ctypes.data, PROB_ATOL, NLL_EPS,
        p.dtype == np.float64,
    )  # fmt: skip
    if status != 0:
        return None
    return CalibrationSums(n, k, top, per_class, float(scal[0]), float(scal[1]), round(float(scal[2])))


# ---------------------------------------------------------------- binning and formulas


def top_label(probs: F64) -> tuple[F64, I64]:
    """Confidence ``max_k p_k`` and the predicted class ``argmax_k p_k`` (first on ties)."""
    pred = np.argmax(probs, axis=1).astype(np.int64)
    conf = probs[np.arange(probs.shape[0]), pred]
    return conf, pred


def bin_edges(confidence: F64, n_bins: int, strategy: Strategy = "uniform") -> F64:
    """``n_bins + 1`` bin edges from 0 to 1: equal-width, or at the confidence quantiles."""
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    e = np.quantile(confidence, np.linspace(0.0, 1.0, n_bins + 1))
    e[0], e[-1] = 0.0, 1.0
    out: F64 = np.maximum.accumulate(e)
    return out


def bin_index(confidence: F64, edges: F64) -> I64:
    """Bin of each confidence: ``b`` with ``edges[b] <= c < edges[b + 1]``; the last bin is
    closed on the right."""
    b = np.searchsorted(edges, confidence, side="right") - 1
    out: I64 = np.clip(b, 0, edges.size - 2).astype(np.int64)
    return out


def calibration_error_from_sums(count: F64, conf_sum: F64, correct_sum: F64, norm: Norm = "l1") -> F64:
    """Calibration error from per-bin sums (trailing axis = bins; leading axes vectorized):
    the (weighted) count, the confidence sum and the correct (or label) sum of each bin.

    NaN where the total count is 0. Empty bins do not contribute.
    """
    count = np.asarray(count, dtype=np.float64)
    total = count.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.where(count > 0, (np.asarray(conf_sum) - np.asarray(correct_sum)) / count, 0.0)
        share = count / total[..., None]
        if norm == "l1":
            out = (share * np.abs(gap)).sum(axis=-1)
        elif norm == "l2":
            out = np.sqrt((share * gap * gap).sum(axis=-1))
        else:
            out = np.where(count > 0, np.abs(gap), -np.inf).max(axis=-1)
    res: F64 = np.where(total > 0, out, np.nan)
    return res


def _bin_sums(conf: F64, correct: F64, edges: F64) -> tuple[F64, F64, F64]:
    b = bin_index(conf, edges)
    nb = edges.size - 1
    c: F64 = np.bincount(b, minlength=nb).astype(np.float64)
    s: F64 = np.bincount(b, weights=conf, minlength=nb).astype(np.float64)
    k: F64 = np.bincount(b, weights=correct, minlength=nb).astype(np.float64)
    return c, s, k


# ---------------------------------------------------------------- calibration metrics


def expected_calibration_error(
    probs: ArrayLike,
    labels: ArrayLike,
    n_bins: int = 15,
    *,
    from_logits: bool = False,
    strategy: Strategy = "uniform",
    norm: Norm = "l1",
) -> float:
    """Top-label expected calibration error (Guo et al. 2017; Naeini et al. 2015).

    ``sum_b (n_b / n) |acc_b - conf_b|`` over ``n_bins`` confidence bins (``norm="l1"``;
    ``"l2"``: the root of the weighted mean squared gap; ``"max"``: the maximum calibration
    error). ``strategy``: ``"uniform"`` (equal-width bins) or ``"quantile"`` (equal-mass).
    """
    func = "expected_calibration_error"
    nb = _check_bins(n_bins, func)
    _check_choice("strategy", strategy, ("uniform", "quantile"), func)
    _check_choice("norm", norm, ("l1", "l2", "max"), func)
    if strategy == "uniform" and not from_logits:
        sums = native_sums(probs, labels, nb)
        if sums is not None:
            return float(calibration_error_from_sums(sums.top[0], sums.top[1], sums.top[2], norm))
    p, y = _prepare(probs, labels, from_logits, func)
    conf, pred = top_label(p)
    edges = bin_edges(conf, nb, strategy)
    c, s, k = _bin_sums(conf, (pred == y).astype(np.float64), edges)
    return float(calibration_error_from_sums(c, s, k, norm))


def maximum_calibration_error(
    probs: ArrayLike, labels: ArrayLike, n_bins: int = 15, *, from_logits: bool = False,
    strategy: Strategy = "uniform",
) -> float:
    """Top-label maximum calibration error: ``max_b |acc_b - conf_b|`` over non-empty bins."""
    return expected_calibration_error(
        probs, labels, n_bins, from_logits=from_logits, strategy=strategy, norm="max"
    )


def classwise_calibration_error(
    probs: ArrayLike,
    labels: ArrayLike,
    n_bins: int = 15,
    *,
    from_logits: bool = False,
    strategy: Strategy = "uniform",
    norm: Norm = "l1",
    reduction: Literal["mean", "none"] = "mean",
) -> float | F64:
    """Classwise ECE (Kull et al. 2019): for each class ``k`` the calibration error of
    ``p_k`` against ``1[y = k]`` over bins of ``p_k``; averaged over the classes
    (``reduction="mean"``) or returned per class (``"none"``, shape ``(K,)``).

    For a binary model, class 1's entry is the positive-class calibration error that
    netcal and torchmetrics' ``binary_calibration_error`` compute.
    """
    func = "classwise_calibration_error"
    nb = _check_bins(n_bins, func)
    _check_choice("strategy", strategy, ("uniform", "quantile"), func)
    _check_choice("norm", norm, ("l1", "l2", "max"), func)
    _check_choice("reduction", reduction, ("mean", "none"), func)
    if strategy == "uniform" and not from_logits:
        sums = native_sums(probs, labels, nb, classwise=True)
        if sums is not None and sums.per_class is not None:
            pc = sums.per_class
            res: F64 = calibration_error_from_sums(pc[:, 0], pc[:, 1], pc[:, 2], norm)
            return float(res.mean()) if reduction == "mean" else res
    p, y = _prepare(probs, labels, from_logits, func)
    out = np.empty(p.shape[1])
    for k in range(p.shape[1]):
        edges = bin_edges(p[:, k], nb, strategy)
        c, s, h = _bin_sums(p[:, k], (y == k).astype(np.float64), edges)
        out[k] = calibration_error_from_sums(c, s, h, norm)
    return float(out.mean()) if reduction == "mean" else out


@dataclass(frozen=True)
class ReliabilityDiagram:
    """Per-bin data of a reliability diagram (top-label).

    ``edges`` ``(B + 1,)``; per bin: ``count``, mean ``confidence`` and ``accuracy`` (NaN
    for empty bins) and ``gap = accuracy - confidence``.
    """

    edges: F64
    count: F64
    confidence: F64
    accuracy: F64

    @property
    def gap(self) -> F64:
        out: F64 = self.accuracy - self.confidence
        return out

    def to_dict(self) -> dict[str, list[float]]:
        def clean(a: F64) -> list[float]:
            return [float(v) if np.isfinite(v) else float("nan") for v in a]

        return {"edges": clean(self.edges), "count": clean(self.count),
                "confidence": clean(self.confidence), "accuracy": clean(self.accuracy)}  # fmt: skip


def reliability_diagram(
    probs: ArrayLike, labels: ArrayLike, n_bins: int = 15, *, from_logits: bool = False,
    strategy: Strategy = "uniform",
) -> ReliabilityDiagram:
    """The reliability diagram's data: per confidence bin the count, mean confidence and
    accuracy (top-label, same bins as :func:`expected_calibration_error`)."""
    func = "reliability_diagram"
    nb = _check_bins(n_bins, func)
    _check_choice("strategy", strategy, ("uniform", "quantile"), func)
    sums = native_sums(probs, labels, nb) if strategy == "uniform" and not from_logits else None
    if sums is not None:
        edges = np.linspace(0.0, 1.0, nb + 1)
        c, s, k = sums.top
    else:
        p, y = _prepare(probs, labels, from_logits, func)
        conf, pred = top_label(p)
        edges = bin_edges(conf, nb, strategy)
        c, s, k = _bin_sums(conf, (pred == y).astype(np.float64), edges)
    with np.errstate(divide="ignore", invalid="ignore"):
        return ReliabilityDiagram(edges, c, np.where(c > 0, s / c, np.nan), np.where(c > 0, k / c, np.nan))


# ---------------------------------------------------------------- proper scores


def negative_log_likelihood(probs: ArrayLike, labels: ArrayLike, *, from_logits: bool = False) -> float:
    """Mean negative log-likelihood of the labels, ``-mean_i log p_{i, y_i}`` (natural log).

    From probabilities the label's probability is clipped below at :data:`NLL_EPS`; from
    logits the exact log-softmax is used.
    """
    func = "negative_log_likelihood"
    if from_logits:
        lp = log_probabilities(probs, from_logits=True, func=func)
        y = check_labels(labels, lp.shape[0], lp.shape[1], func=func)
        return float(-lp[np.arange(y.size), y].mean())
    sums = native_sums(probs, labels, 1)
    if sums is not None:
        return sums.nll_sum / sums.n
    p, y = _prepare(probs, labels, False, func)
    return float(-np.log(np.maximum(p[np.arange(y.size), y], NLL_EPS)).mean())


def brier_score(
    probs: ArrayLike, labels: ArrayLike, *, from_logits: bool = False,
    normalization: Literal["sum", "mean"] = "sum",
) -> float:
    """Brier score: ``mean_i sum_k (p_ik - 1[y_i = k])^2`` (``normalization="sum"``, the usual
    definition, range [0, 2]) or that divided by the number of classes (``"mean"``, as
    Uncertainty Baselines' MNIST code; range [0, 1]; for a binary model it equals
    ``mean (p - y)^2``)."""
    func = "brier_score"
    _check_choice("normalization", normalization, ("sum", "mean"), func)
    sums = None if from_logits else native_sums(probs, labels, 1)
    if sums is not None:
        b = sums.brier_sum / sums.n
        return b / sums.n_classes if normalization == "mean" else b
    p, y = _prepare(probs, labels, from_logits, func)
    # sum_k (p_k - 1[y = k])^2 = sum_k p_k^2 - 2 p_y + 1
    per = np.einsum("ij,ij->i", p, p) - 2.0 * p[np.arange(y.size), y] + 1.0
    if normalization == "mean":
        per = per / p.shape[1]
    return float(per.mean())


def accuracy(probs: ArrayLike, labels: ArrayLike, *, from_logits: bool = False) -> float:
    """Share of rows whose arg-max class (first on ties) is the label."""
    sums = None if from_logits else native_sums(probs, labels, 1)
    if sums is not None:
        return sums.correct / sums.n
    p, y = _prepare(probs, labels, from_logits, "accuracy")
    return float((np.argmax(p, axis=1) == y).mean())


# ---------------------------------------------------------------- selective prediction


def _confidence(p: F64, confidence: ArrayLike | None, func: str) -> F64:
    if confidence is None:
        return top_label(p)[0]
    c = _as_float(confidence, "confidence", func)
    if c.ndim != 1 or c.shape[0] != p.shape[0]:
        raise ValueError(
            f"The 'confidence' parameter of {func} must have one value per row "
            f"({p.shape[0]}). Got shape {c.shape} instead."
        )
    return c


def risk_coverage_curve(
    probs: ArrayLike, labels: ArrayLike, *, confidence: ArrayLike | None = None,
    from_logits: bool = False,
) -> tuple[F64, F64, F64]:
    """Selective prediction: ``(coverage, risk, threshold)``, one point per distinct
    confidence, from the most confident.

    At threshold ``t`` the model answers the rows with confidence ``>= t``: coverage is
    their share and risk their error rate (top-label error). ``confidence`` (larger = more
    confident; default the top-label probability) may be any score, e.g. the negated
    mutual information of an ensemble.
    """
    func = "risk_coverage_curve"
    p, y = _prepare(probs, labels, from_logits, func)
    c = _confidence(p, confidence, func)
    err = (np.argmax(p, axis=1) != y).astype(np.float64)
    levels, inv = np.unique(-c, return_inverse=True)  # descending confidence
    n_l = np.bincount(inv, minlength=levels.size).astype(np.float64)
    e_l = np.bincount(inv, weights=err, minlength=levels.size)
    cn, ce = np.cumsum(n_l), np.cumsum(e_l)
    thr: F64 = -levels.astype(np.float64)
    return cn / y.size, ce / cn, thr


def area_under_risk_coverage(
    probs: ArrayLike, labels: ArrayLike, *, confidence: ArrayLike | None = None,
    from_logits: bool = False,
) -> float:
    """AURC (Geifman et al. 2019): the area under the risk-coverage curve as a step
    function, ``sum_j risk_j * (coverage_j - coverage_{j-1})``; with distinct confidences it
    is ``mean_k risk(k)`` over the ``k`` most confident rows. Lower is better."""
    cov, risk, _ = risk_coverage_curve(probs, labels, confidence=confidence, from_logits=from_logits)
    return float((risk * np.diff(np.concatenate([[0.0], cov]))).sum())


def auroc(scores: ArrayLike, positive: ArrayLike) -> float:
    """AUROC: the probability that a positive row scores above a negative one (ties one
    half); NaN without both kinds."""
    s = np.asarray(scores, dtype=np.float64)
    pos = np.asarray(positive).astype(bool)
    n1, n0 = int(pos.sum()), int((~pos).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    _, inv, cnt = np.unique(s, return_inverse=True, return_counts=True)
    start = np.cumsum(cnt) - cnt
    ranks = (start + (cnt + 1) / 2.0)[inv]  # average ranks, 1-based
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def misclassification_auroc(
    probs: ArrayLike, labels: ArrayLike, *, confidence: ArrayLike | None = None,
    from_logits: bool = False,
) -> float:
    """Misclassification detection AUROC (Hendrycks & Gimpel 2017): the probability that a
    correctly classified row has a higher ``confidence`` than a misclassified one (ties one
    half) -- equally, that an uncertainty score ``-confidence`` ranks the error higher.
    Default confidence: the top-label probability. NaN when all rows are right or wrong."""
    func = "misclassification_auroc"
    p, y = _prepare(probs, labels, from_logits, func)
    c = _confidence(p, confidence, func)
    return auroc(c, np.argmax(p, axis=1) == y)


# ---------------------------------------------------------------- uncertainty scores


def predictive_entropy(probs: ArrayLike, *, from_logits: bool = False) -> F64:
    """Entropy of the predictive distribution per row, ``-sum_k p_k log p_k`` (nats; larger
    = more uncertain)."""
    p = to_probabilities(probs, from_logits=from_logits, func="predictive_entropy")
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    out: F64 = -t.sum(axis=1)
    return out


def _members(member_probs: ArrayLike, func: str) -> F64:
    if hasattr(member_probs, "detach"):
        member_probs = member_probs.detach().cpu().numpy()
    a = np.asarray(member_probs, dtype=np.float64)
    if a.ndim != 3 or a.shape[0] < 1 or a.shape[2] < 2:
        raise ValueError(
            f"The 'member_probs' parameter of {func} must have shape (members, n, classes) "
            f"with classes >= 2. Got shape {a.shape} instead."
        )
    m, n, k = a.shape
    to_probabilities(a.reshape(m * n, k), name="member_probs", func=func)  # checks
    return a


def expected_entropy(member_probs: ArrayLike) -> F64:
    """Mean over members of each member's predictive entropy (the aleatoric part)."""
    a = _members(member_probs, "expected_entropy")
    m, n, k = a.shape
    out: F64 = predictive_entropy(a.reshape(m * n, k)).reshape(m, n).mean(axis=0)
    return out


def mutual_information(member_probs: ArrayLike) -> F64:
    """Mutual information between the prediction and the member (the epistemic part, BALD):
    ``H(mean_m p_m) - mean_m H(p_m)`` per row, ``>= 0``; 0 when all members agree."""
    a = _members(member_probs, "mutual_information")
    out: F64 = np.maximum(predictive_entropy(a.mean(axis=0)) - expected_entropy(a), 0.0)
    return out


def disagreement(member_probs: ArrayLike) -> F64:
    """Share of members whose arg-max class differs from the ensemble's arg-max class, per
    row (0 when all members predict the same class)."""
    a = _members(member_probs, "disagreement")
    ens = np.argmax(a.mean(axis=0), axis=1)
    out: F64 = (np.argmax(a, axis=2) != ens[None, :]).mean(axis=0)
    return out
