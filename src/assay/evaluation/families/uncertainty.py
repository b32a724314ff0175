"""Calibration and uncertainty of (multi-class) probabilistic classifiers per slice
(``task="uncertainty"``): top-label accuracy, expected and maximum calibration error,
classwise calibration error, negative log-likelihood and the Brier score (summed and
averaged over the classes), with intervals.

Inputs: ``classes=[...]`` with one probability column per class (or one list-valued
column) per model; without ``classes`` one probability of class 1 per model (binary: the
probabilities ``[1 - p, p]``). ``score_type="logit"`` takes logits (the reader applies the
softmax, or the sigmoid for one column). Rows must sum to 1 within
:data:`assay.uncertainty.metrics.PROB_ATOL`. Bins: ``calibration_bins`` equal-width bins
(the argument of :func:`assay.evaluate`, default 10 there; the functional forms default to
15), closed on the left, the last bin closed on both sides: the conventions of
:mod:`assay.uncertainty.metrics`, whose formulas this family uses.

Model-level metrics (all but ``class_calibration_error``) are reported on the model's first
head (for multi-class models: the row of the first class); the calibration error of each
class ``k`` (``p_k`` against ``1[y = k]``) on the head of that class (for a binary model: of
class 1, on its one head).

State per model ``m`` and slice value, all merged by addition: ``unct{m}`` ``(3, B)``: per
top-label confidence bin the weight, the weighted confidence sum and the weighted correct
sum; ``uncs{m}`` ``(4,)``: the weight and the weighted sums of the NLL, the (summed) Brier
score and correctness; ``uncc{m}`` ``(K, 3, B)``: per class ``k`` (K = 2 for a binary
model) and bin of ``p_k`` the weight, the weighted ``p_k`` and the weighted ``1[y = k]``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

from ...core.catalogue import MetricInfo
from ...core.family import (
    ArraySpec,
    Block,
    MetricFamily,
    SliceArray,
    Task,
    register_family,
    register_task,
)
from ...core.state import Chunk, StateView
from ...uncertainty.metrics import NLL_EPS, PROB_ATOL, bin_index, calibration_error_from_sums

F64 = NDArray[np.float64]

UNCERTAINTY = register_task(
    Task(
        "uncertainty", labels="binary", scores="probability", thresholds=False,
        description="class labels (with 'classes') or binary labels; class probabilities "
        "(or logits with score_type='logit'); calibration and proper scores",
    )
)  # fmt: skip

_G = "Calibration and uncertainty"

#: Metric ids of the family, in display order.
UNCERTAINTY_METRICS: tuple[str, ...] = (
    "top_label_accuracy", "top_label_ece", "top_label_ece_l2", "top_label_mce",
    "classwise_ece", "nll", "brier_score", "brier_score_mean", "class_calibration_error",
)  # fmt: skip


def _info(
    name: str,
    label: str,
    definition: str,
    better: Literal["higher", "lower"] = "lower",
    *,
    upper: float = 1.0,
    default: bool = False,
) -> MetricInfo:
    return MetricInfo(
        name, label, definition, family="uncertainty", group=_G, lower=0.0, upper=upper,
        better=better, default=default, card=default,
    )  # fmt: skip


def model_heads(head_cols: list[tuple[str, list[str], int | None]]) -> list[list[int]]:
    """Head indices of each model, in model order (one head per class, or one)."""
    groups: dict[str, list[int]] = {}
    for h, (model, _cols, _ci) in enumerate(head_cols):
        groups.setdefault(model, []).append(h)
    return list(groups.values())


@register_family
class Uncertainty(MetricFamily):
    name = "uncertainty"
    tasks = ("uncertainty",)
    order = 25
    metrics = (
        _info("top_label_accuracy", "Accuracy (arg-max)",
              "Weighted share of rows whose most probable class is the label.", "higher",
              default=True),
        _info("top_label_ece", "Top-label ECE",
              "Expected calibration error of the top-label confidence: sum over equal-width "
              "bins of (bin weight share) x |accuracy - mean confidence|.", default=True),
        _info("top_label_ece_l2", "Top-label ECE (L2)",
              "Root of the weight-share-weighted mean of (accuracy - mean confidence)^2 over "
              "the top-label confidence bins."),
        _info("top_label_mce", "Top-label MCE",
              "Maximum calibration error: the largest |accuracy - mean confidence| over the "
              "non-empty top-label confidence bins."),
        _info("classwise_ece", "Classwise ECE",
              "Mean over the classes of the calibration error of p_k against 1[label = k] "
              "over equal-width bins of p_k."),
        _info("nll", "Negative log-likelihood",
              "Weighted mean of -log p(label) (natural log; p clipped below at 2.2e-16).",
              upper=np.inf, default=True),
        _info("brier_score", "Brier score",
              "Weighted mean over rows of the sum over classes of (p_k - 1[label = k])^2 "
              "(the usual definition, in [0, 2]).", upper=2.0, default=True),
        _info("brier_score_mean", "Brier score (mean over classes)",
              "The Brier score divided by the number of classes (Uncertainty Baselines' "
              "MNIST normalization; for binary models mean (p - y)^2)."),
        _info("class_calibration_error", "Class calibration error",
              "Calibration error of this class's probability p_k against 1[label = k] over "
              "equal-width bins of p_k (L1)."),
    )  # fmt: skip

    def _n_classes(self) -> int:
        return 2 if self.plan.classes is None else len(self.plan.classes)

    def layout(self) -> list[ArraySpec]:
        nb = self.plan.calibration_bins
        out: list[ArraySpec] = []
        for m in range(len(self.plan.models)):
            out += [
                SliceArray(f"unct{m}", (3, nb)),
                SliceArray(f"uncs{m}", (4,)),
                SliceArray(f"uncc{m}", (self._n_classes(), 3, nb)),
            ]
        return out

    def _matrices(self, chunk: Chunk, heads: list[int], model: str) -> tuple[F64, F64]:
        """``(n, K)`` probabilities and one-hot labels of one model."""
        if self.plan.classes is None:
            p1 = chunk.s[heads[0]]
            y1 = chunk.y[heads[0]].astype(np.float64)
            return np.column_stack([1.0 - p1, p1]), np.column_stack([1.0 - y1, y1])
        p = np.column_stack([chunk.s[h] for h in heads])
        y = np.column_stack([chunk.y[h] for h in heads]).astype(np.float64)
        s = p.sum(axis=1)
        off = np.abs(s - 1.0) > PROB_ATOL
        if off.any():
            i = int(np.flatnonzero(off)[0])
            raise ValueError(
                f"task='uncertainty' needs class probabilities whose rows sum to 1 (within "
                f"{PROB_ATOL:g}); {int(off.sum())} row(s) of model {model!r} in this chunk do "
                f"not (one sums to {s[i]:.6g}). Pass score_type='logit' for logits."
            )
        return p, y

    def update(self, chunk: Chunk) -> None:
        nb = self.plan.calibration_bins
        edges = np.linspace(0.0, 1.0, nb + 1)
        w = chunk.w
        models = list(self.plan.models)
        for m, heads in enumerate(model_heads(self.plan.head_cols)):
            p, y = self._matrices(chunk, heads, models[m])
            n = p.shape[0]
            pred = np.argmax(p, axis=1)
            conf = p[np.arange(n), pred]
            correct = y[np.arange(n), pred]
            nll = -np.log(np.maximum((p * y).sum(axis=1), NLL_EPS))
            brier = ((p - y) ** 2).sum(axis=1)
            tb = bin_index(conf, edges)
            parts = (w * nll, w * brier, w * correct)
            wc, wk = w * conf, w * correct
            cls_bins = [(bin_index(p[:, k], edges) + k * 3 * nb, w * p[:, k], w * y[:, k])
                        for k in range(p.shape[1])]  # fmt: skip
            for tc in chunk.tables:
                if not tc.size:
                    continue
                b = tc.sel(tb)
                tc.add(f"unct{m}", b, tc.w)
                tc.add(f"unct{m}", b + nb, tc.sel(wc))
                tc.add(f"unct{m}", b + 2 * nb, tc.sel(wk))
                tc.add(f"uncs{m}", 0, tc.w)
                for i, v in enumerate(parts, start=1):
                    tc.add(f"uncs{m}", i, tc.sel(v))
                for cb, wp, wy in cls_bins:
                    cbs = tc.sel(cb)
                    tc.add(f"uncc{m}", cbs, tc.w)
                    tc.add(f"uncc{m}", cbs + nb, tc.sel(wp))
                    tc.add(f"uncc{m}", cbs + 2 * nb, tc.sel(wy))

    def finalize(self, view: StateView, si: int) -> list[Block]:
        out = []
        for m, heads in enumerate(model_heads(self.plan.head_cols)):
            t = view.stack(si, f"unct{m}")  # (R+1, V, 3, B)
            s = view.stack(si, f"uncs{m}")  # (R+1, V, 4)
            c = view.stack(si, f"uncc{m}")  # (R+1, V, K, 3, B)
            cnt, csum, ksum = t[:, :, 0, :], t[:, :, 1, :], t[:, :, 2, :]
            sw = s[..., 0]
            with np.errstate(divide="ignore", invalid="ignore"):
                mean = {i: np.where(sw > 0, s[..., i] / np.where(sw > 0, sw, 1.0), np.nan)
                        for i in (1, 2, 3)}  # fmt: skip
            per_class = calibration_error_from_sums(c[..., 0, :], c[..., 1, :], c[..., 2, :])
            n_classes = per_class.shape[-1]
            vals = {
                "top_label_accuracy": mean[3],
                "top_label_ece": calibration_error_from_sums(cnt, csum, ksum, "l1"),
                "top_label_ece_l2": calibration_error_from_sums(cnt, csum, ksum, "l2"),
                "top_label_mce": calibration_error_from_sums(cnt, csum, ksum, "max"),
                "classwise_ece": per_class.mean(axis=-1),
                "nll": mean[1],
                "brier_score": mean[2],
                "brier_score_mean": mean[2] / n_classes,
            }
            if self.plan.classes is None:  # binary: the one head is class 1
                out.append(Block(heads[0], si, {**vals, "class_calibration_error": per_class[..., 1]}))
                continue
            out.append(Block(heads[0], si, {**vals, "class_calibration_error": per_class[..., 0]}))
            for k, h in enumerate(heads[1:], start=1):
                out.append(Block(h, si, {"class_calibration_error": per_class[..., k]}))
        return out
