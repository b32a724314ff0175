"""Leave-one-out values: the validation score lost when one training row is removed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .._util.progress import Progress
from ._common import F64, ModelUtility, check_train_val

__all__ = ["LeaveOneOut", "leave_one_out"]

_FUNC = "leave_one_out"


def leave_one_out(
    estimator: Any,
    x_train: Any,
    y_train: Any,
    x_val: Any,
    y_val: Any,
    *,
    scoring: Callable[[Any, Any, Any], float] | None = None,
    progress: bool = False,
    fast_refit: bool = True,
) -> F64:
    """``U(D) - U(D without i)`` for every training row ``i``.

    ``U(S)``: ``scoring(model, x_val, y_val)`` (default ``model.score``, the accuracy of a
    classifier) of ``sklearn.base.clone(estimator)`` fitted on the rows ``S``: ``N + 1`` fits.
    ``fast_refit``: the exact NumPy refit for a binary L2 ``LogisticRegression`` (each fit
    warm-started from the previous one, see :class:`~assay.valuation.ModelUtility`).
    """
    xt, yt, xv, yv = check_train_val(x_train, y_train, x_val, y_val, func=_FUNC)
    util = ModelUtility(estimator, xt, yt, xv, yv, scoring=scoring, cache=False,
                        fast_refit=fast_refit, func=_FUNC)  # fmt: skip
    n = xt.shape[0]
    everything = np.arange(n, dtype=np.int64)
    full = util(everything)
    out = np.empty(n, dtype=np.float64)
    with Progress(n, desc="leave-one-out", unit="fits", enabled=progress) as bar:
        for i in range(n):
            out[i] = full - util(np.delete(everything, i))
            bar.update()
    return out


class LeaveOneOut:
    """Leave-one-out values as an estimator (``values_``, ``full_score_``, ``fit_time_``)."""

    name = "Leave-one-out"

    def __init__(
        self,
        estimator: Any,
        *,
        scoring: Callable[[Any, Any, Any], float] | None = None,
        progress: bool = False,
        random_state: int | None = None,
        fast_refit: bool = True,
    ) -> None:
        self.estimator = estimator
        self.fast_refit = fast_refit
        self.scoring = scoring
        self.progress = progress
        self.random_state = random_state

    def fit(self, x_train: Any, y_train: Any, x_val: Any, y_val: Any) -> LeaveOneOut:
        t0 = time.perf_counter()
        self.values_ = leave_one_out(
            self.estimator, x_train, y_train, x_val, y_val, scoring=self.scoring,
            progress=self.progress, fast_refit=self.fast_refit,
        )  # fmt: skip
        self.fit_time_ = time.perf_counter() - t0
        return self
