"""Differentially private k-means: the LSH coreset algorithm as a scikit-learn estimator."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .._util.optional import require
from .._util.validation import param_error, param_type_error
from .accounting import NoiseParams, calibrate_noise, split_noise
from .coreset import (
    MAX_HASH_BITS,
    CountState,
    LshTree,
    SimHash,
    SumState,
    TreeParams,
    count_state,
    default_tree_params,
    grow_tree,
    merge_all,
    private_coreset,
    sum_state,
)
from .mechanisms import check_delta, check_points, check_positive, clip_to_radius, discrete_laplace

_FUNC = "DPKMeans"


def _seed_sequence(random_state: Any) -> np.random.SeedSequence:
    if isinstance(random_state, np.random.SeedSequence):
        return random_state
    if isinstance(random_state, np.random.Generator):
        return np.random.SeedSequence(int(random_state.integers(2**63)))
    if random_state is None:
        return np.random.SeedSequence()
    if isinstance(random_state, bool) or not isinstance(random_state, int | np.integer):
        raise param_type_error("random_state", "an int, a numpy Generator or None", random_state,
                               func=_FUNC)
    if int(random_state) < 0:
        raise param_error("random_state", "a non-negative int", random_state, func=_FUNC)
    return np.random.SeedSequence(int(random_state))


def _caller_stacklevel() -> int:
    """``stacklevel`` pointing at the first frame outside ``assay.privacy``, so a warning is
    attributed to the user's line (and shown for each line that triggers it)."""
    import sys

    here = __name__.rsplit(".", 1)[0]
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith(here):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def _check_opt_int(param: str, value: Any, minimum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise param_type_error(param, f"an int >= {minimum} or None", value, func=_FUNC)
    if int(value) < minimum:
        raise param_error(param, f"an int >= {minimum} or None", value, func=_FUNC)
    return int(value)


class DPKMeans:
    """Differentially private k-means by a private LSH coreset ("Practical Differentially
    Private Clustering", Google, 2021), then k-means++ on the coreset.

    Parameters
    ----------
    n_clusters : int
        Number of centers ``k``.
    epsilon, delta : float
        The privacy budget; ``epsilon > 0`` (``math.inf`` turns all noise off, for comparison
        only), ``0 < delta < 1``. Neighbouring data sets differ by one added or removed point.
    radius : float or ``"data"``
        Every point is projected onto the ball of this radius around the origin before use
        (center the data first). It must come from outside the data: ``"data"`` takes the
        largest norm of the rows, which is **not** private, and warns.
    max_depth : int, default 20
        Bits of the hash, i.e. the deepest level of the tree (the reference value, chosen
        experimentally there). The counts cost ``max_depth + 1`` discrete Laplace releases.
    min_points_in_node, min_points_in_branching_node : int or None
        A child stays in the tree if its noisy count is at least ``min_points_in_node``; a node
        branches if its noisy count is at least ``min_points_in_branching_node``. ``None``: the
        reference heuristic, ``m = max(1, min(int(10 sqrt(d) sigma / radius),
        noisy_n // (2k)))`` and ``3 m`` for branching (a leaf of ``m`` points has mean noise of
        about a tenth of the radius).
    budget_split : float or None, default None
        ``None``: calibrate one noise scale for sums and counts together with PLD accounting
        (``sigma = alpha * radius``, count noise parameter ``1 / (laplace_multiplier * alpha)``),
        as the reference does. A float ``s`` in (0, 1): give ``s * epsilon`` (and all of
        ``delta``) to the Gaussian sums and ``(1 - s) * epsilon / (max_depth + 1)`` to each
        level's counts (together exactly ``(epsilon, delta)`` by basic composition); the spent
        budget reported is dp-accounting's PLD epsilon of the same mechanisms, at most that.
    laplace_multiplier : float, default 20
        The ratio between count and sum noise when calibrating (the reference's default).
    n_init : int, default 1
        Runs of k-means++ on the coreset (post-processing; costs no budget).
    random_state : int, numpy Generator or None
        Seeds the hash, the count noise, the sum noise and k-means++ (independent streams).

    Attributes
    ----------
    cluster_centers_ : ndarray (n_centers, n_features)
        The private centers (``n_centers`` can be below ``n_clusters`` if the coreset has
        fewer points; a warning says so).
    labels_ : ndarray
        Nearest center of each training row (computed from the data: not private).
    inertia_ : float
        Sum of squared distances of the (clipped) training rows to their nearest center
        (not private).
    coreset_points_, coreset_weights_ : ndarray
        The private coreset.
    epsilon_spent_, delta_spent_ : float
        The budget spent: the ``dp-accounting`` PLD accountant's epsilon at ``delta`` for the
        run's ``DpEvent`` (``noise_.accountant`` names the accountant). ``inf`` when
        ``radius="data"`` (the radius itself is not private) or ``epsilon=inf``.
    radius_from_data_ : bool
        Whether the radius was read from the data (``radius="data"``: not private).
    noise_ : NoiseParams
        Noise scales and accounting details.
    tree_params_ : TreeParams
        The thresholds used.
    tree_ : LshTree
        The grown tree (prefixes and noisy counts per level, the leaves).
    hash_projections_ : ndarray (max_depth, n_features)
        The random projections of the hash (data-independent).
    n_features_in_ : int
    radius_ : float
    """

    def __init__(self, n_clusters: int = 8, *, epsilon: float, delta: float,
                 radius: float | str, max_depth: int = 20,
                 min_points_in_node: int | None = None,
                 min_points_in_branching_node: int | None = None,
                 budget_split: float | None = None, laplace_multiplier: float = 20.0,
                 n_init: int = 1, random_state: Any = None) -> None:
        self.n_clusters = n_clusters
        self.epsilon = epsilon
        self.delta = delta
        self.radius = radius
        self.max_depth = max_depth
        self.min_points_in_node = min_points_in_node
        self.min_points_in_branching_node = min_points_in_branching_node
        self.budget_split = budget_split
        self.laplace_multiplier = laplace_multiplier
        self.n_init = n_init
        self.random_state = random_state

    # scikit-learn's parameter protocol ------------------------------------------------
    _PARAMS = ("n_clusters", "epsilon", "delta", "radius", "max_depth", "min_points_in_node",
               "min_points_in_branching_node", "budget_split", "laplace_multiplier", "n_init",
               "random_state")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {p: getattr(self, p) for p in self._PARAMS}

    def set_params(self, **params: Any) -> DPKMeans:
        for k, v in params.items():
            if k not in self._PARAMS:
                raise ValueError(f"Invalid parameter {k!r} for estimator DPKMeans. "
                                 f"Valid parameters are: {', '.join(self._PARAMS)}.")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        return (f"DPKMeans(n_clusters={self.n_clusters!r}, epsilon={self.epsilon!r}, "
                f"delta={self.delta!r}, radius={self.radius!r})")

    # validation ---------------------------------------------------------------------
    def _validated(self) -> dict[str, Any]:
        k = self.n_clusters
        if isinstance(k, bool) or not isinstance(k, int | np.integer):
            raise param_type_error("n_clusters", "an int >= 1", k, func=_FUNC)
        if int(k) < 1:
            raise param_error("n_clusters", "an int >= 1", k, func=_FUNC)
        eps = check_positive("epsilon", self.epsilon, func=_FUNC, allow_inf=True)
        dlt = check_delta(self.delta, func=_FUNC)
        if isinstance(self.radius, str):
            if self.radius != "data":
                raise param_error("radius", "a positive float or 'data'", self.radius, func=_FUNC)
            radius: float | None = None
        else:
            radius = check_positive("radius", self.radius, func=_FUNC)
        depth = self.max_depth
        if isinstance(depth, bool) or not isinstance(depth, int | np.integer) or not (
            0 <= int(depth) <= MAX_HASH_BITS
        ):
            raise param_error("max_depth", f"an int between 0 and {MAX_HASH_BITS}", depth,
                              func=_FUNC)
        m_node = _check_opt_int("min_points_in_node", self.min_points_in_node, 1)
        m_branch = _check_opt_int("min_points_in_branching_node",
                                  self.min_points_in_branching_node, 1)
        if m_node is not None and m_branch is not None and m_branch < m_node:
            raise param_error("min_points_in_branching_node",
                              f"an int >= min_points_in_node ({m_node})", m_branch, func=_FUNC)
        split = self.budget_split
        if split is not None:
            if isinstance(split, bool) or not isinstance(split, int | float):
                raise param_type_error("budget_split", "a float in the open interval (0, 1) "
                                       "or None", split, func=_FUNC)
            if not 0.0 < float(split) < 1.0:
                raise param_error("budget_split", "a float in the open interval (0, 1) or None",
                                  split, func=_FUNC)
        mult = check_positive("laplace_multiplier", self.laplace_multiplier, func=_FUNC)
        n_init = self.n_init
        if isinstance(n_init, bool) or not isinstance(n_init, int | np.integer) or n_init < 1:
            raise param_error("n_init", "an int >= 1", n_init, func=_FUNC)
        return dict(k=int(k), eps=eps, delta=dlt, radius=radius, depth=int(depth),
                    m_node=m_node, m_branch=m_branch,
                    split=None if split is None else float(split), mult=mult,
                    n_init=int(n_init), seed=_seed_sequence(self.random_state))

    def _noise(self, v: dict[str, Any], radius: float) -> NoiseParams:
        levels = v["depth"] + 1
        if math.isinf(v["eps"]):
            return NoiseParams(0.0, math.inf, radius, levels, math.inf, 0.0, "none", "no noise")
        if v["split"] is None:
            return calibrate_noise(v["eps"], v["delta"], radius, levels, v["mult"])
        return split_noise(v["eps"], v["delta"], radius, levels, v["split"])

    # fitting ------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> DPKMeans:
        """Fit on ``X`` (n_samples, n_features). ``y`` is ignored. Returns ``self``."""
        if sample_weight is not None:
            raise param_error("sample_weight", "None (weights would change the sensitivity)",
                              "an array", func=_FUNC)
        return self.fit_partitions([X])

    def fit_partitions(self, partitions: Iterable[Any]) -> DPKMeans:
        """Fit on rows held in several partitions (arrays with the same columns).

        Each partition contributes a :class:`~assay.privacy.coreset.CountState` and a
        :class:`~assay.privacy.coreset.SumState`; they are merged by addition and noise is
        added once on the merged states, so the result equals ``fit`` on the rows stacked in
        any order, for the same ``random_state``. ``labels_`` follows the partitions' order.
        """
        v = self._validated()
        parts = [check_points(p, func=_FUNC) for p in partitions]
        if not parts:
            raise param_error("partitions", "at least one partition", "none", func=_FUNC)
        dims = {p.shape[1] for p in parts}
        if len(dims) > 1:
            raise param_error("partitions", "arrays with the same number of columns",
                              f"{sorted(dims)} columns", func=_FUNC)
        dim = dims.pop()
        clipped: list[np.ndarray] = []
        codes: list[np.ndarray] = []

        def counts_of(hasher: SimHash, radius: float) -> CountState:
            clipped.extend(clip_to_radius(p, radius) for p in parts)
            codes.extend(hasher.codes(p) for p in clipped)
            return merge_all([count_state(c, hasher.max_depth) for c in codes])

        def sums_of(hasher: SimHash, tree: LshTree, radius: float) -> SumState:
            return merge_all([sum_state(p, c, tree, radius)
                              for p, c in zip(clipped, codes, strict=True)])

        self.fit_from_states(
            dim, counts_of, sums_of,
            max_norm=lambda: max(float(np.linalg.norm(p, axis=1).max()) for p in parts),
            _validated=v,
        )
        labels, inertia = [], 0.0
        for p in clipped:
            lab, d2 = _nearest(p, self.cluster_centers_)
            labels.append(lab)
            inertia += float(d2.sum())
        self.labels_ = np.concatenate(labels)
        self.inertia_ = inertia
        return self

    def fit_from_states(
        self,
        dim: int,
        counts_of: Callable[[SimHash, float], CountState],
        sums_of: Callable[[SimHash, LshTree, float], SumState],
        *,
        max_norm: Callable[[], float] | None = None,
        _validated: dict[str, Any] | None = None,
    ) -> DPKMeans:
        """Fit from merged states computed wherever the rows are (the engine protocol).

        ``counts_of(hasher, radius)`` returns the merged :class:`CountState` of all rows
        (each partition: clip to ``radius``, ``hasher.codes``, ``count_state``);
        ``sums_of(hasher, tree, radius)`` the merged :class:`SumState` (``sum_state``);
        ``max_norm()`` the largest row norm, used only for ``radius='data'``. All noise is
        drawn here, on the merged states. ``labels_`` and ``inertia_`` are not set.
        """
        v = self._validated() if _validated is None else _validated
        radius = v["radius"]
        if radius is None:
            warnings.warn(
                "DPKMeans: radius='data' sets the radius to the largest norm of the rows. That "
                "reads the data outside the privacy budget, so the result is NOT "
                "differentially private. Pass a radius known independently of the data.",
                UserWarning, stacklevel=_caller_stacklevel(),
            )
            if max_norm is None:
                raise param_error("max_norm", "a callable when radius='data'", None, func=_FUNC)
            radius = float(max_norm())
            radius = radius if radius > 0 else 1.0
        seed_hash, seed_count, seed_sum, seed_km = v["seed"].spawn(4)
        hasher = SimHash.draw(dim, v["depth"], np.random.default_rng(seed_hash))
        counts = counts_of(hasher, radius)
        if v["k"] > counts.n:
            raise param_error("n_clusters", f"at most the number of samples ({counts.n})",
                              v["k"], func=_FUNC)
        tree, params, noise = self._tree(counts, v, radius, dim, np.random.default_rng(seed_count))
        sums = sums_of(hasher, tree, radius)
        self._finish(tree, sums, params, noise, v, radius, dim, np.random.default_rng(seed_sum),
                     seed_km)
        self.hash_projections_ = hasher.projections
        self.radius_from_data_ = v["radius"] is None
        if self.radius_from_data_:
            # The noise is the calibrated one, but the radius read the data outside the
            # budget: no finite epsilon can be claimed.
            self.epsilon_spent_ = math.inf
        return self

    def _tree(self, counts: CountState, v: dict[str, Any], radius: float, dim: int,
              rng: np.random.Generator) -> tuple[LshTree, TreeParams, NoiseParams]:
        noise = self._noise(v, radius)
        root = counts.n + int(discrete_laplace(noise.count_parameter, random_state=rng))
        params = default_tree_params(root, v["k"], dim, noise.sigma, radius, v["depth"])
        m_node = v["m_node"] if v["m_node"] is not None else params.min_points_in_node
        if v["m_branch"] is not None:
            m_branch = v["m_branch"]
        elif v["m_node"] is not None:
            m_branch = 3 * m_node
        else:
            m_branch = params.min_points_in_branching_node
        if m_branch < m_node:
            raise param_error("min_points_in_branching_node",
                              f"an int >= min_points_in_node ({m_node})", m_branch, func=_FUNC)
        params = TreeParams(m_branch, m_node, v["depth"])
        tree = grow_tree(counts, params, noise.count_parameter, root, rng)
        return tree, params, noise

    def _finish(self, tree: LshTree, sums: SumState, params: TreeParams, noise: NoiseParams,
                v: dict[str, Any], radius: float, dim: int, rng: np.random.Generator,
                seed_km: np.random.SeedSequence) -> None:
        points, weights = private_coreset(tree, sums, noise.sigma, radius, rng)
        cluster = require("sklearn.cluster", "privacy", purpose="k-means++ on the coreset")
        k = min(v["k"], points.shape[0])
        if k < v["k"]:
            warnings.warn(
                f"DPKMeans: the private coreset has {points.shape[0]} point(s), fewer than "
                f"n_clusters={v['k']}; fitting {k} center(s). Lower min_points_in_node or "
                "raise epsilon.", UserWarning, stacklevel=_caller_stacklevel(),
            )
        km_seed = int(np.random.default_rng(seed_km).integers(2**31 - 1))
        km = cluster.KMeans(n_clusters=k, init="k-means++", n_init=v["n_init"],
                            random_state=km_seed)
        km.fit(points, sample_weight=weights)
        self.cluster_centers_ = np.asarray(km.cluster_centers_, dtype=np.float64)
        self.coreset_points_ = points
        self.coreset_weights_ = weights
        self.tree_ = tree
        self.tree_params_ = params
        self.noise_ = noise
        self.epsilon_spent_ = float(noise.epsilon)
        self.delta_spent_ = float(noise.delta)
        self.radius_ = float(radius)
        self.n_features_in_ = dim

    # use ----------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "cluster_centers_"):
            raise RuntimeError("This DPKMeans instance is not fitted yet. Call 'fit' first.")

    def predict(self, X: Any) -> np.ndarray:
        """Index of the nearest center of each row of ``X`` (rows are not clipped)."""
        self._check_fitted()
        arr = check_points(X, func="DPKMeans.predict")
        if arr.shape[1] != self.n_features_in_:
            raise param_error("X", f"{self.n_features_in_} features (as in fit)",
                              f"{arr.shape[1]} features", func="DPKMeans.predict")
        return _nearest(arr, self.cluster_centers_)[0]

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        return self.fit(X).labels_

    def score(self, X: Any, y: Any = None) -> float:
        """Minus the sum of squared distances of ``X`` to the nearest center (sklearn's sign)."""
        self._check_fitted()
        arr = check_points(X, func="DPKMeans.score")
        return -float(_nearest(arr, self.cluster_centers_)[1].sum())

    def accounting_table(self) -> list[dict[str, Any]]:
        """One row per mechanism: what it releases, its noise, sensitivity and count."""
        self._check_fitted()
        nz = self.noise_
        return [
            {"mechanism": "discrete Laplace", "releases": "node counts, one release per level",
             "noise": f"parameter a={nz.count_parameter:.6g} (scale 1/a={1 / nz.count_parameter:.6g})"
             if nz.count_parameter not in (0, math.inf) else "none",
             "sensitivity": "1 (L1, per level)", "compositions": nz.levels},
            {"mechanism": "Gaussian", "releases": "leaf sums, all leaves at once",
             "noise": f"sigma={nz.sigma:.6g} per coordinate",
             "sensitivity": f"radius={nz.radius:.6g} (L2)", "compositions": 1},
            {"mechanism": f"total ({nz.accountant})", "releases": "",
             "noise": f"epsilon={nz.epsilon:.6g}, delta={nz.delta:.3g}",
             "sensitivity": "", "compositions": nz.levels + 1},
        ] + ([{"mechanism": "radius from the data (NOT private)",
               "releases": "the largest row norm, without noise",
               "noise": "none: epsilon_spent_ = inf", "sensitivity": "unbounded",
               "compositions": 1}] if getattr(self, "radius_from_data_", False) else [])


def _nearest(X: np.ndarray, centers: np.ndarray, block: int = 65536
             ) -> tuple[np.ndarray, np.ndarray]:
    """Nearest center and squared distance of each row, in blocks of rows."""
    labels = np.empty(X.shape[0], dtype=np.int64)
    d2 = np.empty(X.shape[0])
    cn = (centers**2).sum(axis=1)
    for s in range(0, X.shape[0], block):
        xb = X[s:s + block]
        dist = (xb**2).sum(axis=1)[:, None] - 2 * xb @ centers.T + cn[None, :]
        lab = dist.argmin(axis=1)
        labels[s:s + block] = lab
        d2[s:s + block] = np.maximum(dist[np.arange(xb.shape[0]), lab], 0.0)
    return labels, d2
