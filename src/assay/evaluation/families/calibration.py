"""Calibration per slice: mean score, mean label, their ratio and the expected
calibration error (ECE) over equal-width score bins.

State per head and slice value: ``cal{h}`` ``(3, NC)``: per calibration bin the weight,
the weighted score sum and the weighted label sum.
"""

from __future__ import annotations

import numpy as np

from ...core.catalogue import MetricInfo, PlotInfo
from ...core.family import ArraySpec, Block, MetricFamily, SliceArray, register_family
from ...core.state import Chunk, StateView
from .. import metrics as M

_G = "Calibration"

#: Shared with the regression family (one catalogue entry per name).
MEAN_LABEL = MetricInfo(
    "mean_label", "Mean label",
    "Weighted mean of the label: the share of positive labels (base rate) for binary labels.",
    family="calibration", group=_G, task_ranges=(("classification", 0.0, 1.0),), card=True,
    task_groups=(("regression", "Regression"),),
)  # fmt: skip


@register_family
class Calibration(MetricFamily):
    name = "calibration"
    tasks = ("classification",)
    order = 20
    metrics = (
        MetricInfo(
            "weighted_example_count", "Weighted example count", "Sum of the example weights.",
            family="calibration", group="Counts", lower=0.0, gap="none",
        ),
        MetricInfo(
            "mean_score", "Mean score", "Average predicted score.", family="calibration",
            group=_G, lower=0.0, upper=1.0, card=True,
        ),
        MEAN_LABEL,
        MetricInfo(
            "calibration", "Calibration", "Mean score / mean label; 1 is calibrated on average.",
            family="calibration", group=_G, lower=0.0, better="target", target=1.0, gap="ratio",
            card=True,
        ),
        MetricInfo(
            "ece", "Expected calibration error",
            "Weighted mean |score - label rate| over score bins.", family="calibration",
            group=_G, lower=0.0, upper=1.0, better="lower",
        ),
    )  # fmt: skip
    plots = (
        PlotInfo(
            id="calibration_plot", title="Calibration per slice",
            help="Mean score against mean label (the observed positive rate) per slice. "
            "Points on the diagonal are calibrated on average; above it the model over-predicts.",
            family="calibration", x="mean_label", y="mean_score",
            x_label="mean label (observed positive rate)", y_label="mean score",
            table=("mean_label", "mean_score", "calibration", "ece"),
            diagonal="calibrated: score = label", default=True,
        ),
    )  # fmt: skip

    def layout(self) -> list[ArraySpec]:
        nc = self.plan.calibration_bins
        return [SliceArray(f"cal{h}", (3, nc)) for h in range(len(self.plan.heads))]

    def update(self, chunk: Chunk) -> None:
        nc = self.plan.calibration_bins
        cbins = [np.minimum((sh * nc).astype(np.int64), nc - 1) for sh in chunk.s]
        ws = [chunk.w * sh for sh in chunk.s]
        wy = [chunk.w * yh for yh in chunk.y]
        for tc in chunk.tables:
            if not tc.size:
                continue
            for h in range(len(chunk.s)):
                cb = tc.sel(cbins[h])
                name = f"cal{h}"
                tc.add(name, cb, tc.w)
                tc.add(name, cb + nc, tc.sel(ws[h]))
                tc.add(name, cb + 2 * nc, tc.sel(wy[h]))

    def finalize(self, view: StateView, si: int) -> list[Block]:
        out = []
        for h in range(len(self.plan.heads)):
            cal = view.stack(si, f"cal{h}")  # (R+1, V, 3, NC)
            wsum, ssum, ysum = cal[:, :, 0, :], cal[:, :, 1, :], cal[:, :, 2, :]
            wt = wsum.sum(axis=-1)
            vals = {
                "weighted_example_count": wt,
                "mean_score": M.safe_div(ssum.sum(axis=-1), wt),
                "mean_label": M.safe_div(ysum.sum(axis=-1), wt),
                "calibration": M.safe_div(ssum.sum(axis=-1), ysum.sum(axis=-1)),
                "ece": M.expected_calibration_error(wsum, ssum, ysum),
            }
            out.append(Block(h, si, vals))
        return out
