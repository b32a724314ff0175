"""Confusion counts and the Fairness Indicators rates at every decision threshold.

State per head and slice value: ``thr{h}`` ``(2, K+1)``, the weight of each label whose
score falls in each of the K+1 intervals cut by the sorted thresholds. The counts at every
threshold follow exactly (no binning error): a row is predicted positive at ``t`` when
``score > t``.
"""

from __future__ import annotations

import numpy as np

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
from .. import metrics as M

CLASSIFICATION = register_task(
    Task(
        "classification", labels="binary", scores="probability", thresholds=True,
        description="binary labels (or classes, one-vs-rest) and probability scores",
    )
)  # fmt: skip

_G = "At the threshold"


def _rate(
    name: str,
    label: str,
    definition: str,
    better: str | None,
    default: bool = False,
    card: bool = False,
    *,
    of: tuple[tuple[str, ...], str] = ((), ""),
) -> MetricInfo:
    return MetricInfo(
        name, label, definition, family="confusion", group=_G, per_threshold=True,
        lower=0.0, upper=1.0, better=better, default=default, card=card,  # type: ignore[arg-type]
        denominator=of[0], denominator_label=of[1],
    )  # fmt: skip


#: Denominators of the rates (count metrics summed), for binomial intervals and withholding.
_NEG = (("fp", "tn"), "negatives")
_POS = (("tp", "fn"), "positives")
_ALL = (("tp", "fp", "tn", "fn"), "rows")
_FLAGGED = (("tp", "fp"), "rows flagged positive")
_UNFLAGGED = (("tn", "fn"), "rows not flagged")


def _count(name: str, label: str, definition: str) -> MetricInfo:
    return MetricInfo(
        name, label, definition, family="confusion", group=_G, per_threshold=True,
        lower=0.0, gap="none",
    )  # fmt: skip


@register_family
class Confusion(MetricFamily):
    name = "confusion"
    tasks = ("classification",)
    order = 10
    metrics = (
        _count("tp", "True positives", "Positives scored above the threshold."),
        _count("fp", "False positives", "Negatives scored above the threshold."),
        _count("tn", "True negatives", "Negatives scored at or below the threshold."),
        _count("fn", "False negatives", "Positives scored at or below the threshold."),
        _rate("fpr", "False positive rate",
              "FP / (FP + TN): share of negatives flagged positive.", "lower", True, of=_NEG),
        _rate("fnr", "False negative rate", "FN / (FN + TP): share of positives missed.",
              "lower", True, of=_POS),
        _rate("tpr", "True positive rate", "TP / (TP + FN), also called recall.", "higher", of=_POS),
        _rate("tnr", "True negative rate", "TN / (TN + FP), also called specificity.", "higher",
              of=_NEG),
        _rate("positive_rate", "Positive rate", "Share of rows scored above the threshold.",
              None, True, of=_ALL),
        _rate("negative_rate", "Negative rate",
              "Share of rows scored at or below the threshold.", None, of=_ALL),
        _rate("fdr", "False discovery rate",
              "FP / (TP + FP): share of flagged rows that are negative.", "lower", of=_FLAGGED),
        _rate("false_omission_rate", "False omission rate",
              "FN / (FN + TN): share of rows not flagged that are positive.", "lower",
              of=_UNFLAGGED),
        _rate("precision", "Precision", "TP / (TP + FP).", "higher", card=True, of=_FLAGGED),
        _rate("recall", "Recall", "TP / (TP + FN).", "higher", of=_POS),
        _rate("accuracy", "Accuracy", "(TP + TN) / all rows.", "higher", card=True, of=_ALL),
    )  # fmt: skip

    def layout(self) -> list[ArraySpec]:
        k1 = len(self.plan.thresholds) + 1
        return [SliceArray(f"thr{h}", (2, k1)) for h in range(len(self.plan.heads))]

    def update(self, chunk: Chunk) -> None:
        thresholds = np.asarray(self.plan.thresholds, dtype=np.float64)
        k1 = thresholds.size + 1
        tbins = [np.searchsorted(thresholds, sh, side="left") for sh in chunk.s]
        chunk.cache["tbins"] = tbins
        for tc in chunk.tables:
            if not tc.size:
                continue
            for h, tb in enumerate(tbins):
                yk = tc.sel(chunk.y[h]).astype(np.int64)
                tc.add(f"thr{h}", yk * k1 + tc.sel(tb), tc.w)

    def finalize(self, view: StateView, si: int) -> list[Block]:
        out = []
        for h in range(len(self.plan.heads)):
            thr = view.stack(si, f"thr{h}")  # (R+1, V, 2, K+1)
            conf = M.confusion_at_thresholds(thr[:, :, 1, :], thr[:, :, 0, :])
            vals = M.threshold_metrics(conf["tp"], conf["fp"], conf["tn"], conf["fn"])
            out.append(Block(h, si, vals))
        return out
