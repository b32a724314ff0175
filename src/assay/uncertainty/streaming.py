"""Streaming (bounded-memory) forms of the calibration metrics.

:class:`StreamingCalibration` takes predictions batch by batch (``update``) and keeps only
per-bin sums, so its memory is ``O(K x n_bins)`` whatever the number of rows; two
accumulators over disjoint rows ``merge`` by addition (the same state as the platform's
``uncertainty`` family, without slices or intervals). Its values equal the functional forms
of :mod:`.metrics` on the concatenated rows (up to the summation order, ~1e-12):
top-label ECE (L1, L2) and MCE with equal-width bins, classwise ECE, NLL, Brier score (both
normalisations), accuracy and the reliability-diagram data. Equal-mass bins need every
confidence at once and are not offered; nor are the risk-coverage curve and AUROC (they
need the sorted confidences: use the platform family, or the functional forms).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from .metrics import (
    F64,
    NLL_EPS,
    Norm,
    ReliabilityDiagram,
    _bin_sums,
    _check_bins,
    _check_choice,
    calibration_error_from_sums,
    check_labels,
    log_probabilities,
    native_sums,
    to_probabilities,
    top_label,
)

__all__ = ["StreamingCalibration"]


class StreamingCalibration:
    """Accumulate calibration metrics over batches in bounded memory.

    Parameters
    ----------
    n_bins : int, default=15
        Equal-width confidence bins (edges ``linspace(0, 1, n_bins + 1)``, as the
        functional forms' ``strategy="uniform"``).
    from_logits : bool, default=False
        Whether ``update`` receives logits (exact log-softmax for the NLL) or probabilities
        (checked as in :func:`~assay.uncertainty.expected_calibration_error`; the NLL clips
        ``p_y`` at :data:`~assay.uncertainty.NLL_EPS`).

    Examples
    --------
    >>> acc = StreamingCalibration(n_bins=15)
    >>> for probs, labels in batches:          # doctest: +SKIP
    ...     acc.update(probs, labels)
    >>> acc.expected_calibration_error(), acc.negative_log_likelihood()  # doctest: +SKIP
    """

    def __init__(self, n_bins: int = 15, *, from_logits: bool = False) -> None:
        self.n_bins = _check_bins(n_bins, "StreamingCalibration")
        self.from_logits = bool(from_logits)
        self.edges: F64 = np.linspace(0.0, 1.0, self.n_bins + 1)
        self.num_classes: int | None = None
        self.n = 0
        self.nll_sum = 0.0
        self.brier_sum = 0.0
        self.correct = 0
        self.top: F64 = np.zeros((3, self.n_bins))  # count, confidence sum, correct sum
        self.per_class: F64 = np.zeros((0, 3, self.n_bins))  # per class: count, p_k sum, label sum

    def update(self, probs: ArrayLike, labels: ArrayLike) -> StreamingCalibration:
        """Add a batch: ``probs`` ``(n, K)`` (or ``(n,)`` binary), labels ``(n,)``. An empty
        batch (0 rows and 0 labels) is a no-op."""
        func = "StreamingCalibration.update"
        if np.ndim(probs) in (1, 2) and np.shape(probs)[0] == 0 and np.size(labels) == 0:
            return self
        if not self.from_logits:
            sums = native_sums(probs, labels, self.n_bins, classwise=True)
            if sums is not None and sums.per_class is not None:
                self._start(sums.n_classes, func)
                self.top += sums.top
                self.per_class += sums.per_class
                self.nll_sum += sums.nll_sum
                self.brier_sum += sums.brier_sum
                self.correct += sums.correct
                self.n += sums.n
                return self
        if self.from_logits:
            lp = log_probabilities(probs, from_logits=True, func=func)
            p = np.exp(lp)
        else:
            p = to_probabilities(probs, func=func)
            lp = None
        k = p.shape[1]
        self._start(k, func)
        y = check_labels(labels, p.shape[0], k, func=func)
        rows = np.arange(y.size)
        conf, pred = top_label(p)
        hit = pred == y
        self.top += np.stack(_bin_sums(conf, hit.astype(np.float64), self.edges))
        for c in range(k):
            self.per_class[c] += np.stack(_bin_sums(p[:, c], (y == c).astype(np.float64), self.edges))
        if lp is not None:
            self.nll_sum += float(-lp[rows, y].sum())
        else:
            self.nll_sum += float(-np.log(np.maximum(p[rows, y], NLL_EPS)).sum())
        self.brier_sum += float((np.einsum("ij,ij->i", p, p) - 2.0 * p[rows, y] + 1.0).sum())
        self.correct += int(hit.sum())
        self.n += int(y.size)
        return self

    def _start(self, k: int, func: str) -> None:
        if self.num_classes is None:
            self.num_classes = k
            self.per_class = np.zeros((k, 3, self.n_bins))
        elif k != self.num_classes:
            raise ValueError(
                f"The 'probs' parameter of {func} must have {self.num_classes} classes, as the "
                f"earlier batches; got {k}."
            )

    def merge(self, other: StreamingCalibration) -> StreamingCalibration:
        """Add another accumulator's rows (same ``n_bins``, ``from_logits`` and classes)."""
        if not isinstance(other, StreamingCalibration):
            raise TypeError(f"StreamingCalibration.merge takes a StreamingCalibration; got {type(other).__name__}.")
        if (other.n_bins, other.from_logits) != (self.n_bins, self.from_logits):
            raise ValueError(
                "StreamingCalibration.merge needs the same n_bins and from_logits; got "
                f"({self.n_bins}, {self.from_logits}) and ({other.n_bins}, {other.from_logits})."
            )
        if other.num_classes is None:
            return self
        if self.num_classes is None:
            self.num_classes = other.num_classes
            self.per_class = np.zeros_like(other.per_class)
        elif other.num_classes != self.num_classes:
            raise ValueError(
                f"StreamingCalibration.merge needs the same number of classes; got {self.num_classes} "
                f"and {other.num_classes}."
            )
        self.top += other.top
        self.per_class += other.per_class
        self.nll_sum += other.nll_sum
        self.brier_sum += other.brier_sum
        self.correct += other.correct
        self.n += other.n
        return self

    def _need_rows(self, what: str) -> None:
        if self.n == 0:
            raise ValueError(f"StreamingCalibration.{what} needs at least one row; call update first.")

    def expected_calibration_error(self, norm: Norm = "l1") -> float:
        """Top-label ECE over the rows seen (``norm``: ``"l1"``, ``"l2"`` or ``"max"``)."""
        _check_choice("norm", norm, ("l1", "l2", "max"), "StreamingCalibration.expected_calibration_error")
        self._need_rows("expected_calibration_error")
        return float(calibration_error_from_sums(self.top[0], self.top[1], self.top[2], norm))

    def maximum_calibration_error(self) -> float:
        return self.expected_calibration_error("max")

    def classwise_calibration_error(
        self, norm: Norm = "l1", reduction: Literal["mean", "none"] = "mean"
    ) -> float | F64:
        func = "StreamingCalibration.classwise_calibration_error"
        _check_choice("norm", norm, ("l1", "l2", "max"), func)
        _check_choice("reduction", reduction, ("mean", "none"), func)
        self._need_rows("classwise_calibration_error")
        pc = self.per_class
        out: F64 = calibration_error_from_sums(pc[:, 0], pc[:, 1], pc[:, 2], norm)
        return float(out.mean()) if reduction == "mean" else out

    def negative_log_likelihood(self) -> float:
        self._need_rows("negative_log_likelihood")
        return self.nll_sum / self.n

    def brier_score(self, normalization: Literal["sum", "mean"] = "sum") -> float:
        _check_choice("normalization", normalization, ("sum", "mean"), "StreamingCalibration.brier_score")
        self._need_rows("brier_score")
        b = self.brier_sum / self.n
        assert self.num_classes is not None
        return b / self.num_classes if normalization == "mean" else b

    def accuracy(self) -> float:
        self._need_rows("accuracy")
        return self.correct / self.n

    def reliability_diagram(self) -> ReliabilityDiagram:
        self._need_rows("reliability_diagram")
        c, s, k = self.top
        with np.errstate(divide="ignore", invalid="ignore"):
            return ReliabilityDiagram(self.edges.copy(), c.copy(), np.where(c > 0, s / c, np.nan),
                                      np.where(c > 0, k / c, np.nan))  # fmt: skip

    def compute(self) -> dict[str, Any]:
        """Every metric, by the functional forms' names."""
        return {
            "n": self.n,
            "expected_calibration_error": self.expected_calibration_error(),
            "expected_calibration_error_l2": self.expected_calibration_error("l2"),
            "maximum_calibration_error": self.maximum_calibration_error(),
            "classwise_calibration_error": self.classwise_calibration_error(),
            "negative_log_likelihood": self.negative_log_likelihood(),
            "brier_score": self.brier_score(),
            "brier_score_mean": self.brier_score("mean"),
            "accuracy": self.accuracy(),
        }
