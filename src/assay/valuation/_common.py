"""Input checks, label encoding and the model utility shared by the valuation methods."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._util.optional import require

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: A utility: the score of a training subset (an index array into the training rows).
Utility = Callable[[I64], float]


class NotFittedError(ValueError, AttributeError):
    """A valuation method's ``values_`` was read before ``fit`` (a ``ValueError``, as in
    scikit-learn)."""


def check_fitted(obj: Any, attr: str = "values_") -> None:
    if not hasattr(obj, attr):
        name = type(obj).__name__
        raise NotFittedError(f"This {name} is not fitted yet; call {name}.fit(...) first.")


def to_numpy(x: Any) -> Any:
    """A tensor (``detach().cpu().numpy()``) or a pandas object (``to_numpy()``) as a NumPy
    array; anything else unchanged (for ``np.asarray`` to convert)."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        return x.detach().cpu().numpy()
    if hasattr(x, "to_numpy"):
        return x.to_numpy()
    return x


def as_features(x: Any, name: str, *, func: str) -> F64:
    """``x`` (array-like, DataFrame or tensor) as a finite 2-d float64 array."""
    x = to_numpy(x)
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"The {name!r} parameter of {func} must be a numeric 2-d array (rows x features). "
            f"Got {type(x).__name__} that does not convert to float."
        ) from exc
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(
            f"The {name!r} parameter of {func} must be a 2-d array (rows x features). "
            f"Got shape {a.shape} instead."
        )
    if a.shape[0] == 0:
        raise ValueError(f"The {name!r} parameter of {func} must hold at least one row. Got 0.")
    if not np.all(np.isfinite(a)):
        bad = np.flatnonzero(~np.all(np.isfinite(a), axis=1))
        raise ValueError(
            f"The {name!r} parameter of {func} must be finite. Got NaN or infinite values in "
            f"{bad.size} row(s), first at row {int(bad[0])}."
        )
    return a


def as_labels(y: Any, n: int, name: str, *, func: str) -> NDArray[Any]:
    """``y`` as a 1-d array of ``n`` labels (no missing values)."""
    a = np.asarray(to_numpy(y))
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise ValueError(
            f"The {name!r} parameter of {func} must be a 1-d array of labels. "
            f"Got shape {a.shape} instead."
        )
    if a.shape[0] != n:
        raise ValueError(
            f"The {name!r} parameter of {func} must have one label per row ({n}). "
            f"Got {a.shape[0]} instead."
        )
    if a.dtype.kind == "f" and np.any(np.isnan(a)):
        raise ValueError(f"The {name!r} parameter of {func} must not contain NaN labels.")
    if a.dtype.kind == "O" and any(v is None for v in a):
        raise ValueError(f"The {name!r} parameter of {func} must not contain missing labels.")
    return a


def check_train_val(
    x_train: Any, y_train: Any, x_val: Any, y_val: Any, *, func: str
) -> tuple[F64, NDArray[Any], F64, NDArray[Any]]:
    """Check the four arrays of a valuation: shapes, finiteness, same width, and that every
    validation class is present among the training labels."""
    xt = as_features(x_train, "x_train", func=func)
    yt = as_labels(y_train, xt.shape[0], "y_train", func=func)
    xv = as_features(x_val, "x_val", func=func)
    yv = as_labels(y_val, xv.shape[0], "y_val", func=func)
    if xv.shape[1] != xt.shape[1]:
        raise ValueError(
            f"The 'x_val' parameter of {func} must have as many features as 'x_train' "
            f"({xt.shape[1]}). Got {xv.shape[1]} instead."
        )
    return xt, yt, xv, yv


def encode_labels(
    y_train: NDArray[Any], y_val: NDArray[Any], *, func: str
) -> tuple[I64, I64, NDArray[Any]]:
    """Integer codes of the training and validation labels over the training classes.

    Raises when a validation label does not occur among the training labels (no training
    row could ever match it, which is almost always a mistake in the split)."""
    classes = np.unique(y_train)
    code_t = np.searchsorted(classes, y_train).astype(np.int64)
    pos = np.searchsorted(classes, y_val)
    pos_c = np.clip(pos, 0, classes.size - 1)
    missing = classes[pos_c] != y_val
    if np.any(missing):
        absent = sorted({repr(v) for v in np.asarray(y_val)[missing].tolist()})
        raise ValueError(
            f"The 'y_val' parameter of {func} holds class(es) absent from 'y_train': "
            f"{', '.join(absent[:10])}. Every validation class must occur in the training labels "
            f"(training classes: {', '.join(repr(c) for c in classes.tolist()[:10])})."
        )
    return code_t, pos_c.astype(np.int64), classes


def duplicate_rows(x: F64) -> I64:
    """Indices of the rows of ``x`` that repeat an earlier row."""
    _, first, inverse = np.unique(x, axis=0, return_index=True, return_inverse=True)
    dup = first[inverse.ravel()] != np.arange(x.shape[0])
    return np.flatnonzero(dup).astype(np.int64)


def check_duplicates(x: F64, duplicates: str, *, func: str) -> None:
    if duplicates not in ("raise", "allow"):
        raise ValueError(
            f"The 'duplicates' parameter of {func} must be one of {{'raise', 'allow'}}. "
            f"Got {duplicates!r} instead."
        )
    if duplicates == "raise":
        dup = duplicate_rows(x)
        if dup.size:
            raise ValueError(
                f"The 'x_train' parameter of {func} has {dup.size} duplicated row(s) (first at "
                f"row {int(dup[0])}): equal rows are at equal distance from every validation "
                "point, so their values depend on how ties are broken. Remove them, or pass "
                "duplicates='allow' to break ties by row order."
            )


def check_seed(random_state: Any, *, func: str) -> np.random.Generator:
    if random_state is None or isinstance(random_state, int | np.integer):
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    raise TypeError(
        f"The 'random_state' parameter of {func} must be an int, None or a numpy Generator. "
        f"Got {type(random_state).__name__} instead."
    )


def clone_estimator(estimator: Any, *, func: str) -> Any:
    """``sklearn.base.clone(estimator)`` with an error that names the argument."""
    base = require("sklearn.base", "valuation", purpose=func)
    if not hasattr(estimator, "fit"):
        raise TypeError(
            f"The 'estimator' parameter of {func} must be a scikit-learn estimator with fit(). "
            f"Got {type(estimator).__name__} instead."
        )
    try:
        return base.clone(estimator)
    except Exception as exc:  # sklearn raises TypeError or RuntimeError
        raise TypeError(
            f"The 'estimator' parameter of {func} must be clonable by sklearn.base.clone "
            f"(get_params/set_params, configuration in __init__). Cloning "
            f"{type(estimator).__name__} failed: {exc}"
        ) from exc


class ModelUtility:
    """The validation score of an estimator trained on a subset of the training rows.

    ``utility(idx)`` clones ``estimator``, fits it on ``x_train[idx], y_train[idx]`` and returns
    ``scoring(model, x_val, y_val)`` (default: accuracy, ``model.score``). A subset with one
    class is scored as the constant prediction of that class; the empty subset scores
    ``empty_score`` (default: the score of predicting the most frequent training class; for a
    regressor, the constant prediction of the mean training target, and a subset whose
    targets are all equal is scored as the constant prediction of that value).
    Results are cached by subset.

    ``fast_refit`` (default True): for a recognised binary L2 ``LogisticRegression``
    (``assay.valuation._linear.recognise``) the subsets are fitted by the exact NumPy
    minimiser of the same objective, warm-started from the previous subset
    (:class:`~assay.valuation._linear.LogisticRefit`) instead of ``clone(...).fit``;
    ``False`` always uses scikit-learn's fit. ``n_fits`` counts both.
    """

    def __init__(
        self,
        estimator: Any,
        x_train: F64,
        y_train: NDArray[Any],
        x_val: F64,
        y_val: NDArray[Any],
        *,
        scoring: Callable[[Any, F64, NDArray[Any]], float] | None = None,
        empty_score: float | None = None,
        cache: bool = True,
        fast_refit: bool = True,
        func: str = "ModelUtility",
    ) -> None:
        from ._linear import LogisticRefit, check_fast_refit, recognise

        self.estimator = clone_estimator(estimator, func=func)
        self.x_train, self.y_train, self.x_val, self.y_val = x_train, y_train, x_val, y_val
        self.scoring = scoring
        self.func = func
        self._cache: dict[bytes, float] | None = {} if cache else None
        self.n_fits = 0
        base = require("sklearn.base", "valuation", purpose=func)
        self._classifier = bool(base.is_classifier(self.estimator))
        self._checked = False  # the first fit runs scikit-learn's parameter validation
        self.fast_refit = check_fast_refit(fast_refit, func=func)
        spec = recognise(self.estimator, y_train) if self.fast_refit else None
        self.refit: LogisticRefit | None = None
        if spec is not None:
            self._check_params()
            self.refit = LogisticRefit(x_train, y_train, spec)
            self.refit.set_validation(x_val)
            # a validation row is right when predicted classes_[1] and labelled it, or not
            self._val_pos = np.asarray(y_val == self.refit.classes[1])
            self._val_neg = np.asarray(y_val == self.refit.classes[0])
        # accuracy needs only the validation rows' predicted classes: certified (exact)
        self._certify = self.scoring is None and self._classifier
        if empty_score is None:
            if self._classifier:
                vals, counts = np.unique(y_train, return_counts=True)
                empty_score = self._constant_score(vals[np.argmax(counts)])
            else:  # a regressor: the constant prediction of the mean training target
                empty_score = self._constant_score(float(np.mean(y_train)))
        self.empty_score = float(empty_score)

    def _constant_score(self, label: Any) -> float:
        """The score of predicting ``label`` for every row (a class, or a regressor's value)."""
        dummy = require("sklearn.dummy", "valuation", purpose=self.func)
        if self._classifier:
            model = dummy.DummyClassifier(strategy="constant", constant=label)
            model.fit(self.x_train[:1], np.asarray([label], dtype=self.y_train.dtype))
        else:
            model = dummy.DummyRegressor(strategy="constant", constant=float(label))
            model.fit(self.x_train[:1], np.asarray([float(label)]))
        return self._score(model)

    def _score(self, model: Any) -> float:
        if self.scoring is None:
            if self._classifier:  # what ClassifierMixin.score computes, without its checks
                return float(np.mean(np.asarray(model.predict(self.x_val)) == self.y_val))
            return float(model.score(self.x_val, self.y_val))
        return float(self.scoring(model, self.x_val, self.y_val))

    def _check_params(self) -> None:
        """scikit-learn's parameter validation of the estimator (what its first fit would
        raise), without fitting."""
        validate = getattr(self.estimator, "_validate_params", None)
        if validate is not None:
            validate()

    def _fast_score(self, idx: I64) -> float:
        assert self.refit is not None
        w = self.refit.solve(idx, certify=self._certify)
        self.n_fits += 1
        if self.scoring is None:  # accuracy: decision > 0 is classes_[1], as predict
            positive = self.refit.last_positive  # known from the certificate
            if positive is None:
                positive = self.refit.decision(self.x_val, w) > 0
            return float(np.mean(np.where(positive, self._val_pos, self._val_neg)))
        return float(self.scoring(self.refit.as_estimator(self.estimator, w), self.x_val,
                                  self.y_val))  # fmt: skip

    def scores(self, masks: NDArray[np.bool_]) -> F64:
        """``[self(flatnonzero(mask)) for mask in masks]``: the utilities of many subsets
        (one boolean row per subset), those with both classes fitted together by
        :meth:`LogisticRefit.solve_many <assay.valuation._linear.LogisticRefit.solve_many>`
        on the fast path."""
        masks = np.asarray(masks, dtype=bool)
        out = np.empty(masks.shape[0])
        batch: list[int] = []
        for k, mask in enumerate(masks):
            idx = np.flatnonzero(mask).astype(np.int64)
            if self.refit is None or idx.size == 0 or self._cache is not None or \
                    np.unique(self.y_train[idx]).size < 2:  # fmt: skip
                out[k] = self(idx)
            else:
                batch.append(k)
        if batch:
            assert self.refit is not None
            ws = self.refit.solve_many(masks[batch].astype(np.float64), certify=self._certify)
            self.n_fits += len(batch)
            positives = self.refit.last_positive_many
            for j, (k, w) in enumerate(zip(batch, ws, strict=True)):
                if self.scoring is None:
                    pos = positives[j] if positives is not None else \
                        self.refit.decision(self.x_val, w) > 0  # fmt: skip
                    pred = self.refit.classes[pos.astype(np.int64)]
                    out[k] = float(np.mean(pred == self.y_val))
                else:
                    out[k] = float(self.scoring(self.refit.as_estimator(self.estimator, w),
                                                self.x_val, self.y_val))  # fmt: skip
        return out

    def fit(self, idx: I64, sample_weight: F64 | None = None) -> Any:
        """The estimator fitted on the rows ``idx`` (a clone)."""
        base = require("sklearn.base", "valuation", purpose=self.func)
        model = base.clone(self.estimator)
        if sample_weight is None:
            model.fit(self.x_train[idx], self.y_train[idx])
        else:
            model.fit(self.x_train[idx], self.y_train[idx], sample_weight=sample_weight)
        self.n_fits += 1
        return model

    def __call__(self, idx: Sequence[int] | I64) -> float:
        idx = np.asarray(idx, dtype=np.int64)
        if idx.size == 0:
            return self.empty_score
        key = b""
        if self._cache is not None:
            key = np.sort(idx).tobytes()
            hit = self._cache.get(key)
            if hit is not None:
                return hit
        if self.refit is not None:  # two classes overall: one class if none or all positive
            positives = float(self.refit.y01[idx].sum())
            if 0 < positives < idx.size:
                value = self._fast_score(idx)
            else:
                value = self._constant_score(self.refit.classes[int(positives > 0)])
            if self._cache is not None:
                self._cache[key] = value
            return value
        labels = np.unique(self.y_train[idx])
        if labels.size == 1:
            value = self._constant_score(labels[0])
        elif not self._checked:
            value = self._score(self.fit(idx))
            self._checked = True
        else:
            # the arrays were checked once (finite, numeric) and the estimator's parameters
            # by the first fit: skip scikit-learn's per-call checks (a third of a small fit)
            sk = require("sklearn", "valuation", purpose=self.func)
            with sk.config_context(assume_finite=True, skip_parameter_validation=True):
                value = self._score(self.fit(idx))
        if self._cache is not None:
            self._cache[key] = value
        return value


def knn_utility(
    x_train: F64, y_train: NDArray[Any], x_val: F64, y_val: NDArray[Any], k: int
) -> Utility:
    """Jia et al.'s KNN classification utility of a subset: per validation point the number
    of its ``k`` nearest neighbours within the subset (Euclidean, ties by row order) that
    carry its label, divided by ``k``; averaged over validation points. Deterministic and
    cheap, for tests and for checking the sampling estimators."""
    d = np.sqrt(((x_val[:, None, :] - x_train[None, :, :]) ** 2).sum(-1))
    match = (y_val[:, None] == y_train[None, :]).astype(np.float64)

    def utility(idx: Sequence[int] | I64) -> float:
        idx = np.sort(np.asarray(idx, dtype=np.int64))
        if idx.size == 0:
            return 0.0
        sub = d[:, idx]
        order = np.argsort(sub, axis=1, kind="stable")[:, :k]
        return float(np.take_along_axis(match[:, idx], order, axis=1).sum(axis=1).mean() / k)

    return utility
