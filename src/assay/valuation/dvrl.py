"""DVRL: data valuation using reinforcement learning (Yoon, Arik and Pfister, ICML 2020).

A value estimator ``h`` (an MLP over a row's features, its one-hot label and the marginal
signal ``|y - p_val(x)|``, where ``p_val`` is the predictor trained on the clean validation
set) outputs a selection probability per training row. Each outer iteration samples a batch,
draws a selection vector ``s ~ Bernoulli(h(batch))``, retrains the predictor on the selected
rows, and takes as reward its validation performance minus a moving-average baseline. The
estimator follows REINFORCE on::

    -reward * sum_i [s_i log(h_i + eps) + (1 - s_i) log(1 - h_i + eps)]
      + penalty * (max(mean(h) - threshold, 0) + max(1 - threshold - mean(h), 0))

(the regulariser keeps the mean selection probability in ``[1 - threshold, threshold]``).
The values are the estimator's outputs on all training rows. Needs ``assay[torch]``; the
predictor is any scikit-learn classifier (or :class:`TorchClassifier` around a PyTorch
module).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .._util.optional import require
from .._util.progress import Progress
from .._util.validation import check_choice, check_int
from ._common import F64, check_seed, check_train_val, clone_estimator, encode_labels
from ._linear import LogisticRefit, check_fast_refit, recognise

torch = require("torch", "torch", purpose="DVRL")
nn = torch.nn

__all__ = ["DVRL", "TorchClassifier", "ValueEstimator"]

_FUNC = "DVRL"


class ValueEstimator(nn.Module):  # type: ignore[name-defined]
    """DVRL's value estimator: ``layers - 2`` ReLU layers of ``hidden`` units over
    ``[x, onehot(y)]``, one of ``comb`` units, then ``[that, marginal signal]`` through a
    ``comb``-unit ReLU layer and a sigmoid output (the paper's architecture)."""

    def __init__(self, n_in: int, n_signal: int, hidden: int = 100, comb: int = 10,
                 layers: int = 5) -> None:  # fmt: skip
        super().__init__()
        blocks: list[Any] = [nn.Linear(n_in, hidden), nn.ReLU()]
        for _ in range(max(layers - 3, 0)):
            blocks += [nn.Linear(hidden, hidden), nn.ReLU()]
        blocks += [nn.Linear(hidden, comb), nn.ReLU()]
        self.body = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Linear(comb + n_signal, comb), nn.ReLU(), nn.Linear(comb, 1))

    def forward(self, xy: Any, signal: Any) -> Any:
        z = torch.cat([self.body(xy), signal], dim=1)
        return torch.sigmoid(self.head(z)).squeeze(1)


class TorchClassifier:
    """A scikit-learn-style classifier around a PyTorch module (logits out), for DVRL's
    predictor: ``module_factory(n_features, n_classes) -> nn.Module``, trained with Adam on
    the cross-entropy (``sample_weight`` weights the rows) for ``epochs`` epochs."""

    def __init__(
        self,
        module_factory: Callable[[int, int], Any],
        *,
        epochs: int = 20,
        lr: float = 1e-2,
        batch_size: int = 256,
        random_state: int = 0,
    ) -> None:
        self.module_factory = module_factory
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.random_state = random_state

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"module_factory": self.module_factory, "epochs": self.epochs, "lr": self.lr,
                "batch_size": self.batch_size, "random_state": self.random_state}

    def set_params(self, **params: Any) -> TorchClassifier:
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def fit(self, x: Any, y: Any, sample_weight: Any = None) -> TorchClassifier:
        x = np.asarray(x, dtype=np.float32)
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        gen = torch.Generator().manual_seed(int(self.random_state))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(self.random_state))
            self.module_ = self.module_factory(x.shape[1], len(self.classes_))
        opt = torch.optim.Adam(self.module_.parameters(), lr=self.lr)
        xt, yt = torch.from_numpy(x), torch.from_numpy(codes.astype(np.int64))
        w = torch.ones(len(x)) if sample_weight is None else torch.as_tensor(
            np.asarray(sample_weight, dtype=np.float32))
        self.module_.train()
        for _ in range(int(self.epochs)):
            perm = torch.randperm(len(x), generator=gen)
            for a in range(0, len(x), int(self.batch_size)):
                b = perm[a : a + int(self.batch_size)]
                loss = nn.functional.cross_entropy(self.module_(xt[b]), yt[b], reduction="none")
                loss = (loss * w[b]).sum() / torch.clamp(w[b].sum(), min=1e-12)
                opt.zero_grad()
                loss.backward()
                opt.step()
        self.module_.eval()
        return self

    def predict_proba(self, x: Any) -> F64:
        with torch.no_grad():
            logits = self.module_(torch.as_tensor(np.asarray(x, dtype=np.float32)))
            out: F64 = torch.softmax(logits, dim=1).double().numpy()
        return out

    def predict(self, x: Any) -> Any:
        return self.classes_[np.argmax(self.predict_proba(x), axis=1)]

    def score(self, x: Any, y: Any) -> float:
        return float(np.mean(self.predict(x) == np.asarray(y)))


def _proba(model: Any, x: F64, classes: Any) -> F64:
    """Class probabilities of ``model`` on ``x`` in the column order of ``classes``."""
    out = np.zeros((x.shape[0], len(classes)))
    own = np.asarray(model.classes_)
    if hasattr(model, "predict_proba"):
        p = np.asarray(model.predict_proba(x), dtype=np.float64)
    else:
        pred = np.asarray(model.predict(x))
        p = (pred[:, None] == own[None, :]).astype(np.float64)
    pos = np.searchsorted(classes, own)
    out[:, pos] = p
    return out


class DVRL:
    """Data valuation using reinforcement learning (Yoon, Arik and Pfister, 2020).

    Parameters (the defaults are those of the authors' Adult notebook)
    ----------
    predictor
        A scikit-learn classifier (default ``LogisticRegression``) or a
        :class:`TorchClassifier`; cloned and refitted on the selected rows of every outer
        iteration (for 0/1 selections this equals ``sample_weight = s``).
    hidden_dim, comb_dim, layer_number
        Value estimator sizes (100, 10, 5).
    n_iterations, batch_size, learning_rate
        Outer iterations (2000), training rows per iteration (2000, capped at ``N``), Adam
        step size (0.01).
    threshold, epsilon, penalty
        The selection-probability regulariser keeps ``mean(h)`` in ``[1 - threshold,
        threshold]`` (0.9) with weight ``penalty`` (1e3); ``epsilon`` inside the logs (1e-8).
    metric
        Reward performance: ``"auc"`` (binary), ``"accuracy"``, ``"log_loss"`` (negated), a
        callable ``(model, x_val, y_val) -> float`` (larger = better), or ``"auto"``: the
        negated log loss (the authors' Adult notebook uses AUC, a far weaker reward when the
        classes are well separated; see docs/valuation.md).
    baseline_window
        The moving-average baseline ``delta <- (T - 1)/T delta + perf/T`` (T = 20), started
        at the performance of the predictor trained on all training rows.
    time_budget, progress, random_state
        Stop after this many seconds; progress bar; seed (torch generator and NumPy).
    fast_refit
        True (default): a binary L2 ``LogisticRegression`` predictor is refitted on the
        training rows by the exact NumPy minimiser of its objective, warm-started from the
        previous iteration (``assay.valuation._linear``); False: ``clone(...).fit`` always.

    Fitted: ``values_`` (selection probabilities of the training rows), ``rewards_``,
    ``baseline_``, ``convergence_`` (mean value and reward over the last tenth),
    ``estimator_`` (the value estimator), ``fit_time_``.
    """

    name = "DVRL"

    def __init__(
        self,
        predictor: Any = None,
        *,
        hidden_dim: int = 100,
        comb_dim: int = 10,
        layer_number: int = 5,
        n_iterations: int = 2000,
        batch_size: int = 2000,
        learning_rate: float = 0.01,
        threshold: float = 0.9,
        epsilon: float = 1e-8,
        penalty: float = 1e3,
        metric: str | Callable[[Any, Any, Any], float] = "auto",
        baseline_window: int = 20,
        time_budget: float | None = None,
        progress: bool = False,
        random_state: int | None = 0,
        fast_refit: bool = True,
    ) -> None:
        self.predictor = predictor
        self.fast_refit = fast_refit
        self.hidden_dim = hidden_dim
        self.comb_dim = comb_dim
        self.layer_number = layer_number
        self.n_iterations = n_iterations
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.threshold = threshold
        self.epsilon = epsilon
        self.penalty = penalty
        self.metric = metric
        self.baseline_window = baseline_window
        self.time_budget = time_budget
        self.progress = progress
        self.random_state = random_state

    def _metric(self, n_classes: int) -> Callable[[Any, F64, Any], float]:
        metric = self.metric
        if callable(metric):
            return metric
        check_choice("metric", metric, ["auto", "auc", "accuracy", "log_loss"], func=_FUNC)
        if metric == "auto":
            metric = "log_loss"
        classes = self.classes_
        if metric == "accuracy":
            return lambda m, x, y: float(np.mean(np.asarray(m.predict(x)) == y))
        if metric == "auc":
            if n_classes != 2:
                raise ValueError(f"The 'metric' parameter of {_FUNC}: 'auc' needs two classes. "
                                 f"Got {n_classes}.")
            sk = require("sklearn.metrics", "valuation", purpose=_FUNC)
            return lambda m, x, y: float(sk.roc_auc_score(y == classes[1], _proba(m, x, classes)[:, 1]))
        return lambda m, x, y: -float(np.mean(-np.log(np.clip(
            _proba(m, x, classes)[np.arange(len(y)), np.searchsorted(classes, y)], 1e-12, None))))

    def _fit_on(self, x: F64, y: Any, keep: Any) -> Any:
        if self._refit is not None and x is self._refit_x:
            rows = np.arange(x.shape[0])[keep]
            w = self._refit.solve_accelerated(rows)
            if callable(self.metric):  # a user's metric gets a scikit-learn estimator
                return self._refit.as_estimator(self._predictor, w)
            return self._refit.as_light(w)
        base = require("sklearn.base", "valuation", purpose=_FUNC)
        model = base.clone(self._predictor) if not isinstance(self._predictor, TorchClassifier) \
            else copy.copy(self._predictor)
        return model.fit(x[keep], y[keep])

    def fit(self, x_train: Any, y_train: Any, x_val: Any, y_val: Any) -> DVRL:
        t0 = time.perf_counter()
        xt, yt, xv, yv = check_train_val(x_train, y_train, x_val, y_val, func=_FUNC)
        fast = check_fast_refit(self.fast_refit, func=_FUNC)
        self._refit: LogisticRefit | None = None
        self._refit_x: F64 | None = None
        base_mod = require("sklearn.base", "valuation", purpose=_FUNC)
        self.regression_ = (
            self.predictor is not None
            and not isinstance(self.predictor, TorchClassifier)
            and hasattr(self.predictor, "__sklearn_tags__")
            and bool(base_mod.is_regressor(self.predictor))
        )
        if self.regression_:
            return self._fit_regression(t0, xt, yt, xv, yv)
        ct, _, classes = encode_labels(yt, yv, func=_FUNC)
        if classes.size < 2:
            raise ValueError(f"The 'y_train' parameter of {_FUNC} must hold at least two classes. "
                             f"Got {classes.size}.")
        self.classes_ = classes
        n, k = xt.shape[0], classes.size
        iters, batch, window = self._schedule(n)
        if self.predictor is None:
            lm = require("sklearn.linear_model", "valuation", purpose=_FUNC)
            self._predictor = lm.LogisticRegression(max_iter=1000)
        elif isinstance(self.predictor, TorchClassifier):
            self._predictor = self.predictor
        else:
            self._predictor = clone_estimator(self.predictor, func=_FUNC).set_params()
        spec = recognise(self._predictor, yt) if fast else None
        if spec is not None:
            validate = getattr(self._predictor, "_validate_params", None)
            if validate is not None:
                validate()
            self._refit, self._refit_x = LogisticRefit(xt, yt, spec), xt
        rng, seed, gen = self._random()
        metric = self._metric(k)

        onehot = (ct[:, None] == np.arange(k)[None, :]).astype(np.float64)
        val_model = self._fit_on(xv, yv, slice(None))
        signal = np.abs(onehot - _proba(val_model, xt, classes))

        def constant(keep: Any) -> float | None:  # the score of a one-class selection
            if np.unique(ct[keep]).size < 2:
                return float(np.mean(yv == yt[keep][0])) if keep.size else 0.0
            return None

        return self._train(t0, xt, yt, xv, yv, onehot, signal, metric, constant, iters, batch,
                           window, rng, seed, gen)  # fmt: skip

    def _schedule(self, n: int) -> tuple[int, int, int]:
        """The checked ``n_iterations``, ``batch_size`` (at most ``n``) and
        ``baseline_window``; also checks ``threshold``."""
        iters = check_int("n_iterations", self.n_iterations, minimum=1, func=_FUNC)
        batch = min(check_int("batch_size", self.batch_size, minimum=1, func=_FUNC), n)
        window = check_int("baseline_window", self.baseline_window, minimum=1, func=_FUNC)
        if not 0.5 <= float(self.threshold) < 1.0:
            raise ValueError(f"The 'threshold' parameter of {_FUNC} must be in [0.5, 1). "
                             f"Got {self.threshold!r} instead.")
        return iters, batch, window

    def _random(self) -> tuple[np.random.Generator, int, Any]:
        """The NumPy generator of ``random_state``, a seed drawn from it and a torch
        generator seeded with it."""
        rng = check_seed(self.random_state, func=_FUNC)
        seed = int(rng.integers(2**31 - 1))
        return rng, seed, torch.Generator().manual_seed(seed)

    def _fit_regression(self, t0: float, xt: F64, yt: Any, xv: F64, yv: Any) -> DVRL:
        """DVRL with a regressor: the label enters the value estimator as one standardised
        column, the marginal signal is ``|y - f_val(x)|`` of the regressor fitted on the
        validation set, the reward the negated validation MSE (``metric="auto"``) or any
        callable."""
        for name, y in (("y_train", yt), ("y_val", yv)):
            if np.asarray(y).dtype.kind not in "biuf":
                raise TypeError(
                    f"The {name!r} parameter of {_FUNC} must be numeric with a regressor as "
                    f"predictor. Got dtype {np.asarray(y).dtype} instead."
                )
        yt = np.asarray(yt, dtype=np.float64)
        yv = np.asarray(yv, dtype=np.float64)
        n = xt.shape[0]
        iters, batch, window = self._schedule(n)
        self._predictor = clone_estimator(self.predictor, func=_FUNC)
        rng, seed, gen = self._random()
        metric: Callable[[Any, F64, Any], float]
        if callable(self.metric):
            metric = self.metric
        else:
            check_choice("metric", self.metric, ["auto", "neg_mse"], func=_FUNC)
            metric = lambda m, x, y: -float(np.mean((np.asarray(m.predict(x)) - y) ** 2))  # noqa: E731
        y_sd = float(yt.std()) or 1.0
        label = ((yt - yt.mean()) / y_sd)[:, None]
        val_model = self._fit_on(xv, yv, slice(None))
        signal = (np.abs(yt - np.asarray(val_model.predict(xt))) / y_sd)[:, None]

        def constant(keep: Any) -> float | None:  # a single selected row: predict its target
            if keep.size < 2:
                c = float(yt[keep][0]) if keep.size else float(yt.mean())
                return -float(np.mean((c - yv) ** 2))
            return None

        return self._train(t0, xt, yt, xv, yv, label, signal, metric, constant, iters, batch,
                           window, rng, seed, gen)  # fmt: skip

    def _train(
        self, t0: float, xt: F64, yt: Any, xv: F64, yv: Any, label: F64, signal: F64,
        metric: Callable[[Any, F64, Any], float], constant: Callable[[Any], float | None],
        iters: int, batch: int, window: int, rng: np.random.Generator, seed: int, gen: Any,
    ) -> DVRL:  # fmt: skip
        """The REINFORCE loop shared by classification and regression."""
        n = xt.shape[0]
        mu, sd = xt.mean(axis=0), xt.std(axis=0)
        sd[sd == 0] = 1.0
        xy = torch.as_tensor(np.hstack([(xt - mu) / sd, label]), dtype=torch.float32)
        sig = torch.as_tensor(signal, dtype=torch.float32)
        k = signal.shape[1]

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            est = ValueEstimator(xy.shape[1], k, self.hidden_dim, self.comb_dim, self.layer_number)
        opt = torch.optim.Adam(est.parameters(), lr=float(self.learning_rate))
        baseline = metric(self._fit_on(xt, yt, slice(None)), xv, yv)
        rewards, means = [], []
        eps, thr = float(self.epsilon), float(self.threshold)
        with Progress(iters, desc="DVRL", unit="iterations", enabled=self.progress) as bar:
            for t in range(iters):
                idx = torch.as_tensor(rng.permutation(n)[:batch])
                p = est(xy[idx], sig[idx])
                s = torch.bernoulli(p.detach(), generator=gen)
                if float(s.sum()) == 0:
                    s = torch.bernoulli(torch.full_like(s, 0.5), generator=gen)
                keep = idx[s.bool()].numpy()
                if self._refit is not None and t % 10 == 0:
                    # the preconditioner of the exact refits: the expected selection's Hessian
                    expected = np.full(n, float(p.detach().mean()))
                    expected[idx.numpy()] = p.detach().double().numpy()
                    self._refit.set_reference(expected)
                fixed = constant(keep)
                perf = metric(self._fit_on(xt, yt, keep), xv, yv) if fixed is None else fixed
                reward = perf - baseline
                logp = (s * torch.log(p + eps) + (1 - s) * torch.log(1 - p + eps)).sum()
                mean_p = p.mean()
                loss = -reward * logp + float(self.penalty) * (
                    torch.relu(mean_p - thr) + torch.relu((1 - thr) - mean_p))
                opt.zero_grad()
                loss.backward()
                opt.step()
                baseline = (window - 1) / window * baseline + perf / window
                rewards.append(reward)
                means.append(float(mean_p.detach()))
                bar.update()
                if self.time_budget is not None and time.perf_counter() - t0 >= self.time_budget:
                    break
        with torch.no_grad():
            self.values_ = est(xy, sig).double().numpy()
        self.estimator_ = est
        self.rewards_ = np.asarray(rewards)
        self.baseline_ = float(baseline)
        tail = max(1, len(rewards) // 10)
        self.convergence_ = {
            "n_iterations": len(rewards),
            "mean_reward_last_tenth": float(np.mean(rewards[-tail:])),
            "mean_selection_probability_last_tenth": float(np.mean(means[-tail:])),
        }
        self.fit_time_ = time.perf_counter() - t0
        return self
