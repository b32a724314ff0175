"""A fast exact refit path for scikit-learn's binary L2 ``LogisticRegression``.

The refitting valuation methods (leave-one-out, TMC / Beta Shapley, Data Banzhaf, DVRL) fit
the same model on thousands of overlapping subsets of one training set. For a recognised
estimator (:func:`recognise`) this module minimises the same penalised objective as
scikit-learn itself, in NumPy, warm-started from the previous subset's solution::

    F(w) = 1/2 sum_j pen_j w_j^2 + C sum_i s_i [log(1 + exp(z_i)) - y_i z_i],  z = [X, c] w

with ``y_i`` in {0, 1} (``classes_[1]`` is 1), ``s_i`` the sample weights, and the last
column ``c`` the intercept column: for ``solver="liblinear"`` the intercept is a synthetic
feature of value ``intercept_scaling`` whose weight is penalised like the others (``pen = 1``,
liblinear's objective); for the other solvers (lbfgs, newton-cg, newton-cholesky, sag, saga)
the intercept is unpenalised (``pen = 0``, ``c = 1``; scikit-learn's ``LinearModelLoss``
divides the whole objective by ``sum(s)``, which does not move the minimiser). The objective
is strictly convex, so its minimiser does not depend on the solver or the starting point.

Iterations: the gradient at the current point, a step with the inverse Hessian of an earlier
point (the chord method: one pass over the subset's rows per iteration, no new Hessian)
accepted while it at least halves the gradient norm; otherwise the exact Hessian at the
current point and a Newton step with Armijo backtracking (globally convergent). When few rows
changed since the previous subset (leave-one-out, prefix walks) the inverse Hessian is
updated for them by Sherman-Morrison and the first gradient is the previous one plus their
terms. Stopped when the step is below ``xtol * (1 + max|w|)`` (``xtol = 1e-10`` by default),
far tighter than scikit-learn's default ``tol=1e-4``: the fast path returns the minimiser
that scikit-learn's solvers approximate, so a validation point lying within scikit-learn's
solver tolerance of the decision boundary can be classified differently by the two (see
docs/valuation.md). For accuracy utilities a strong-convexity certificate stops as soon as
the validation rows' predicted classes are provably those of the minimiser
(:meth:`LogisticRefit.solve` with ``certify=True``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

_SOLVERS = ("lbfgs", "liblinear", "newton-cg", "newton-cholesky", "sag", "saga")


@dataclass(frozen=True)
class LogisticSpec:
    """The objective of a recognised ``LogisticRegression``: ``C``, whether there is an
    intercept, its column value and whether it is penalised."""

    C: float
    fit_intercept: bool
    intercept_column: float
    penalize_intercept: bool


def check_fast_refit(value: Any, *, func: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(
            f"The 'fast_refit' parameter of {func} must be a bool (True: the exact NumPy refit "
            f"for a recognised LogisticRegression; False: always sklearn's fit). "
            f"Got {type(value).__name__} instead."
        )
    return bool(value)


def _is_l2(params: dict[str, Any]) -> bool:
    penalty = params.get("penalty", "l2")
    l1_ratio = params.get("l1_ratio", None)
    if penalty == "l2":
        return l1_ratio in (None, 0, 0.0)
    if penalty == "deprecated":  # scikit-learn >= 1.8: l1_ratio decides
        return l1_ratio in (None, 0, 0.0)
    return False


def recognise(estimator: Any, y: Any) -> LogisticSpec | None:
    """The objective of ``estimator`` when the fast path solves it exactly, else ``None``.

    Recognised: exactly ``sklearn.linear_model.LogisticRegression`` (not a subclass), an L2
    penalty with finite ``C > 0``, no ``class_weight``, any of its solvers, and binary labels
    ``y`` (two classes). Anything else (other estimators, multiclass, L1/elastic net,
    class weights) keeps scikit-learn's fit."""
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:  # pragma: no cover - sklearn is a dependency of the callers
        return None
    if type(estimator) is not LogisticRegression:
        return None
    params = estimator.get_params(deep=False)
    if not _is_l2(params) or params.get("class_weight") is not None:
        return None
    if params.get("solver", "lbfgs") not in _SOLVERS:
        return None
    c = params.get("C", 1.0)
    if not isinstance(c, int | float) or not np.isfinite(c) or c <= 0:
        return None
    if np.unique(np.asarray(y)).size != 2:
        return None
    fit_intercept = bool(params.get("fit_intercept", True))
    liblinear = params.get("solver") == "liblinear"
    scale = float(params.get("intercept_scaling", 1.0)) if liblinear else 1.0
    if not fit_intercept:
        scale = 0.0
    return LogisticSpec(
        C=float(c), fit_intercept=fit_intercept, intercept_column=scale,
        penalize_intercept=liblinear,
    )  # fmt: skip


def _log1pexp(z: F64) -> F64:
    out: F64 = np.logaddexp(0.0, z)
    return out


def _sigmoid(z: F64) -> F64:
    out: F64 = 0.5 * (1.0 + np.tanh(0.5 * z))
    return out


def _spd_inverse(h: F64) -> F64:
    """The inverse of a symmetric positive definite matrix (Cholesky; pseudo-inverse if it
    is not numerically positive definite)."""
    from scipy.linalg import lapack

    chol, info = lapack.dpotrf(h, lower=0)
    if info == 0:
        inv, info = lapack.dpotri(chol, lower=0)
        if info == 0:
            upper = np.triu(inv)
            out: F64 = upper + np.triu(inv, 1).T
            return out
    out = np.asarray(np.linalg.pinv(h), dtype=np.float64)
    return out


class LogisticRefit:
    """Exact refits of one recognised ``LogisticRegression`` on subsets of one training set.

    ``x`` (rows x features), binary labels ``y`` (``classes`` sorted, ``classes[1]`` the
    positive class), the :class:`LogisticSpec`. :meth:`solve` minimises the objective on
    rows ``idx`` with optional sample weights, warm-started from (and leaving behind) the
    previous solution and inverse Hessian; :meth:`solve_many` many subsets at once (Data
    Banzhaf); :meth:`solve_accelerated` unrelated subsets one after another (DVRL).
    ``n_hessians`` / ``n_gradients`` / ``n_certified`` count the work.

    Tunables (attributes): ``xtol`` (1e-10, the stopping rule), ``max_rank`` (8: at most this
    many changed rows get Sherman-Morrison updates), ``chord_rate`` (0.5: a chord step must
    shrink the gradient norm by this factor), ``refresh_after`` (30 iterations: a slower
    solve ends with a Hessian at its solution), ``refresh_every`` (50 solves without a
    Hessian: one at the solution), ``batch_memory`` (5: Anderson memory of the batch solve).
    """

    def __init__(
        self, x: F64, y: Any, spec: LogisticSpec, *, xtol: float = 1e-10, max_iter: int = 500
    ) -> None:
        self.spec = spec
        self.classes = np.unique(np.asarray(y))
        if self.classes.size != 2:
            raise ValueError(
                f"LogisticRefit needs exactly two classes in 'y'. Got {self.classes.size}."
            )
        n, d = x.shape
        self.n_features = d
        self.xa = np.empty((n, d + 1), dtype=np.float64)
        self.xa[:, :d] = x
        self.xa[:, d] = spec.intercept_column
        self.y01 = (np.asarray(y) == self.classes[1]).astype(np.float64)
        self.pen = np.ones(d + 1)
        if spec.fit_intercept and not spec.penalize_intercept:
            self.pen[d] = 0.0
        self.xtol = float(xtol)
        self.max_iter = int(max_iter)
        self.refresh_after = 30
        self.max_rank = 8
        self.batch_memory = 5
        self.refresh_every = 50
        self._since_fresh = 0
        self.chord_rate = 0.5
        self._cw: F64 | None = None  # the previous subset's C * weight per training row
        self._xv: F64 | None = None
        self._xv_norm: F64 | None = None
        self.n_certified = 0
        self._href: F64 | None = None
        self._g: F64 | None = None  # the previous objective's gradient at self.w
        self._zv = np.empty(0)
        #: after a certified solve: the validation rows predicted as classes[1] (else None)
        self.last_positive: NDArray[np.bool_] | None = None
        self.last_positive_many: NDArray[np.bool_] | None = None
        self._prev: NDArray[np.int64] | None = None  # the previous subset (no weights)
        self._bx = np.empty_like(self.xa)  # its rows, its labels, C per row
        self._by = np.empty(n)
        self._bc = np.full(n, spec.C)
        self.w = np.zeros(d + 1)
        self.hinv: F64 | None = None
        self.n_hessians = 0
        self.n_gradients = 0
        self.n_iter = 0

    # objective pieces on the rows of one subset ----------------------------------------
    def _grad(self, xs: F64, ys: F64, cs: F64, w: F64) -> tuple[F64, F64]:
        z = xs @ w
        r = cs * (_sigmoid(z) - ys)
        g: F64 = self.pen * w + xs.T @ r
        self.n_gradients += 1
        return g, z

    def _objective(self, xs: F64, ys: F64, cs: F64, w: F64) -> float:
        z = xs @ w
        return float(0.5 * np.dot(self.pen * w, w) + np.dot(cs, _log1pexp(z) - ys * z))

    def _hessian_inverse(self, xs: F64, cs: F64, z: F64) -> F64:
        p = _sigmoid(z)
        h = (xs * (cs * p * (1.0 - p))[:, None]).T @ xs
        h[np.diag_indices_from(h)] += self.pen
        self.n_hessians += 1
        return _spd_inverse(h)

    def set_validation(self, x_val: F64) -> None:
        """The rows whose predicted classes :meth:`solve` can certify (``certify=True``)."""
        self._xv = np.empty((x_val.shape[0], self.xa.shape[1]))
        self._xv[:, :-1] = x_val
        self._xv[:, -1] = self.xa[0, -1] if self.xa.shape[0] else 0.0
        self._xv_norm = np.sqrt(np.einsum("ij,ij->i", self._xv, self._xv))

    @property
    def can_certify(self) -> bool:
        """Whether the objective is 1-strongly convex (every weight penalised: liblinear's
        objective, or no intercept), so that ``||w - w*|| <= ||grad F(w)||``."""
        return bool(np.min(self.pen) > 0)

    def solve(
        self, idx: Any, sample_weight: F64 | None = None, *, certify: bool = False
    ) -> F64:
        """The minimiser ``w`` (features, then the intercept column's weight) on rows
        ``idx`` (an index array; ``sample_weight`` one weight per row of ``idx``).

        ``certify=True`` (after :meth:`set_validation`, for a 1-strongly convex objective,
        :attr:`can_certify`): stop as soon as the predicted class of every validation row is
        provably that of the exact minimiser ``w*``: with ``g = grad F(w)``, strong
        convexity (``g . (w - w*) >= ||w - w*||^2``) puts ``w*`` in the ball of radius
        ``||g|| / 2`` around ``w - g / 2``, and the check is
        ``|x_v . (w - g/2)| > ||x_v|| ||g|| / 2`` for every validation row ``x_v``. The
        returned ``w`` (on that ball's boundary) then classifies the validation rows exactly
        as ``w*`` does (``last_positive``); its coefficients are not converged to ``xtol``.
        Rows that cannot be certified (on the boundary to rounding) leave the ``xtol``
        rule to stop."""
        certify = certify and self.can_certify and self._xv is not None
        idx = np.asarray(idx, dtype=np.int64)
        m, c = idx.size, self.spec.C
        if m > self._bx.shape[0]:  # repeated rows: a larger buffer
            self._bx = np.empty((m, self.xa.shape[1]))
            self._by = np.empty(m)
            self._bc = np.full(m, c)
        prev = self._prev
        if (sample_weight is None and prev is not None and m == prev.size + 1
                and self._cw is not None and np.array_equal(idx[:-1], prev)):  # fmt: skip
            # a prefix walk (TMC, Beta Shapley): the buffer holds the rows before
            i = int(idx[-1])
            self._bx[m - 1] = self.xa[i]
            self._by[m - 1] = self.y01[i]
            changed, delta = idx[-1:], np.asarray([c])
            self._cw[i] += c
        else:
            np.take(self.xa, idx, axis=0, out=self._bx[:m])
            self._by[:m] = self.y01[idx]
            cs = c * np.asarray(sample_weight, dtype=np.float64) if sample_weight is not None \
                else self._bc[:m]  # fmt: skip
            cw = np.bincount(idx, weights=cs, minlength=self.xa.shape[0]).astype(np.float64)
            if self._cw is None:
                changed, delta = np.empty(0, dtype=np.int64), np.empty(0)
            else:
                changed = np.flatnonzero(cw != self._cw)
                delta = cw[changed] - self._cw[changed]
            self._cw = cw
        xs, ys = self._bx[:m], self._by[:m]
        cs = self._bc[:m] if sample_weight is None else c * np.asarray(
            sample_weight, dtype=np.float64)
        self._prev = idx if sample_weight is None else None
        hinv = self.hinv
        g0 = None
        if changed.size <= self.max_rank and self._g is not None:
            # the new objective's gradient at the previous solution without a pass over the
            # rows: the previous gradient plus the changed rows' terms
            changed = changed.astype(np.int64)
            xc = self.xa[changed]
            r = delta * (_sigmoid(xc @ self.w) - self.y01[changed])
            g0 = self._g + r @ xc
        if hinv is not None and 0 < changed.size <= self.max_rank:
            hinv = self._low_rank_update(hinv, changed.astype(np.int64), delta)
        # without an intercept the last column is 0 with a penalised weight: it stays 0
        h0 = self.n_hessians
        self.w, self.hinv = self._minimise(xs, ys, cs, self.w.copy(), hinv, certify, g0)
        self._since_fresh = 0 if self.n_hessians > h0 else self._since_fresh + 1
        if self._since_fresh >= self.refresh_every:
            # the chord's inverse Hessian drifts from the current solution as the subsets
            # move on: one at the solution every so often keeps the steps nearly Newton's
            self.hinv = self._hessian_inverse(xs, cs, xs @ self.w)
            self._since_fresh = 0
        return self.w.copy()

    def _low_rank_update(self, hinv: F64, changed: NDArray[np.int64], delta: F64) -> F64 | None:
        """``hinv`` updated in place (Sherman-Morrison) for the few rows whose weight changed
        by ``delta`` since the previous subset (leave-one-out, prefix walks): then the
        chord steps start from nearly the new objective's Hessian."""
        from scipy.linalg.blas import dger

        xc = self.xa[changed]
        p = _sigmoid(xc @ self.w)
        coef = delta * p * (1.0 - p)
        for k in range(changed.size):
            u = hinv @ xc[k]
            denom = 1.0 + coef[k] * float(xc[k] @ u)
            if denom <= 1e-8:  # would lose positive definiteness: start afresh
                return None
            # hinv is symmetric and C-ordered: its transpose is the Fortran array BLAS updates
            dger(-coef[k] / denom, u, u, a=hinv.T, overwrite_a=1)
        return hinv

    def _certified(self, w: F64, g: F64, gnorm: float) -> bool:
        # strong convexity (mu = 1): g . (w - w*) >= ||w - w*||^2, i.e. w* lies in the ball
        # of radius ||g|| / 2 around w - g / 2
        # w is on the ball's boundary: a certified ball gives w's predicted classes too
        assert self._xv is not None and self._xv_norm is not None
        zv = self._xv @ (w - 0.5 * g)
        self._zv = zv
        return bool(np.all(np.abs(zv) > 0.5 * gnorm * self._xv_norm))

    def _minimise(
        self, xs: F64, ys: F64, cs: F64, w: F64, hinv: F64 | None, certify: bool = False,
        g0: F64 | None = None,
    ) -> tuple[F64, F64]:  # fmt: skip
        """Minimise from ``w`` (``g0``: the gradient there, when known); leaves the gradient
        at the returned point in ``self._g`` (None when not known)."""
        z: F64 | None
        if g0 is None:
            g, z = self._grad(xs, ys, cs, w)
        else:
            g, z = g0, None  # z = xs @ w only when a Hessian is needed
        gnorm = float(np.linalg.norm(g))
        fresh = False  # hinv computed at the current w
        self._g = None
        self.last_positive = None
        for it in range(self.max_iter):
            # (the first two iterates are almost never certifiable: not checked unless the
            # gradient is already tiny)
            if certify and (it >= 2 or gnorm < 1e-6) and self._certified(w, g, gnorm):
                self.n_iter = it
                self.n_certified += 1
                self._g = g
                self.last_positive = self._zv > 0
                return w, hinv if hinv is not None else self._hessian_inverse(xs, cs, xs @ w if z is None else z)
            if hinv is None:
                hinv, fresh = self._hessian_inverse(xs, cs, xs @ w if z is None else z), True
            step = hinv @ g
            if float(np.max(np.abs(step))) <= self.xtol * (1.0 + float(np.max(np.abs(w)))):
                self.n_iter = it
                if it > self.refresh_after and not fresh:
                    # a slow solve: the inverse Hessian was from a point far from this
                    # solution; one at the solution speeds up the next, nearby subsets
                    hinv = self._hessian_inverse(xs, cs, xs @ w if z is None else z)
                return w - step, hinv
            if not fresh:  # the chord step with an earlier point's inverse Hessian
                w_new = w - step
                g_new, z_new = self._grad(xs, ys, cs, w_new)
                gn = float(np.linalg.norm(g_new))
                if gn <= self.chord_rate * gnorm:
                    w, g, z, gnorm = w_new, g_new, z_new, gn
                    continue
                hinv = self._hessian_inverse(xs, cs, xs @ w if z is None else z)  # at w: a damped Newton step
                step = hinv @ g
            f0 = self._objective(xs, ys, cs, w)
            slope = float(np.dot(g, step))
            t = 1.0
            while t > 1e-12:
                w_try = w - t * step
                if self._objective(xs, ys, cs, w_try) <= f0 - 1e-4 * t * slope:
                    break
                t *= 0.5
            w = w - t * step
            g, z = self._grad(xs, ys, cs, w)
            gnorm = float(np.linalg.norm(g))
            fresh = False
        self.n_iter = self.max_iter
        self._g = g
        return w, hinv if hinv is not None else self._hessian_inverse(xs, cs, xs @ w if z is None else z)

    def set_reference(self, weights: F64) -> None:
        """The inverse Hessian of the objective with sample weights ``weights`` (one per
        training row; DVRL: the selection probabilities, the expected selection) at the
        current solution: the preconditioner of :meth:`solve_accelerated`."""
        cw = self.spec.C * np.asarray(weights, dtype=np.float64)
        p = _sigmoid(self.xa @ self.w)
        h = (self.xa * (cw * p * (1.0 - p))[:, None]).T @ self.xa
        h[np.diag_indices_from(h)] += self.pen
        self.n_hessians += 1
        self._href = _spd_inverse(h)

    def solve_accelerated(self, idx: Any, *, memory: int = 6, max_iter: int = 200) -> F64:
        """As :meth:`solve` (no weights, same stopping rule) for a subset unrelated to the
        previous one (DVRL's random selections): the fixed-point iteration
        ``w <- w - M grad F(w)`` with the reference inverse Hessian ``M``
        (:meth:`set_reference`), accelerated by Anderson mixing over the last ``memory``
        steps (one pass over the subset's rows per step, no Hessian). Falls back to
        :meth:`solve` when it has not converged in ``max_iter`` steps or diverges."""
        if self._href is None:
            return self.solve(idx)
        idx = np.asarray(idx, dtype=np.int64)
        xs, ys = self.xa[idx], self.y01[idx]
        cs = np.full(idx.size, self.spec.C)
        hinv = self._href
        w = self.w.copy()
        dw = np.zeros((memory, w.size))  # ring buffers of the last steps and residual changes
        dff = np.zeros((memory, w.size))
        count = 0
        w_prev = f_prev = None
        best = np.inf
        for _ in range(max_iter):
            g, _ = self._grad(xs, ys, cs, w)
            f = -(hinv @ g)
            fmax = float(np.max(np.abs(f)))
            if fmax <= self.xtol * (1.0 + float(np.max(np.abs(w)))):
                self.w = w + f
                self._prev = self._cw = self._g = None  # the next solve() starts afresh
                return self.w.copy()
            if not np.isfinite(fmax) or fmax > 1e3 * best:
                break
            best = min(best, fmax)
            if w_prev is not None and f_prev is not None:
                slot = count % memory
                dw[slot] = w - w_prev
                dff[slot] = f - f_prev
                count += 1
            w_prev, f_prev = w, f
            k = min(count, memory)
            if k:
                a, b = dff[:k], dw[:k]
                gram = a @ a.T
                gram[np.diag_indices_from(gram)] *= 1.0 + 1e-12
                try:
                    gamma = np.linalg.solve(gram, a @ f)
                except np.linalg.LinAlgError:
                    gamma = np.linalg.lstsq(a.T, f, rcond=None)[0]
                w = w + f - gamma @ (b + a)
            else:
                w = w + f
        self._prev = self._cw = self._g = None
        return self.solve(idx)

    # a scikit-learn estimator with the solution ------------------------------------------
    def coef_intercept(self, w: F64) -> tuple[F64, float]:
        d = self.n_features
        b = float(w[d] * self.spec.intercept_column) if self.spec.fit_intercept else 0.0
        return w[:d].copy(), b

    def decision(self, x: F64, w: F64) -> F64:
        coef, b = self.coef_intercept(w)
        out: F64 = x @ coef + b
        return out

    def as_light(self, w: F64) -> BinaryLinearModel:
        """The solution as a :class:`BinaryLinearModel`."""
        coef, b = self.coef_intercept(w)
        return BinaryLinearModel(self.classes, coef, b)

    def as_estimator(self, template: Any, w: F64) -> Any:
        """A clone of ``template`` (a ``LogisticRegression``) carrying the solution as its
        fitted ``coef_``, ``intercept_`` and ``classes_`` (predict, predict_proba, score)."""
        from sklearn.base import clone

        model = clone(template)
        coef, b = self.coef_intercept(w)
        model.coef_ = coef[None, :]
        model.intercept_ = np.asarray([b])
        model.classes_ = self.classes.copy()
        model.n_features_in_ = self.n_features
        model.n_iter_ = np.asarray([self.n_iter], dtype=np.int32)
        return model

    def solve_many(self, weights: F64, *, max_iter: int = 100, certify: bool = False) -> F64:
        """Minimisers for many subsets at once: ``weights`` is ``(m, n)`` (each row the
        sample weights of one problem over all training rows, 0 = not in the subset; every
        row must hold both classes). Returns ``(m, n_features + 1)``.

        All problems start from the solution of the mean weights and take fixed-point steps
        ``w <- w - M grad F(w)`` with one shared inverse Hessian ``M`` (of the mean weights
        at that solution), Anderson-accelerated per problem over the last
        ``batch_memory`` steps, in matrix products over the problems; a problem that
        diverges, or has not converged after ``max_iter`` steps, is finished by
        :meth:`solve` (damped Newton). Same stopping rules as :meth:`solve` (``certify``
        included)."""
        certify = certify and self.can_certify and self._xv is not None
        weights = np.asarray(weights, dtype=np.float64)
        cw = self.spec.C * weights
        m = cw.shape[0]
        xa, y = self.xa, self.y01
        # the centre: the problem with the mean weights, and its Hessian at its solution
        rows = np.arange(cw.shape[1])
        mean_w = weights.mean(axis=0)
        centre = rows[mean_w > 0]
        w0 = self.solve(centre, mean_w[centre])
        z0 = xa @ w0
        p0 = _sigmoid(z0)
        h = (xa * (cw.mean(axis=0) * p0 * (1.0 - p0))[:, None]).T @ xa
        h[np.diag_indices_from(h)] += self.pen
        self.n_hessians += 1
        hinv = _spd_inverse(h)
        out = np.tile(w0, (m, 1))
        active = np.arange(m)
        best = np.full(m, np.inf)
        fallback: list[int] = []
        wa = out.copy()
        d1 = w0.size
        n_val = 0 if self._xv is None else self._xv.shape[0]
        positive = np.zeros((m, n_val), dtype=bool)
        certified = np.zeros(m, dtype=bool)
        mem = self.batch_memory  # Anderson mixing over the last steps of each problem
        dw = np.zeros((m, mem, d1))
        dfr = np.zeros((m, mem, d1))
        w_prev = np.zeros((m, d1))
        f_prev = np.zeros((m, d1))
        for it in range(max_iter):
            if active.size == 0:
                break
            za = wa @ xa.T
            g = wa * self.pen + (cw[active] * (_sigmoid(za) - y)) @ xa
            self.n_gradients += active.size
            gn = np.sqrt(np.einsum("ij,ij->i", g, g))
            if certify:
                assert self._xv is not None and self._xv_norm is not None
                zv = (wa - 0.5 * g) @ self._xv.T  # the ball of _certified
                ok = np.all(np.abs(zv) > 0.5 * gn[:, None] * self._xv_norm[None, :], axis=1)
                out[active[ok]] = wa[ok]
                positive[active[ok]] = zv[ok] > 0
                certified[active[ok]] = True
                self.n_certified += int(ok.sum())
            else:
                ok = np.zeros(active.size, dtype=bool)
            f = -(g @ hinv)
            done = np.max(np.abs(f), axis=1) <= self.xtol * (1.0 + np.max(np.abs(wa), axis=1))
            done &= ~ok
            out[active[done]] = wa[done] + f[done]
            bad = ~np.isfinite(gn) | (gn > 1e3 * best[active])  # diverging: one by one
            bad &= ~(ok | done)
            fallback.extend(active[bad].tolist())
            best[active] = np.minimum(best[active], gn)
            keep = ~(done | bad | ok)
            act, wk, fk = active[keep], wa[keep], f[keep]
            new = wk + fk
            if mem > 0 and it > 0 and act.size:
                slot = (it - 1) % mem
                dw[act, slot] = wk - w_prev[act]
                dfr[act, slot] = fk - f_prev[act]
                k = min(it, mem)
                a_, b_ = dfr[act, :k], dw[act, :k]
                gram = a_ @ a_.transpose(0, 2, 1)
                gram += (1e-12 * np.trace(gram, axis1=1, axis2=2) + 1e-300)[:, None, None] * \
                    np.eye(k)[None]  # fmt: skip
                try:
                    gamma = np.linalg.solve(gram, (a_ @ fk[:, :, None]))[..., 0]
                    new = new - np.einsum("qk,qkd->qd", gamma, a_ + b_)
                except np.linalg.LinAlgError:
                    pass  # a plain step this time
            w_prev[act], f_prev[act] = wk, fk
            active, wa = act, new
        fallback.extend(active.tolist())
        if fallback:
            for k in sorted(fallback):
                sel = rows[cw[k] > 0]
                self.w, self._cw, self._prev, self._g = w0.copy(), None, None, None
                out[k] = self.solve(sel, weights[k][sel], certify=certify)
                if self.last_positive is not None:
                    positive[k], certified[k] = self.last_positive, True
        self.w, self._cw, self._prev, self._g = w0, None, None, None
        self.last_positive = None
        self.last_positive_many = positive if certify and bool(np.all(certified)) else None
        return out


class BinaryLinearModel:
    """A fitted binary logistic model in NumPy (``classes_``, ``coef_``, ``intercept_``,
    ``decision_function``, ``predict_proba``, ``predict``, ``score``), computing what
    scikit-learn's ``LogisticRegression`` computes from the same coefficients without its
    per-call input checks; for the built-in metrics of the refitting methods."""

    def __init__(self, classes: Any, coef: F64, intercept: float) -> None:
        self.classes_ = classes
        self.coef_ = coef[None, :]
        self.intercept_ = np.asarray([intercept])

    def decision_function(self, x: F64) -> F64:
        out: F64 = np.asarray(x, dtype=np.float64) @ self.coef_[0] + self.intercept_[0]
        return out

    def predict_proba(self, x: F64) -> F64:
        from scipy.special import expit

        p = expit(self.decision_function(x))
        out: F64 = np.column_stack([1.0 - p, p])
        return out

    def predict(self, x: F64) -> Any:
        return self.classes_[(self.decision_function(x) > 0).astype(np.int64)]

    def score(self, x: F64, y: Any) -> float:
        return float(np.mean(self.predict(x) == np.asarray(y)))
