"""``assay.evaluate``: sliced evaluation of scored examples with confidence intervals."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from ..core.engine import Engine, resolve_engine
from ..core.finalize import finalize
from ..core.plan import DEFAULT_MAX_SLICES, DEFAULT_MIN_DENOMINATOR, Plan, ScoresArg
from ..core.result import EvalResult
from ..core.slicing import OVERALL, SliceLike
from ..io.tables import is_csv_path
from . import families as _families  # noqa: F401  (registers the built-in metric families)


def evaluate(
    data: Any,
    *,
    label: str,
    scores: ScoresArg,
    slices: SliceLike | Sequence[SliceLike] | None = None,
    task: str = "classification",
    weight: str | None = None,
    thresholds: Iterable[float] | None = None,
    score_type: Literal["probability", "logit"] = "probability",
    classes: Sequence[Any] | None = None,
    positive_label: Any = None,
    min_slice_size: int = 1,
    min_denominator: int = DEFAULT_MIN_DENOMINATOR,
    rate_interval: Literal["auto", "wilson", "jeffreys", "replicate"] = "auto",
    multiple_comparisons: Literal["bh", "holm", "none"] | None = "bh",
    max_slices: int = DEFAULT_MAX_SLICES,
    ci: Literal["jackknife", "bootstrap"] | None = "jackknife",
    n_replicates: int | None = None,
    confidence: float = 0.95,
    keep_replicates: bool | Literal["auto"] = "auto",
    spill: bool | Literal["auto"] = "auto",
    baseline: str | Mapping[str, Any] = OVERALL,
    auc: Literal["histogram", "exact"] = "histogram",
    auc_bins: int = 4096,
    calibration_bins: int = 10,
    on_invalid: Literal["raise", "drop"] = "raise",
    row_key: str | None = None,
    seed: int = 0,
    chunk_size: int = 262_144,
    na_values: Sequence[str] | None = None,
    progress: bool = False,
    engine: Literal["local", "spark"] | Engine | Any = "local",
) -> EvalResult:
    """Evaluate scored examples overall and per slice, with confidence intervals.

    Parameters
    ----------
    data
        pandas or polars DataFrame, pyarrow Table, dict of arrays, or a path to a Parquet
        file, a directory of Parquet files or a CSV file (streamed in ``chunk_size`` rows);
        a Spark DataFrame runs on Spark.
    label
        Column of true labels: 0/1, booleans, strings with ``positive_label``, or class
        values when ``classes`` is given; numbers for ``task="regression"``.
    scores
        Score column(s). One name, a list of names (one model each, compared side by side,
        with flip rates against the first), or a mapping ``{model_name: column}``. With
        ``classes``, a model's scores are one list-valued column of class probabilities or
        a list of one column per class, evaluated one-vs-rest. For regression, the
        predictions.
    slices
        Slice specs (see :mod:`assay.core.slicing`): ``"sex"``, ``("sex", "race")``,
        ``{"race": ["Black", "White"]}``. The overall slice is always included. Bin a
        numeric column first with :func:`assay.bins`.
    task
        ``"classification"`` (default: confusion rates at thresholds, AUCs, calibration,
        flip rates) or ``"regression"`` (mean squared and absolute error, R^2, mean label
        and prediction). Each task's metrics come from its metric families.
    weight
        Optional column of non-negative example weights.
    thresholds
        Decision thresholds (a row is positive when ``score > threshold``); default 0.1 ... 0.9.
    score_type
        ``"probability"`` (scores in [0, 1]) or ``"logit"`` (converted with the sigmoid, or
        the softmax across classes); thresholds are always on the probability scale.
    min_slice_size
        Slices with fewer rows are withheld: their metrics are reported as missing, and
        marked ``withheld`` with the reason.
    min_denominator
        Rates (proportions such as the false negative rate) whose denominator (positives
        for the FNR, negatives for the FPR, flagged rows for precision; weighted with
        ``weight``) is below this are withheld in that slice with the reason (default 10;
        0 keeps them all).
    rate_interval
        Interval of rates: ``"auto"`` (default) uses the Wilson score interval where the
        replicate interval is unreliable (fewer than 10 successes or failures, or a
        degenerate replicate interval) and the replicate interval elsewhere;
        ``"wilson"`` or ``"jeffreys"`` (needs SciPy) always; ``"replicate"`` never. The
        ``interval`` column says which was used. Gaps of rates with a score interval get
        Newcombe's hybrid score (MOVER) interval. See docs/evaluation.md.
    multiple_comparisons
        Adjustment of the significance of gaps across slices (the tests of one model,
        class, metric and threshold): ``"bh"`` (Benjamini-Hochberg false discovery rate,
        default), ``"holm"`` (family-wise error) or ``"none"``/``None``. ``significant``
        stays unadjusted; ``significant_adjusted`` and ``p_value_adjusted`` carry it.
    max_slices
        Most slices (over all slice specs) before the evaluation stops with an error that
        says how to bin the column (default 10,000).
    ci, n_replicates, confidence
        Interval method: delete-a-group ``"jackknife"`` (default, 20 buckets) or Poisson
        ``"bootstrap"`` (default 100 draws), or ``None``; two-sided ``confidence`` level.
    keep_replicates
        Keep every metric value's replicate values (float32) in the result, which pairing
        two separately evaluated results needs (:meth:`EvalResult.compare`): ``"auto"``
        (default) keeps them up to 16 million values (64 MB; e.g. 40,000 table rows with
        the bootstrap's 400 or 800,000 rows with the jackknife's 20) and drops them above,
        ``True`` always, ``False`` never. Intervals, significance and the paired comparison
        of models evaluated together never need them.
    spill
        Where the result table is kept: ``"auto"`` (default) in memory up to 256 MiB and,
        for larger tables (e.g. 100,000 slice values x 146 metric values, 14.6M rows),
        in a memory-mapped Arrow file in ``$ASSAY_TMPDIR`` (else the system's temporary
        folder), removed when the result is; ``True`` always on disk; ``False`` always in
        memory. The numbers are the same either way.
    baseline
        Slice every slice is compared with (default ``"overall"``): a slice name such as
        ``"sex=Male"`` or a mapping ``{"sex": "Male"}``.
    auc, auc_bins
        ``"histogram"`` computes threshold-free metrics from a score histogram with
        ``auc_bins`` bins (exact when no bin holds two distinct scores; otherwise the
        ``max_error`` column bounds the error); ``"exact"`` keeps the rows (O(rows) memory).
    calibration_bins
        Equal-width score bins of the expected calibration error.
    on_invalid
        ``"raise"`` (default) on missing or non-finite labels, scores or weights;
        ``"drop"`` drops those rows and reports how many in ``EvalResult.n_dropped``.
    row_key
        Column identifying rows; replicate assignment is hashed from it (else from the row
        position), so intervals do not depend on row order or partitioning.
    seed
        Seed of the replicate assignment.
    na_values
        Strings read as missing values in a CSV file besides the empty field (e.g.
        ``["NA", "N/A"]``). By default only the empty field is missing: ``NA`` (Namibia),
        ``null`` or ``nan`` are values (``nan`` in a score column is still NaN).
        Only for CSV paths; an error with other data.
    progress
        Show a progress bar on stderr (one line per update when not on a terminal).
    engine
        Where the rows are read: ``"local"`` (this process), ``"spark"`` (Apache Spark,
        ``assay[spark]``; a Spark DataFrame as ``data`` selects it automatically), a
        ``SparkSession`` to run on, or an engine object such as
        ``assay.engines.spark.SparkEngine(master="local[8]")`` (see docs/spark.md).
    """
    args = dict(locals())
    del args["data"], args["engine"], args["progress"]
    plan = Plan.build(args, func="evaluate")
    if plan.na_values is not None and not is_csv_path(data):
        raise ValueError(
            "The 'na_values' parameter of evaluate applies to CSV files only (paths ending "
            f"in .csv, .csv.gz or .tsv); the data is {_describe(data)}. Got "
            f"{list(plan.na_values)!r} instead."
        )
    eng = resolve_engine(engine, data, func="evaluate")
    run = eng.run(plan, data, progress=progress)
    return finalize(run.state.plan, run.state, source=run.source, seen=run.seen, release=True)


def _describe(data: Any) -> str:
    if isinstance(data, str):
        return repr(data)
    return f"a {type(data).__name__}"
