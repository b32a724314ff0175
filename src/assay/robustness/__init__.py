"""Underspecification stress tests (D'Amour et al., JMLR 2022): how much of a model's
behaviour its training pipeline leaves to the random seed.

Give a training function ``train(seed) -> model`` (or trained models, or their
predictions), the iid test set and named stress sets (:class:`StressSet`: shifted,
corrupted or out-of-distribution data, with optional subgroup columns;
:class:`CounterfactualPairs`); :func:`stress_test` runs the seeds (:func:`run_sweep`: worker
processes, progress, resumable checkpoints, failing seeds recorded), evaluates every seed
on every stress test with ``assay.evaluate`` and returns an
:class:`UnderspecificationResult`: per metric and stress test the spread across seeds, its
ratio to the iid spread, rank agreement with the iid ranking, the Spearman matrix between
stress tests, and a verdict "specified" / "underspecified" from a stated test
(:func:`seed_effect_test`). See ``docs/robustness.md``.
"""

from __future__ import annotations

from .analyze import TASK_METRICS, MetricDef, analyze, stress_test
from .result import SUMMARY_COLUMNS, UnderspecificationResult
from .stats import (
    SeedEffectTest,
    Spread,
    discordant_pairs,
    holm,
    permutation_test,
    rank_changed,
    rankdata,
    seed_effect_test,
    spearman,
    spearman_matrix,
    spread,
)
from .stress import KINDS, CounterfactualPairs, StressSet, feature_schema, layout
from .sweep import SweepRun, default_predict, predict_inputs, run_sweep, seed_streams

__all__ = [
    "KINDS",
    "SUMMARY_COLUMNS",
    "TASK_METRICS",
    "CounterfactualPairs",
    "MetricDef",
    "SeedEffectTest",
    "Spread",
    "StressSet",
    "SweepRun",
    "UnderspecificationResult",
    "analyze",
    "default_predict",
    "discordant_pairs",
    "feature_schema",
    "holm",
    "layout",
    "permutation_test",
    "predict_inputs",
    "rank_changed",
    "rankdata",
    "run_sweep",
    "seed_effect_test",
    "seed_streams",
    "spearman",
    "spearman_matrix",
    "spread",
    "stress_test",
]
