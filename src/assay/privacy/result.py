"""Comparing clusterings: normalized k-means loss and cluster-label accuracy against k.

:func:`compare_clustering` runs each method ``runs`` times for each ``k`` on the same data
and returns a :class:`ClusteringComparison` (``to_frame``, ``to_json``/``from_json``,
``to_section``, ``to_html``). The loss and accuracy are measured on the data, so they are
*not* private: they evaluate the methods, they are not outputs to publish.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._util.optional import require
from .._util.progress import Progress
from .._util.validation import param_error
from .kmeans import DPKMeans, _nearest
from .mechanisms import check_points

#: A method: ``(k, seed) -> centers`` (array ``(n_centers, n_features)``), fitted on the data
#: it closes over.
Method = Callable[[int, int], np.ndarray]


def kmeans_loss(X: Any, centers: Any) -> float:
    """Normalized k-means loss: the mean squared distance of the rows to their nearest center."""
    arr = check_points(X, func="kmeans_loss")
    c = check_points(centers, func="kmeans_loss", param="centers")
    if c.shape[1] != arr.shape[1]:
        raise param_error("centers", f"{arr.shape[1]} columns (as X)", f"{c.shape[1]} columns",
                          func="kmeans_loss")
    return float(_nearest(arr, c)[1].mean())


def dominant_label_accuracy(y_true: Any, labels: Any) -> float:
    """Cluster-label accuracy: each cluster predicts its most frequent true label; the share
    of rows whose true label is their cluster's."""
    y = np.asarray(y_true)
    lab = np.asarray(labels)
    if y.shape != lab.shape or y.ndim != 1:
        raise param_error("labels", f"a 1-D array of the length of y_true ({y.shape})",
                          f"shape {lab.shape}", func="dominant_label_accuracy")
    _, yi = np.unique(y, return_inverse=True)
    _, li = np.unique(lab, return_inverse=True)
    table = np.zeros((li.max() + 1, yi.max() + 1), dtype=np.int64)
    np.add.at(table, (li, yi), 1)
    return float(table.max(axis=1).sum() / y.size)


@dataclass
class ClusteringComparison:
    """Loss and accuracy per dataset, method, k and run; ``settings`` records how."""

    records: list[dict[str, Any]]
    settings: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> Any:
        """One row per (dataset, method, k, run): loss, accuracy, cpu_s."""
        pd = require("pandas", purpose="ClusteringComparison.to_frame")
        cols = ["dataset", "method", "k", "run", "loss", "accuracy", "cpu_s"]
        return pd.DataFrame(self.records, columns=cols)

    def summary(self) -> Any:
        """Mean and 25th/75th percentiles of loss and accuracy per dataset, method and k."""
        df = self.to_frame()
        g = df.groupby(["dataset", "method", "k"], sort=False)
        out = g.agg(loss_mean=("loss", "mean"), loss_q25=("loss", lambda s: s.quantile(0.25)),
                    loss_q75=("loss", lambda s: s.quantile(0.75)),
                    accuracy_mean=("accuracy", "mean"),
                    accuracy_q25=("accuracy", lambda s: s.quantile(0.25)),
                    accuracy_q75=("accuracy", lambda s: s.quantile(0.75)),
                    runs=("run", "count"), cpu_s=("cpu_s", "sum"))
        return out.reset_index()

    def to_json(self, path: str | Path | None = None) -> str:
        text = json.dumps({"kind": "dp_clustering", "settings": self.settings,
                           "records": self.records}, indent=1, default=_plain)
        if path is not None:
            Path(path).write_text(text)
        return text

    @classmethod
    def from_json(cls, text: str) -> ClusteringComparison:
        d = json.loads(text)
        if d.get("kind") != "dp_clustering":
            raise ValueError(f"ClusteringComparison.from_json: expected kind 'dp_clustering', "
                             f"got {d.get('kind')!r}")
        return cls(d["records"], d.get("settings", {}))

    def to_section(self) -> Any:
        sec = require("assay.report.sections", purpose="ClusteringComparison.to_section")
        s = self.summary()
        charts = []
        for ds in dict.fromkeys(s["dataset"]):
            part = s[s["dataset"] == ds]
            for metric, label in (("loss", "normalized k-means loss"),
                                  ("accuracy", "cluster-label accuracy")):
                series = [sec.Series(m, list(g["k"]), list(g[f"{metric}_mean"]),
                                     lower=list(g[f"{metric}_q25"]),
                                     upper=list(g[f"{metric}_q75"]))
                          for m, g in part.groupby("method", sort=False)]
                charts.append(sec.Chart("line", f"{ds}: {label} vs k", series, x_label="k",
                                        y_label=label, log_x=True,
                                        caption="mean over runs; band: 25th-75th percentile"))
        tables = [sec.Table.from_frame(s.round(6), "Loss and accuracy by method and k")]
        budget = self.settings.get("budget")
        if budget:
            tables.append(sec.Table("Privacy budget (DPKMeans)", list(budget[0].keys()),
                                    [list(r.values()) for r in budget]))
        eps, delta = self.settings.get("epsilon"), self.settings.get("delta")
        return sec.Section(
            "Differentially private k-means",
            summary=[f"Normalized k-means loss and cluster-label accuracy against k at "
                     f"epsilon={eps}, delta={delta}, {self.settings.get('runs')} runs per k. "
                     "Loss and accuracy are computed on the data and are not private."],
            figures={"epsilon": eps, "delta": delta},
            tables=tables, charts=charts,
            notes=[f"{k}: {v}" for k, v in self.settings.items() if k != "budget"],
            kind="privacy",
        )

    def to_html(self, path: str | Path | None = None) -> str:
        return str(self.to_section().to_html(path))


def _plain(v: Any) -> Any:
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)


def dpkmeans_method(X: np.ndarray, *, epsilon: float, delta: float, radius: float,
                    **params: Any) -> Method:
    """A :data:`Method` fitting :class:`DPKMeans` with these settings on ``X``."""

    def run(k: int, seed: int) -> np.ndarray:
        km = DPKMeans(k, epsilon=epsilon, delta=delta, radius=radius, random_state=seed,
                      **params).fit(X)
        return km.cluster_centers_

    return run


def kmeanspp_method(X: np.ndarray) -> Method:
    """A :data:`Method` fitting scikit-learn's (non-private) k-means++ on ``X``."""
    cluster = require("sklearn.cluster", "privacy")

    def run(k: int, seed: int) -> np.ndarray:
        return np.asarray(cluster.KMeans(k, init="k-means++", n_init=1, random_state=seed)
                          .fit(X).cluster_centers_)

    return run


def compare_clustering(
    X: Any, y: Any, ks: Sequence[int], methods: Mapping[str, Method], *, runs: int = 20,
    seed: int = 0, dataset: str = "", settings: Mapping[str, Any] | None = None,
    progress: bool = False,
) -> ClusteringComparison:
    """Run every method ``runs`` times per ``k`` (seeds ``seed + run``) and measure the
    normalized loss on ``X`` and the cluster-label accuracy against ``y`` (``None``: NaN)."""
    arr = check_points(X, func="compare_clustering")
    records = []
    total = len(ks) * len(methods) * runs
    with Progress(total, desc=f"clustering {dataset}", unit="fits", enabled=progress) as bar:
        for k in ks:
            for name, method in methods.items():
                for r in range(runs):
                    t0 = time.process_time()
                    centers = method(int(k), seed + r)
                    cpu = time.process_time() - t0
                    lab, d2 = _nearest(arr, np.asarray(centers, dtype=np.float64))
                    acc = dominant_label_accuracy(y, lab) if y is not None else float("nan")
                    records.append({"dataset": dataset, "method": name, "k": int(k), "run": r,
                                    "loss": float(d2.mean()), "accuracy": acc, "cpu_s": cpu})
                    bar.update(1)
    return ClusteringComparison(records, dict(settings or {}))
