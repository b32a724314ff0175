"""Regression metrics per slice (``task="regression"``): mean squared error, root mean
squared error, mean absolute error, R^2, mean label and mean prediction, with intervals,
as TFMA offers for regression models.

State per head and slice value: ``reg{h}`` ``(6,)``, the weighted sums
``[w, w*y, w*y^2, w*p, w*(y-p)^2, w*|y-p|]`` of the label ``y`` and the prediction ``p``.
R^2 = 1 - SSE / SST with SST = sum w y^2 - (sum w y)^2 / sum w, the weighted total sum of
squares about the slice's own mean label (scikit-learn's ``r2_score`` with
``sample_weight``); it is NaN when the slice's labels are all equal (SST = 0).
"""

from __future__ import annotations

import numpy as np

from ...core.catalogue import MetricInfo, PlotInfo
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
from .calibration import MEAN_LABEL

REGRESSION = register_task(
    Task(
        "regression", labels="numeric", scores="numeric", thresholds=False,
        description="numeric labels and numeric predictions",
    )
)  # fmt: skip

_G = "Regression"


@register_family
class Regression(MetricFamily):
    name = "regression"
    tasks = ("regression",)
    order = 20
    metrics = (
        MetricInfo(
            "mean_squared_error", "Mean squared error", "Weighted mean of (label - prediction)^2.",
            family="regression", group=_G, lower=0.0, better="lower", default=True,
        ),
        MetricInfo(
            "root_mean_squared_error", "Root mean squared error",
            "Square root of the mean squared error.", family="regression", group=_G,
            lower=0.0, better="lower",
        ),
        MetricInfo(
            "mean_absolute_error", "Mean absolute error",
            "Weighted mean of |label - prediction|.", family="regression", group=_G,
            lower=0.0, better="lower", default=True,
        ),
        MetricInfo(
            "r2", "R squared",
            "1 - SSE / SST: the share of the slice's label variance explained (about its own "
            "mean label); 1 is perfect, 0 is no better than the slice's mean.",
            family="regression", group=_G, upper=1.0, better="higher", default=True,
        ),
        MEAN_LABEL,
        MetricInfo(
            "mean_prediction", "Mean prediction", "Weighted mean of the prediction.",
            family="regression", group=_G, card=True,
        ),
    )  # fmt: skip
    plots = (
        PlotInfo(
            id="prediction_plot", title="Mean prediction against mean label per slice",
            help="Points on the diagonal are unbiased on average in their slice; above it "
            "the model over-predicts.",
            family="regression", x="mean_label", y="mean_prediction",
            x_label="mean label", y_label="mean prediction",
            table=("mean_label", "mean_prediction", "mean_squared_error", "r2"),
            diagonal="unbiased: prediction = label", default=True,
        ),
    )  # fmt: skip

    def layout(self) -> list[ArraySpec]:
        return [SliceArray(f"reg{h}", (6,)) for h in range(len(self.plan.heads))]

    def update(self, chunk: Chunk) -> None:
        w = chunk.w
        for h in range(len(chunk.s)):
            y = chunk.y[h]
            p = chunk.s[h]
            e = y - p
            wy = w * y
            parts = [w, wy, wy * y, w * p, w * e * e, w * np.abs(e)]
            for tc in chunk.tables:
                if not tc.size:
                    continue
                for i, v in enumerate(parts):
                    tc.add(f"reg{h}", i, tc.w if i == 0 else tc.sel(v))

    def finalize(self, view: StateView, si: int) -> list[Block]:
        out = []
        for h in range(len(self.plan.heads)):
            r = view.stack(si, f"reg{h}")  # (R+1, V, 6)
            sw, swy, swy2, swp, sse, sae = (r[..., i] for i in range(6))
            mse = M.safe_div(sse, sw)
            sst = swy2 - M.safe_div(swy * swy, sw)
            # SST is a difference of sums: treat a relative residue as zero variance.
            sst = np.where(sst <= 1e-12 * np.maximum(swy2, 1e-300), 0.0, sst)
            vals = {
                "mean_squared_error": mse,
                "root_mean_squared_error": np.sqrt(mse),
                "mean_absolute_error": M.safe_div(sae, sw),
                "r2": 1.0 - M.safe_div(sse, sst),
                "mean_label": M.safe_div(swy, sw),
                "mean_prediction": M.safe_div(swp, sw),
            }
            out.append(Block(h, si, vals))
        return out
