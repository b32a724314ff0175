"""``assay.evaluate``: sliced evaluation of scored examples with confidence intervals."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from .._util.progress import Progress
from .._util.validation import (
    check_choice,
    check_fraction,
    check_int,
    missing_column_error,
    param_error,
    param_type_error,
)
from ..io.tables import TableSource, open_source
from .finalize import assemble
from ..core.replicates import Replication, make_replication, row_hashes, splitmix64
from .result import EvalResult
from ..core.slicing import OVERALL, SliceLike, SliceSpec, parse_slices, slice_name
from .state import EvalState, Head, StateConfig

DEFAULT_THRESHOLDS: tuple[float, ...] = tuple(round(0.1 * i, 10) for i in range(1, 10))

#: ``row_key`` value that hashes each row's content (label, scores, weight, slice values)
#: instead of its position: the same on any chunking, order or partitioning. Identical
#: rows then share a replicate assignment.
ROW_CONTENT = "<row content>"

ScoresArg = str | Sequence[str] | Mapping[str, str | Sequence[str]]


def evaluate(
    data: Any,
    *,
    label: str,
    scores: ScoresArg,
    slices: SliceLike | Sequence[SliceLike] | None = None,
    weight: str | None = None,
    thresholds: Iterable[float] | None = None,
    score_type: Literal["probability", "logit"] = "probability",
    classes: Sequence[Any] | None = None,
    positive_label: Any = None,
    min_slice_size: int = 1,
    ci: Literal["jackknife", "bootstrap"] | None = "jackknife",
    n_replicates: int | None = None,
    confidence: float = 0.95,
    baseline: str | Mapping[str, Any] = OVERALL,
    auc: Literal["histogram", "exact"] = "histogram",
    auc_bins: int = 4096,
    calibration_bins: int = 10,
    on_invalid: Literal["raise", "drop"] = "raise",
    row_key: str | None = None,
    seed: int = 0,
    chunk_size: int = 262_144,
    progress: bool = False,
    state: EvalState | None = None,
    engine: Literal["local", "spark"] = "local",
    spark: Any = None,
    master: str | None = None,
) -> EvalResult:
    """Evaluate scored examples overall and per slice, with confidence intervals.

    Parameters
    ----------
    data
        pandas or polars DataFrame, pyarrow Table, dict of arrays, or a path to a Parquet
        file, a directory of Parquet files or a CSV file (streamed in ``chunk_size`` rows).
    label
        Column of true labels: 0/1, booleans, strings with ``positive_label``, or class
        values when ``classes`` is given.
    scores
        Score column(s). One name, a list of names (one model each, compared side by side,
        with flip rates against the first), or a mapping ``{model_name: column}``. With
        ``classes``, a model's scores are one list-valued column of class probabilities or
        a list of one column per class, evaluated one-vs-rest.
    slices
        Slice specs (see :mod:`assay.evaluation.slicing`): ``"sex"``, ``("sex", "race")``,
        ``{"race": ["Black", "White"]}``. The overall slice is always included.
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
    ci, n_replicates, confidence
        Interval method: delete-a-group ``"jackknife"`` (default, 20 buckets) or Poisson
        ``"bootstrap"`` (default 100 draws), or ``None``; two-sided ``confidence`` level.
    baseline
        Slice every slice is compared with (default ``"overall"``): a slice name such as
        ``"sex=Male"`` or a mapping ``{"sex": "Male"}``.
    auc, auc_bins
        ``"histogram"`` computes threshold-free metrics from a score histogram with
        ``auc_bins`` bins (exact when no bin holds two distinct scores; otherwise the
        ``max_error`` column bounds the error); ``"exact"`` keeps the rows (O(rows) memory).
    on_invalid
        ``"raise"`` (default) on missing or non-finite labels, scores or weights;
        ``"drop"`` drops those rows and reports how many in ``EvalResult.n_dropped``.
    row_key
        Column identifying rows; replicate assignment is hashed from it (else from the row
        position), so intervals do not depend on row order or partitioning.
    seed
        Seed of the replicate assignment.
    progress
        Show a progress bar on stderr.
    state
        Internal: an :class:`EvalState` to add into (used by distributed engines).
    engine, spark, master
        ``"spark"`` evaluates on Apache Spark (``assay[spark]``): per-partition states on the
        executors, merged by a tree reduction (see docs/spark.md). A Spark DataFrame as
        ``data`` selects it automatically; ``spark`` is a session to use and ``master`` a
        master URL for a new one (default ``local[*]``). On Spark ``row_key`` defaults to
        :data:`ROW_CONTENT`, so intervals do not depend on the partitioning.
    """
    check_choice("engine", engine, ["local", "spark"])
    if engine == "spark" or type(data).__module__.startswith("pyspark."):
        from ..engines.spark import evaluate_spark

        return evaluate_spark(
            data, label=label, scores=scores, slices=slices, weight=weight,
            thresholds=thresholds, score_type=score_type, classes=classes,
            positive_label=positive_label, min_slice_size=min_slice_size, ci=ci,
            n_replicates=n_replicates, confidence=confidence, baseline=baseline, auc=auc,
            auc_bins=auc_bins, calibration_bins=calibration_bins, on_invalid=on_invalid,
            row_key=row_key, seed=seed, chunk_size=chunk_size, progress=progress,
            state=state, spark=spark, master=master,
        )  # fmt: skip
    cfg = _Config.build(
        label=label, scores=scores, slices=slices, weight=weight, thresholds=thresholds,
        score_type=score_type, classes=classes, positive_label=positive_label,
        min_slice_size=min_slice_size, ci=ci, n_replicates=n_replicates,
        confidence=confidence, baseline=baseline, auc=auc, auc_bins=auc_bins,
        calibration_bins=calibration_bins, on_invalid=on_invalid, row_key=row_key,
        seed=seed, chunk_size=chunk_size,
    )  # fmt: skip
    source = open_source(data)
    cfg.check_columns(source)
    st = state if state is not None else EvalState(cfg.state_config())
    bar = Progress(
        source.total_rows if source.total_rows is not None else source.total_bytes,
        desc="evaluate",
        unit="rows" if source.total_rows is not None else "bytes",
        enabled=progress,
    )
    reader = ChunkReader(cfg)
    with bar:
        for batch in source.batches(cfg.needed_columns(), cfg.chunk_size, cfg.csv_types()):
            reader.add(st, batch)
            if source.total_rows is not None:
                bar.update(batch.num_rows)
            else:
                bar.update(position=source.bytes_read())
    return cfg.finalize(st, source.description, reader.seen)


class _Config:
    """Validated arguments of :func:`evaluate`."""

    label: str
    classes: tuple[Any, ...] | None
    models: dict[str, list[str]]
    specs: list[SliceSpec]
    weight: str | None
    thresholds: tuple[float, ...]
    score_type: str
    positive_label: Any
    min_slice_size: int
    ci: str | None
    replication: Replication
    confidence: float
    baseline: str
    auc: str
    auc_bins: int
    calibration_bins: int
    on_invalid: str
    row_key: str | None
    seed: int
    chunk_size: int

    def __init__(self) -> None:
        self.label = ""
        self.models = {}
        self.heads: list[Head] = []
        self.head_cols: list[tuple[str, list[str], int | None]] = []

    @classmethod
    def build(cls, **kw: Any) -> _Config:
        self = cls()
        if not isinstance(kw["label"], str):
            raise param_type_error("label", "a column name (str)", kw["label"])
        self.label = kw["label"]
        self.classes = _check_classes(kw["classes"])
        self.models = _parse_scores(kw["scores"], self.classes)
        self.specs = parse_slices(kw["slices"])
        w = kw["weight"]
        if w is not None and not isinstance(w, str):
            raise param_type_error("weight", "a column name (str) or None", w)
        self.weight = w
        self.thresholds = _check_thresholds(kw["thresholds"])
        self.score_type = check_choice("score_type", kw["score_type"], ["probability", "logit"])
        self.positive_label = kw["positive_label"]
        self.min_slice_size = check_int("min_slice_size", kw["min_slice_size"], minimum=1)
        self.ci = check_choice("ci", kw["ci"], ["jackknife", "bootstrap", None])
        nrep = kw["n_replicates"]
        if nrep is not None:
            nrep = check_int("n_replicates", nrep, minimum=2)
        self.replication = make_replication(self.ci, nrep)
        self.confidence = check_fraction("confidence", kw["confidence"])
        self.baseline = _baseline_name(kw["baseline"])
        self.auc = check_choice("auc", kw["auc"], ["histogram", "exact"])
        self.auc_bins = check_int("auc_bins", kw["auc_bins"], minimum=2)
        self.calibration_bins = check_int("calibration_bins", kw["calibration_bins"], minimum=1)
        self.on_invalid = check_choice("on_invalid", kw["on_invalid"], ["raise", "drop"])
        rk = kw["row_key"]
        if rk is not None and not isinstance(rk, str):
            raise param_type_error(
                "row_key", f"a column name (str), {ROW_CONTENT!r} or None", rk
            )
        self.row_key = rk
        self.seed = check_int("seed", kw["seed"], minimum=0)
        self.chunk_size = check_int("chunk_size", kw["chunk_size"], minimum=1)
        for model, cols in self.models.items():
            if self.classes is None:
                self.heads.append(Head(model))
                self.head_cols.append((model, cols, None))
            else:
                for ci_, c in enumerate(self.classes):
                    self.heads.append(Head(model, c))
                    self.head_cols.append((model, cols, ci_))
        return self

    def state_config(self) -> StateConfig:
        pairs: list[tuple[int, int]] = []
        n_cls = 1 if self.classes is None else len(self.classes)
        n_models = len(self.models)
        for m in range(1, n_models):
            for c in range(n_cls):
                pairs.append((c, m * n_cls + c))
        return StateConfig(
            heads=tuple(self.heads),
            specs=tuple(self.specs),
            thresholds=self.thresholds,
            n_bins=self.auc_bins,
            n_cal_bins=self.calibration_bins,
            auc_mode=self.auc,
            replication=self.replication,
            pairs=tuple(pairs),
        )

    def slice_columns(self) -> list[str]:
        out: list[str] = []
        for spec in self.specs:
            for c in spec.columns:
                if c not in out:
                    out.append(c)
        return out

    def needed_columns(self) -> list[str]:
        cols = [self.label]
        for mc in self.models.values():
            cols += mc
        if self.weight:
            cols.append(self.weight)
        if self.row_key and self.row_key != ROW_CONTENT:
            cols.append(self.row_key)
        cols += self.slice_columns()
        return list(dict.fromkeys(cols))

    def csv_types(self) -> dict[str, pa.DataType]:
        types: dict[str, pa.DataType] = {c: pa.string() for c in self.slice_columns()}
        if self.classes is None:
            for mc in self.models.values():
                for c in mc:
                    types[c] = pa.float64()
        if self.weight:
            types[self.weight] = pa.float64()
        return types

    def check_columns(self, source: TableSource) -> None:
        avail = source.columns
        checks: list[tuple[str, str]] = [("label", self.label)]
        checks += [("score", c) for mc in self.models.values() for c in mc]
        if self.weight:
            checks.append(("weight", self.weight))
        if self.row_key and self.row_key != ROW_CONTENT:
            checks.append(("row_key", self.row_key))
        checks += [("slice", c) for c in self.slice_columns()]
        for kind, name in checks:
            if name not in avail:
                raise missing_column_error(kind, name, avail)

    def finalize(self, st: EvalState, description: str, seen: int) -> EvalResult:
        if seen == 0:
            raise ValueError("The 'data' parameter of evaluate must hold at least one row. Got 0.")
        if st.n_rows == 0:
            raise ValueError(
                f"All {seen} rows were dropped as invalid (on_invalid='drop'); nothing to evaluate."
            )
        table, slices = assemble(
            st,
            min_slice_size=self.min_slice_size,
            confidence=self.confidence,
            baseline=self.baseline,
        )
        config = {
            "label": self.label,
            "scores": self.models,
            "classes": None if self.classes is None else list(self.classes),
            "positive_label": self.positive_label,
            "weight": self.weight,
            "slices": [s.name for s in self.specs],
            "thresholds": list(self.thresholds),
            "score_type": self.score_type,
            "min_slice_size": self.min_slice_size,
            "ci": self.replication.config(),
            "confidence": self.confidence,
            "baseline": self.baseline,
            "auc": self.auc,
            "auc_bins": self.auc_bins,
            "calibration_bins": self.calibration_bins,
            "seed": self.seed,
            "row_key": self.row_key,
        }
        return EvalResult(
            table,
            slices,
            config=config,
            n_rows=st.n_rows,
            n_dropped=st.n_dropped,
            source=description,
        )


def _check_classes(classes: Any) -> tuple[Any, ...] | None:
    if classes is None:
        return None
    if isinstance(classes, str) or not isinstance(classes, Sequence | np.ndarray):
        raise param_type_error("classes", "a list of at least two class values or None", classes)
    out = tuple(c.item() if isinstance(c, np.generic) else c for c in classes)
    if len(out) < 2 or len(set(out)) != len(out):
        raise param_error("classes", "a list of at least two distinct class values", classes)
    return out


def _parse_scores(scores: Any, classes: tuple[Any, ...] | None) -> dict[str, list[str]]:
    expected = "a column name, a list of column names, or a mapping {model: column(s)}"
    if isinstance(scores, str):
        models: dict[str, list[str]] = {scores: [scores]}
    elif isinstance(scores, Mapping):
        models = {}
        for k, v in scores.items():
            if not isinstance(k, str):
                raise param_type_error("scores", expected, scores)
            if isinstance(v, str):
                models[k] = [v]
            elif isinstance(v, Sequence) and v and all(isinstance(c, str) for c in v):
                models[k] = list(v)
            else:
                raise param_type_error("scores", expected, scores)
    elif isinstance(scores, Sequence) and scores and all(isinstance(c, str) for c in scores):
        if classes is not None and len(scores) == len(classes) and len(scores) > 1:
            models = {"model": list(scores)}
        else:
            models = {c: [c] for c in scores}
    else:
        raise param_type_error("scores", expected, scores)
    if not models:
        raise param_error("scores", expected, scores)
    for m, cols in models.items():
        if classes is None and len(cols) != 1:
            raise ValueError(
                f"Model {m!r} in 'scores' lists {len(cols)} columns, but without 'classes' "
                "each model has exactly one score column."
            )
        if classes is not None and len(cols) not in (1, len(classes)):
            raise ValueError(
                f"Model {m!r} in 'scores' lists {len(cols)} columns; with {len(classes)} "
                "classes give one list-valued column or one column per class."
            )
    return models


def _check_thresholds(thresholds: Any) -> tuple[float, ...]:
    if thresholds is None:
        return DEFAULT_THRESHOLDS
    if isinstance(thresholds, str | bytes):
        raise param_type_error("thresholds", "a list of floats in [0, 1]", thresholds)
    try:
        arr = np.asarray(list(thresholds), dtype=np.float64)
    except (TypeError, ValueError):
        raise param_type_error("thresholds", "a list of floats in [0, 1]", thresholds) from None
    if arr.ndim != 1 or arr.size == 0:
        raise param_error("thresholds", "a non-empty list of floats in [0, 1]", thresholds)
    if not np.all(np.isfinite(arr)) or arr.min() < 0.0 or arr.max() > 1.0:
        raise param_error(
            "thresholds",
            "a list of floats in [0, 1] (thresholds apply to probabilities; logits are "
            "converted with score_type='logit')",
            list(thresholds) if not isinstance(thresholds, list) else thresholds,
        )
    if np.unique(arr).size != arr.size:
        raise param_error("thresholds", "a list of distinct floats", list(arr))
    return tuple(float(t) for t in np.sort(arr))


def _baseline_name(baseline: Any) -> str:
    if isinstance(baseline, str):
        return baseline
    if isinstance(baseline, Mapping):
        spec = parse_slices([baseline])[-1]
        key = tuple(v[0] if v is not None and len(v) == 1 else None for v in spec.values)
        if any(k is None for k in key):
            raise param_error("baseline", "a mapping of each column to one value", baseline)
        return slice_name(spec, key)
    raise param_type_error("baseline", "a slice name (str) or a mapping {column: value}", baseline)


def _key_hashes(arr: pa.Array) -> NDArray[np.uint64]:
    """Stable 64-bit keys for the values of a row-key column."""
    if arr.null_count:
        raise ValueError("The row_key column must not contain missing values.")
    if pa.types.is_integer(arr.type):
        return np.asarray(arr.to_numpy(zero_copy_only=False)).astype(np.uint64)
    enc = pc.dictionary_encode(arr)
    uniq = enc.dictionary.to_pylist()
    lookup = np.array(
        [
            int.from_bytes(hashlib.blake2b(repr(v).encode(), digest_size=8).digest(), "little")
            for v in uniq
        ],
        dtype=np.uint64,
    )
    return lookup[np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)]


def _column_hashes(arr: pa.Array | pa.ChunkedArray) -> NDArray[np.uint64]:
    """A 64-bit hash of each value of a column (nulls hash to a fixed value)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    t = arr.type
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        # Hash each element with its position, then combine per row.
        flat = pc.list_flatten(arr)
        parents = np.asarray(
            pc.list_parent_indices(arr).to_numpy(zero_copy_only=False), dtype=np.int64
        )
        lengths = np.asarray(
            pc.list_value_length(arr).fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64
        )
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        pos = (np.arange(parents.size, dtype=np.int64) - starts[parents]).astype(np.uint64)
        with np.errstate(over="ignore"):
            elem = splitmix64(_column_hashes(flat) ^ splitmix64(pos))
            out = np.zeros(len(arr), dtype=np.uint64)
            np.add.at(out, parents, elem)
            out = splitmix64(out ^ lengths.astype(np.uint64))
    elif pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_boolean(t):
        v = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)
        v = np.where(v == 0.0, 0.0, v)  # -0.0 and 0.0 hash alike
        out = splitmix64(np.ascontiguousarray(v).view(np.uint64))
    else:
        enc = pc.dictionary_encode(arr)
        uniq = enc.dictionary.to_pylist()
        lookup = np.array(
            [int.from_bytes(hashlib.blake2b(repr(u).encode(), digest_size=8).digest(), "little")
             for u in uniq] or [0],
            dtype=np.uint64,
        )  # fmt: skip
        idx = np.asarray(enc.indices.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
        out = lookup[idx]
    if arr.null_count:
        out = np.where(
            np.asarray(arr.is_null().to_numpy(zero_copy_only=False)), np.uint64(0x5BD1E995), out
        )
    return out


def content_hashes(batch: pa.RecordBatch, columns: Sequence[str]) -> NDArray[np.uint64]:
    """Stable per-row keys from the values of ``columns`` (see :data:`ROW_CONTENT`)."""
    h = np.zeros(batch.num_rows, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for c in columns:
            h = splitmix64(h ^ _column_hashes(batch.column(c)))
    return h


def _to_numpy_float(arr: pa.Array) -> NDArray[np.float64]:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if not (pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type)
            or pa.types.is_boolean(arr.type) or pa.types.is_null(arr.type)):  # fmt: skip
        raise TypeError(f"expected numbers, got values of type {arr.type}")
    out = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)
    if arr.null_count:
        out = out.copy()
        out[np.asarray(arr.is_null().to_numpy(zero_copy_only=False))] = np.nan
    return out


def _sigmoid(x: NDArray[np.float64]) -> NDArray[np.float64]:
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


class ChunkReader:
    """Validates one record batch and adds it to a state."""

    def __init__(self, cfg: _Config) -> None:
        self.cfg = cfg
        self.seen = 0
        self.label_values: set[Any] = set()

    def _labels(self, arr: pa.Array) -> tuple[list[NDArray[np.int8]], NDArray[np.bool_]]:
        cfg = self.cfg
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        invalid = np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        if cfg.classes is not None:
            values = arr.to_numpy(zero_copy_only=False)
            if pa.types.is_floating(arr.type):
                invalid |= ~np.isfinite(np.asarray(values, dtype=np.float64))
            known = np.isin(values, np.array(list(cfg.classes)).astype(values.dtype))
            bad = ~known & ~invalid
            if bad.any():
                found = sorted({str(v) for v in values[bad]})[:5]
                raise ValueError(
                    f"The label column {cfg.label!r} holds values that are not in 'classes' "
                    f"{list(cfg.classes)}: {', '.join(found)}."
                )
            ys = [np.asarray(values == c, dtype=np.int8) for c in cfg.classes]
            return ys, invalid
        if pa.types.is_boolean(arr.type):
            y = np.asarray(arr.fill_null(False).to_numpy(zero_copy_only=False), dtype=np.int8)
        elif pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type):
            v = _to_numpy_float(arr)
            invalid |= ~np.isfinite(v)
            if cfg.positive_label is not None:
                y = np.asarray(v == float(cfg.positive_label), dtype=np.int8)
                self._check_two_values(np.unique(v[~invalid]).tolist())
            else:
                ok = (v == 0) | (v == 1) | invalid
                if not ok.all():
                    found = np.unique(v[~ok])[:5].tolist()
                    raise ValueError(
                        f"The label column {cfg.label!r} must hold binary labels (0/1 or "
                        f"booleans); it also holds {found}. For multi-class labels pass "
                        "'classes'; for other label values pass 'positive_label'."
                    )
                y = np.where(invalid, 0, v).astype(np.int8)
        elif pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            if cfg.positive_label is None:
                sample = pc.unique(arr.drop_null()).to_pylist()[:5]
                raise ValueError(
                    f"The label column {cfg.label!r} holds strings ({sample}); pass "
                    "'positive_label' to say which value is the positive class."
                )
            self._check_two_values(pc.unique(arr.drop_null()).to_pylist())
            y = np.asarray(
                pc.equal(arr, pa.scalar(str(cfg.positive_label))).fill_null(False).to_numpy(
                    zero_copy_only=False
                ),
                dtype=np.int8,
            )
        else:
            raise TypeError(
                f"The label column {cfg.label!r} must hold 0/1 numbers, booleans or strings. "
                f"Got values of type {arr.type} instead."
            )
        return [y], invalid

    def check_label_values(self, values: list[Any]) -> None:
        """Raise unless ``values`` (with those seen before) are at most two label values."""
        self._check_two_values(values)

    def _check_two_values(self, values: list[Any]) -> None:
        self.label_values.update(values)
        if len(self.label_values) > 2:
            found = sorted(str(v) for v in self.label_values)[:5]
            raise ValueError(
                f"The label column {self.cfg.label!r} must hold binary labels; it holds more "
                f"than two values: {', '.join(found)}. For multi-class labels pass 'classes'."
            )

    def _scores(self, batch: pa.RecordBatch, n: int) -> tuple[list[NDArray[np.float64]], NDArray[np.bool_]]:
        cfg = self.cfg
        invalid = np.zeros(n, dtype=bool)
        out: list[NDArray[np.float64]] = []
        per_model: dict[str, NDArray[np.float64]] = {}
        for model, cols in cfg.models.items():
            if len(cols) == 1 and cfg.classes is not None:
                arr = batch.column(cols[0])
                if not (pa.types.is_list(arr.type) or pa.types.is_fixed_size_list(arr.type)
                        or pa.types.is_large_list(arr.type)):  # fmt: skip
                    raise TypeError(
                        f"The score column {cols[0]!r} must hold one list of {len(cfg.classes)} "
                        f"class probabilities per row. Got values of type {arr.type} instead."
                    )
                lengths = np.asarray(pc.list_value_length(arr).fill_null(0).to_numpy(zero_copy_only=False))
                null_rows = np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
                if np.any((lengths != len(cfg.classes)) & ~null_rows):
                    raise ValueError(
                        f"The score column {cols[0]!r} must hold {len(cfg.classes)} class "
                        f"probabilities per row; found lists of length "
                        f"{sorted(set(lengths[~null_rows].tolist()))[:5]}."
                    )
                flat = _to_numpy_float(pc.list_flatten(arr.fill_null(
                    pa.scalar([0.0] * len(cfg.classes), arr.type))))
                mat = flat.reshape(n, len(cfg.classes)).copy()
                mat[null_rows] = np.nan
            else:
                mat = np.column_stack([self._score_col(batch, c) for c in cols])
            invalid |= ~np.isfinite(mat).all(axis=1)
            if cfg.score_type == "logit":
                if mat.shape[1] == 1:
                    mat = _sigmoid(np.nan_to_num(mat))
                else:
                    z = np.nan_to_num(mat)
                    z = np.exp(z - z.max(axis=1, keepdims=True))
                    mat = z / z.sum(axis=1, keepdims=True)
            else:
                finite = np.where(np.isfinite(mat), mat, 0.5)
                lo, hi = float(finite.min()), float(finite.max())
                if lo < 0.0 or hi > 1.0:
                    raise ValueError(
                        f"The score column(s) {cols} of model {model!r} hold values outside "
                        f"[0, 1] (min {lo:g}, max {hi:g}) but score_type='probability'. Pass "
                        "score_type='logit' for logits or other unbounded scores."
                    )
            per_model[model] = mat
        for model, _cols, ci_ in cfg.head_cols:
            mat = per_model[model]
            out.append(np.ascontiguousarray(mat[:, 0 if ci_ is None else ci_]))
        return out, invalid

    def _score_col(self, batch: pa.RecordBatch, col: str) -> NDArray[np.float64]:
        try:
            return _to_numpy_float(batch.column(col))
        except TypeError:
            raise TypeError(
                f"The score column {col!r} must hold numbers. Got values of type "
                f"{batch.column(col).type} instead."
            ) from None

    def add(self, st: EvalState, batch: pa.RecordBatch) -> None:
        cfg = self.cfg
        n = batch.num_rows
        start = self.seen
        self.seen += n
        if n == 0:
            return
        ys, invalid = self._labels(batch.column(cfg.label))
        ss, bad_s = self._scores(batch, n)
        reasons = [("label", invalid.copy()), ("score", bad_s)]
        invalid |= bad_s
        if cfg.weight:
            try:
                w = _to_numpy_float(batch.column(cfg.weight))
            except TypeError:
                raise TypeError(
                    f"The weight column {cfg.weight!r} must hold numbers. Got values of type "
                    f"{batch.column(cfg.weight).type} instead."
                ) from None
            bad_w = ~np.isfinite(w)
            if np.any(w[~bad_w] < 0):
                first = int(np.flatnonzero((w < 0) & ~bad_w)[0])
                raise ValueError(
                    f"The weight column {cfg.weight!r} must hold non-negative weights; row "
                    f"{start + first} has weight {w[first]:g}."
                )
            reasons.append(("weight", bad_w))
            invalid |= bad_w
        else:
            w = np.ones(n)
        if cfg.row_key == ROW_CONTENT:
            keys = content_hashes(batch, cfg.needed_columns())
        elif cfg.row_key:
            keys = _key_hashes(batch.column(cfg.row_key))
        else:
            keys = np.arange(start, start + n, dtype=np.uint64)
        if invalid.any():
            if cfg.on_invalid == "raise":
                first = int(np.flatnonzero(invalid)[0])
                what = next(r for r, m in reasons if m[first])
                raise ValueError(
                    f"Found {int(invalid.sum())} row(s) with a missing or non-finite {what} "
                    f"in this chunk (first at row {start + first}). Clean the data or pass "
                    "on_invalid='drop' to drop such rows and report how many were dropped."
                )
            keep = ~invalid
            st.n_dropped += int(invalid.sum())
            ys = [y[keep] for y in ys]
            ss = [s[keep] for s in ss]
            w = w[keep]
            keys = keys[keep]
            batch = batch.filter(pa.array(keep))
        ys_h = [ys[0] if cfg.classes is None else ys[ci_ or 0] for _, _, ci_ in cfg.head_cols]
        slice_cols = {c: batch.column(c) for c in cfg.slice_columns()}
        st.update(
            y=ys_h,
            s=ss,
            w=w,
            hashes=row_hashes(keys, cfg.seed),
            slice_columns=slice_cols,
        )
