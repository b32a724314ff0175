"""Monte Carlo semivalues: Truncated Monte Carlo Shapley, Beta Shapley and Data Banzhaf.

A semivalue of training row ``i`` is ``sum_s p(s) * E[U(S + i) - U(S) | |S| = s]`` over the
subsets ``S`` of the other rows, for a distribution ``p`` over the cardinalities
``s = 0..n-1``:

- Shapley: ``p(s) = 1/n``;
- Beta(alpha, beta) Shapley (Kwon and Zou, AISTATS 2022): the beta-binomial
  ``p(s) = C(n-1, s) B(s + beta, n-1-s + alpha) / B(alpha, beta)``; ``(16, 1)`` puts the
  weight on small subsets, ``(1, 1)`` is Shapley;
- Banzhaf (Wang and Jia, AISTATS 2023): ``p(s) = C(n-1, s) / 2^(n-1)``.

Estimators:

- :class:`TMCShapley` (Ghorbani and Zou, ICML 2019) walks random permutations, adding rows
  one at a time; once the prefix's score is within ``truncation * |U(D)|`` of the full
  set's, the remaining marginal contributions are taken as 0 (``truncation=0`` is the plain
  unbiased permutation estimator).
- :class:`BetaShapley` walks random permutations too and weights the marginal contribution
  at prefix size ``s`` by ``n p(s)`` (the position of a row in a uniform permutation is
  uniform), which is unbiased for the Beta semivalue.
- :class:`DataBanzhaf` is the maximum-sample-reuse estimator: subsets with each row in with
  probability 1/2; a row's value is the mean score of the subsets holding it minus the mean
  of those without it, every utility evaluation used for every row.

Each has ``random_state``, ``n_samples`` (permutations or subsets) and ``time_budget``
(seconds; stops after the sample in progress, except that a permutation still in progress
when the budget runs out is dropped, checked every 64 utility evaluations, unless it is the
first; Data Banzhaf with a utility that scores many subsets at once, ``ModelUtility``'s exact
refit path, draws and scores them 128 at a time (fewer above 31,250 rows: about 4 million
subset x row cells) and checks the budget after each chunk;
the draws are those of one subset at a time), ``progress``, ``fast_refit`` (see
:class:`~assay.valuation.ModelUtility`), and reports ``std_error_``
(per row, from the samples' own variance), and ``convergence_``: the Gelman-Rubin
``R-hat`` over ``n_chains`` interleaved chains (max and mean over rows) and the relative
change of the values over the last tenth of the samples.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .._util.progress import Progress
from .._util.validation import check_int
from ._common import F64, ModelUtility, Utility, check_seed, check_train_val

__all__ = [
    "BetaShapley",
    "DataBanzhaf",
    "TMCShapley",
    "beta_shapley_weights",
    "gelman_rubin",
]


def beta_shapley_weights(n: int, alpha: float, beta: float) -> F64:
    """``p(s)``, ``s = 0..n-1``: the probability of each subset size under Beta(alpha, beta)
    Shapley (a beta-binomial over ``n - 1`` rows; sums to 1)."""
    if not (alpha > 0 and beta > 0):
        raise ValueError(
            f"The 'alpha' and 'beta' parameters of beta_shapley_weights must be positive. "
            f"Got alpha={alpha!r}, beta={beta!r}."
        )
    lg = math.lgamma
    lbeta_ab = lg(alpha) + lg(beta) - lg(alpha + beta)
    out = np.empty(n)
    for s in range(n):
        log_comb = lg(n) - lg(s + 1) - lg(n - s)
        log_b = lg(s + beta) + lg(n - 1 - s + alpha) - lg(n - 1 + alpha + beta)
        out[s] = math.exp(log_comb + log_b - lbeta_ab)
    return out


def gelman_rubin(chain_sum: F64, chain_sumsq: F64, chain_n: F64) -> F64:
    """Gelman-Rubin ``R-hat`` per row from per-chain sums of the per-sample terms.

    ``chain_sum``/``chain_sumsq``: ``(C, n)``; ``chain_n``: ``(C,)`` samples per chain
    (the same in every chain up to one). Rows with no within-chain spread get 1."""
    L = float(np.min(chain_n))
    if L < 2 or chain_sum.shape[0] < 2:
        return np.full(chain_sum.shape[1], np.nan)
    cn = chain_n[:, None]
    means = chain_sum / cn
    within = np.maximum((chain_sumsq - cn * means**2) / (cn - 1), 0.0).mean(axis=0)
    between = L * means.var(axis=0, ddof=1)
    var_hat = (L - 1) / L * within + between / L
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.sqrt(var_hat / within)
    out: F64 = np.where(within > 0, r, 1.0)
    return out


class _Semivalue:
    """Shared configuration and bookkeeping of the Monte Carlo estimators."""

    name = ""
    _func = ""

    def __init__(
        self,
        estimator: Any = None,
        *,
        n_samples: int = 100,
        time_budget: float | None = None,
        scoring: Callable[[Any, Any, Any], float] | None = None,
        n_chains: int = 4,
        progress: bool = False,
        random_state: int | None = None,
        fast_refit: bool = True,
    ) -> None:
        self.estimator = estimator
        self.fast_refit = fast_refit
        self.n_samples = n_samples
        self.time_budget = time_budget
        self.scoring = scoring
        self.n_chains = n_chains
        self.progress = progress
        self.random_state = random_state

    def fit(self, x_train: Any, y_train: Any, x_val: Any, y_val: Any) -> Any:
        """Values of the training rows for ``estimator`` scored on the validation rows."""
        if self.estimator is None:
            raise TypeError(
                f"The 'estimator' parameter of {self._func} must be a scikit-learn estimator "
                "to fit on training subsets. Got None instead (use fit_utility for a utility "
                "function)."
            )
        xt, yt, xv, yv = check_train_val(x_train, y_train, x_val, y_val, func=self._func)
        util = ModelUtility(
            self.estimator, xt, yt, xv, yv, scoring=self.scoring, cache=False,
            fast_refit=self.fast_refit, func=self._func,
        )  # fmt: skip
        return self.fit_utility(util, xt.shape[0])

    def fit_utility(self, utility: Utility, n: int) -> Any:
        """Values of ``n`` players under ``utility(indices) -> float``."""
        n = check_int("n", n, minimum=1, func=f"{self._func}.fit_utility")
        if not callable(utility):
            raise TypeError(
                f"The 'utility' parameter of {self._func}.fit_utility must be callable "
                f"(indices -> float). Got {type(utility).__name__} instead."
            )
        n_samples = check_int("n_samples", self.n_samples, minimum=2, func=self._func)
        chains = check_int("n_chains", self.n_chains, minimum=1, func=self._func)
        if self.time_budget is not None and not (
            isinstance(self.time_budget, int | float) and self.time_budget > 0
        ):
            raise ValueError(
                f"The 'time_budget' parameter of {self._func} must be a positive number of "
                f"seconds or None. Got {self.time_budget!r} instead."
            )
        rng = check_seed(self.random_state, func=self._func)
        t0 = time.perf_counter()
        self._run(utility, n, n_samples, chains, rng, t0)
        self.fit_time_ = time.perf_counter() - t0
        return self

    def _run(
        self, utility: Utility, n: int, n_samples: int, chains: int,
        rng: np.random.Generator, t0: float,
    ) -> None:  # fmt: skip
        raise NotImplementedError

    def _out_of_time(self, t0: float) -> bool:
        return self.time_budget is not None and time.perf_counter() - t0 >= self.time_budget

    def _finish(
        self, sums: F64, sumsq: F64, counts: F64, history: list[F64], values: F64,
        std_error: F64,
    ) -> None:  # fmt: skip
        self.values_ = values
        self.std_error_ = std_error
        self.n_samples_ = int(counts.sum())
        rhat = gelman_rubin(sums, sumsq, counts)
        finite = rhat[np.isfinite(rhat)]
        change = float("nan")
        if len(history) >= 2:
            a, b = history[-2], history[-1]
            change = float(np.abs(b - a).mean() / max(np.abs(b).mean(), 1e-300))
        self.convergence_ = {
            "n_samples": self.n_samples_,
            "n_chains": int(sums.shape[0]),
            "rhat_max": float(finite.max()) if finite.size else float("nan"),
            "rhat_mean": float(finite.mean()) if finite.size else float("nan"),
            "relative_change_last_tenth": change,
            "max_std_error": float(np.max(std_error)),
        }
        self.rhat_ = rhat


class _PermutationSemivalue(_Semivalue):
    """Permutation sampling with a weight per prefix size and optional truncation."""

    truncation: float = 0.0

    def _weights(self, n: int) -> F64:
        return np.ones(n)

    def _run(
        self, utility: Utility, n: int, n_samples: int, chains: int,
        rng: np.random.Generator, t0: float,
    ) -> None:  # fmt: skip
        trunc = float(self.truncation)
        if not 0.0 <= trunc < 1.0:
            raise ValueError(
                f"The 'truncation' parameter of {self._func} must be in [0, 1). "
                f"Got {self.truncation!r} instead."
            )
        w = self._weights(n)
        empty = float(utility(np.empty(0, dtype=np.int64)))
        full = float(utility(np.arange(n, dtype=np.int64))) if trunc > 0 else float("nan")
        sums = np.zeros((chains, n))
        sumsq = np.zeros((chains, n))
        counts = np.zeros(chains)
        history: list[F64] = []
        every = max(1, n_samples // 10)
        evals = 0
        with Progress(n_samples, desc=self.name, unit="permutations", enabled=self.progress) as bar:
            for t in range(n_samples):
                perm = rng.permutation(n)
                marg = np.zeros(n)
                prev = empty
                discarded = False
                for j in range(n):
                    if trunc > 0 and abs(full - prev) <= trunc * abs(full):
                        break
                    if t > 0 and j % 64 == 63 and self._out_of_time(t0):
                        discarded = True  # out of time inside a permutation: drop it
                        break
                    cur = float(utility(perm[: j + 1]))
                    evals += 1
                    marg[perm[j]] = (cur - prev) * w[j]
                    prev = cur
                if discarded:
                    break
                c = t % chains
                sums[c] += marg
                sumsq[c] += marg * marg
                counts[c] += 1
                bar.update()
                if (t + 1) % every == 0:
                    history.append(sums.sum(axis=0) / counts.sum())
                if self._out_of_time(t0):
                    break
        total = counts.sum()
        mean = sums.sum(axis=0) / total
        if not history or not np.array_equal(history[-1], mean):
            history.append(mean)
        var = np.maximum(sumsq.sum(axis=0) / total - mean**2, 0.0) * total / max(total - 1, 1)
        self.n_utility_evaluations_ = evals + 1 + int(trunc > 0)
        self._finish(sums, sumsq, counts, history, mean, np.sqrt(var / total))


class TMCShapley(_PermutationSemivalue):
    """Truncated Monte Carlo Shapley (Ghorbani and Zou, 2019).

    ``n_samples`` permutations (or fewer within ``time_budget`` seconds); ``truncation``:
    stop a permutation once ``|U(D) - U(prefix)| <= truncation * |U(D)|`` (0 = none, the
    unbiased permutation estimator). Fitted: ``values_``, ``std_error_``, ``rhat_``,
    ``convergence_``, ``n_samples_``, ``n_utility_evaluations_``, ``fit_time_``.
    """

    name = "TMC-Shapley"
    _func = "TMCShapley"

    def __init__(
        self,
        estimator: Any = None,
        *,
        n_samples: int = 100,
        truncation: float = 0.01,
        time_budget: float | None = None,
        scoring: Callable[[Any, Any, Any], float] | None = None,
        n_chains: int = 4,
        progress: bool = False,
        random_state: int | None = None,
        fast_refit: bool = True,
    ) -> None:
        super().__init__(
            estimator, n_samples=n_samples, time_budget=time_budget, scoring=scoring,
            n_chains=n_chains, progress=progress, random_state=random_state,
            fast_refit=fast_refit,
        )  # fmt: skip
        self.truncation = truncation


class BetaShapley(_PermutationSemivalue):
    """Beta(alpha, beta) Shapley (Kwon and Zou, 2022) by weighted permutation sampling.

    The marginal contribution at prefix size ``s`` is weighted by ``n p(s)``
    (:func:`beta_shapley_weights`); ``(alpha, beta) = (16, 1)`` emphasises small subsets.
    ``truncation`` as in :class:`TMCShapley` (default 0: unbiased).
    """

    name = "Beta-Shapley"
    _func = "BetaShapley"

    def __init__(
        self,
        estimator: Any = None,
        *,
        alpha: float = 16.0,
        beta: float = 1.0,
        n_samples: int = 100,
        truncation: float = 0.0,
        time_budget: float | None = None,
        scoring: Callable[[Any, Any, Any], float] | None = None,
        n_chains: int = 4,
        progress: bool = False,
        random_state: int | None = None,
        fast_refit: bool = True,
    ) -> None:
        super().__init__(
            estimator, n_samples=n_samples, time_budget=time_budget, scoring=scoring,
            n_chains=n_chains, progress=progress, random_state=random_state,
            fast_refit=fast_refit,
        )  # fmt: skip
        self.alpha = alpha
        self.beta = beta
        self.truncation = truncation

    def _weights(self, n: int) -> F64:
        out: F64 = n * beta_shapley_weights(n, self.alpha, self.beta)
        return out


class DataBanzhaf(_Semivalue):
    """Data Banzhaf by maximum sample reuse (Wang and Jia, 2023).

    ``n_samples`` subsets, each row in with probability 1/2; ``values_[i]`` = mean utility of
    the subsets holding ``i`` minus the mean of those without it. ``std_error_`` from the two
    groups' variances; ``rhat_`` over chains of the per-subset terms ``2 u (2 z_i - 1)``
    (whose mean is the Banzhaf value).
    """

    name = "Data-Banzhaf"
    _func = "DataBanzhaf"

    def _run(
        self, utility: Utility, n: int, n_samples: int, chains: int,
        rng: np.random.Generator, t0: float,
    ) -> None:  # fmt: skip
        s_in, s_out = np.zeros(n), np.zeros(n)
        q_in, q_out = np.zeros(n), np.zeros(n)
        c_in, c_out = np.zeros(n), np.zeros(n)
        sums, sumsq, counts = np.zeros((chains, n)), np.zeros((chains, n)), np.zeros(chains)
        history: list[F64] = []
        every = max(1, n_samples // 10)
        # a utility that scores many subsets at once (ModelUtility's exact logistic refit)
        # gets them in chunks; the draws are the same as one subset at a time
        many = getattr(utility, "scores", None)
        chunk = max(1, min(128, 4_000_000 // n)) if many is not None else 1  # ~4e6 cells
        t = 0
        with Progress(n_samples, desc=self.name, unit="subsets", enabled=self.progress) as bar:
            while t < n_samples:
                b = min(chunk, n_samples - t)
                zs = rng.random((b, n)) < 0.5
                if many is not None:
                    us = np.asarray(many(zs), dtype=np.float64)
                else:
                    us = np.asarray([float(utility(np.flatnonzero(zs[0]).astype(np.int64)))])
                for z, u in zip(zs, us.tolist(), strict=True):
                    zf = z.astype(np.float64)
                    s_in += u * zf
                    q_in += u * u * zf
                    c_in += zf
                    s_out += u * (1.0 - zf)
                    q_out += u * u * (1.0 - zf)
                    c_out += 1.0 - zf
                    term = 2.0 * u * (2.0 * zf - 1.0)
                    c = t % chains
                    sums[c] += term
                    sumsq[c] += term * term
                    counts[c] += 1
                    bar.update()
                    t += 1
                    if t % every == 0:
                        history.append(self._estimate(s_in, c_in, s_out, c_out))
                if self._out_of_time(t0):
                    break
        values = self._estimate(s_in, c_in, s_out, c_out)
        if not history or not np.array_equal(history[-1], values):
            history.append(values)
        with np.errstate(divide="ignore", invalid="ignore"):
            m_in, m_out = s_in / c_in, s_out / c_out
            v_in = np.maximum(q_in / c_in - m_in**2, 0) * c_in / np.maximum(c_in - 1, 1)
            v_out = np.maximum(q_out / c_out - m_out**2, 0) * c_out / np.maximum(c_out - 1, 1)
            se = np.sqrt(v_in / c_in + v_out / c_out)
        se = np.where(np.isfinite(se), se, np.inf)
        self.n_utility_evaluations_ = int(counts.sum())
        self._finish(sums, sumsq, counts, history, values, se)

    @staticmethod
    def _estimate(s_in: F64, c_in: F64, s_out: F64, c_out: F64) -> F64:
        with np.errstate(divide="ignore", invalid="ignore"):
            v = s_in / c_in - s_out / c_out
        out: F64 = np.where(np.isfinite(v), v, 0.0)
        return out

