"""``EvalResult``: the one result object of a sliced evaluation."""

from __future__ import annotations

import base64
import datetime
import decimal
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from .._util.files import write_text_atomic
from .._util.optional import require
from . import catalogue

#: Tables up to this many rows answer :meth:`EvalResult.value` from a dictionary index
#: built on first use; larger ones (which would need gigabytes of Python objects) scan the
#: slice column's codes per query.
INDEX_ROWS = 2_000_000

#: Name and version of the JSON layout written by :meth:`EvalResult.to_json`.
SCHEMA_NAME = "assay.EvalResult"
SCHEMA_VERSION = 1

#: Arrow type of the tidy table's label columns (model, class, slice, metric, ...): a
#: dictionary of strings, since each value repeats over many rows (a slice over every
#: metric and threshold). ``to_frame`` gives plain strings.
LABEL = pa.dictionary(pa.int32(), pa.string())

#: Columns of the tidy table, in order, with their Arrow types.
COLUMNS: dict[str, pa.DataType] = {
    "model": LABEL,
    "class": LABEL,
    "feature": LABEL,
    "slice": LABEL,
    "metric": LABEL,
    "threshold": pa.float64(),
    "value": pa.float64(),
    "lower": pa.float64(),
    "upper": pa.float64(),
    "count": pa.int64(),
    "withheld": pa.bool_(),
    "max_error": pa.float64(),
    "diff": pa.float64(),
    "diff_lower": pa.float64(),
    "diff_upper": pa.float64(),
    "ratio": pa.float64(),
    "ratio_lower": pa.float64(),
    "ratio_upper": pa.float64(),
    "significant": pa.bool_(),
    "denominator": pa.float64(),
    "interval": LABEL,
    "p_value": pa.float64(),
    "p_value_adjusted": pa.float64(),
    "significant_adjusted": pa.bool_(),
    "note": LABEL,
}
RESULT_SCHEMA = pa.schema(list(COLUMNS.items()))

#: Columns added after the first release of schema version 1: results written before
#: them read with these defaults.
_ADDED_DEFAULTS: dict[str, Any] = {
    "denominator": None,
    "interval": None,
    "p_value": None,
    "p_value_adjusted": None,
    "significant_adjusted": False,
    "note": None,
}

#: Columns of the paired model comparison table (:meth:`EvalResult.model_comparison`):
#: one row per compared model x class x slice x metric x threshold; ``diff`` is
#: ``value - reference_value`` with its interval from the paired replicates.
COMPARISON_COLUMNS: dict[str, pa.DataType] = {
    "model": LABEL,
    "reference": LABEL,
    "class": LABEL,
    "feature": LABEL,
    "slice": LABEL,
    "metric": LABEL,
    "threshold": pa.float64(),
    "value": pa.float64(),
    "reference_value": pa.float64(),
    "diff": pa.float64(),
    "diff_lower": pa.float64(),
    "diff_upper": pa.float64(),
    "p_value": pa.float64(),
    "significant": pa.bool_(),
    "p_value_adjusted": pa.float64(),
    "significant_adjusted": pa.bool_(),
}
COMPARISON_SCHEMA = pa.schema(list(COMPARISON_COLUMNS.items()))

#: What a family of tests is for the multiple-comparison adjustment.
ADJUSTMENT_FAMILY = (
    "all slices (every slice feature) of one model, class, metric and threshold; "
    "tests with no p-value (withheld, undefined, zero-width intervals, the baseline "
    "itself) are not counted"
)


def add_adjusted(
    table: pa.Table, method: str, confidence: float, groups: NDArray[np.int64] | None = None
) -> pa.Table:
    """``table`` with ``p_value_adjusted`` and ``significant_adjusted`` computed by
    ``method`` (``"bh"``, ``"holm"``, ``"none"``) within each family of tests
    (:data:`ADJUSTMENT_FAMILY`; for the model comparison also per reference model).
    ``significant_adjusted`` needs the unadjusted ``significant`` too, so it never marks a
    gap whose interval includes 0. ``groups`` (one integer per row, equal within a family)
    saves computing the families from the key columns."""
    from .stats import adjust_pvalues

    if table.num_rows == 0:
        return table
    keys = ["model", "class", "metric", "threshold"]
    if "reference" in table.column_names:
        keys.insert(1, "reference")
    if groups is None:
        groups = _group_codes(table, keys)
    p = table.column("p_value").to_numpy(zero_copy_only=False).astype(np.float64)
    adj = adjust_pvalues(p, method, groups)
    sig = table.column("significant").to_numpy(zero_copy_only=False).astype(bool)
    with np.errstate(invalid="ignore"):
        sig_adj = sig & (adj < 1.0 - confidence)
    i = table.column_names.index("p_value_adjusted")
    table = table.set_column(i, "p_value_adjusted", pa.array(adj, type=pa.float64()))
    i = table.column_names.index("significant_adjusted")
    return table.set_column(i, "significant_adjusted", pa.array(sig_adj, type=pa.bool_()))


def plain_labels(table: pa.Table) -> pa.Table:
    """``table`` with its dictionary-encoded label columns as plain strings."""
    for i, f in enumerate(table.schema):
        if pa.types.is_dictionary(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(f.type.value_type))
    return table


def _group_codes(table: pa.Table, keys: list[str]) -> NDArray[np.int64]:
    """One integer per row, equal exactly when the rows agree on every column of ``keys``
    (nulls form their own group; floats compared by value)."""
    import pyarrow.compute as pc

    codes = np.zeros(table.num_rows, dtype=np.int64)
    for k in keys:
        col = table.column(k)
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        enc = pc.dictionary_encode(col.combine_chunks(), null_encoding="encode")
        idx = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        n = max(1, len(enc.dictionary))
        _, codes = np.unique(codes * n + idx, return_inverse=True)
        codes = codes.reshape(-1).astype(np.int64)
    return codes


@dataclass
class SliceInfo:
    """One slice: its feature (spec), display name, values, size and withheld status."""

    feature: str
    slice: str
    key: dict[str, Any]
    count: int
    weighted_count: float
    withheld: bool
    reason: str | None


#: Renderers of a result (``"html"``, ``"model_card"``, ``"repr_html"``), registered by
#: :mod:`assay.report` when it is imported (``import assay`` does). The result never
#: imports the report.
Renderer = Callable[..., str]
_RENDERERS: dict[str, Renderer] = {}


def register_renderer(kind: str, fn: Renderer) -> None:
    """Make ``fn(result, ...)`` the renderer of ``kind`` (used by ``assay.report``)."""
    _RENDERERS[kind] = fn


def _renderer(kind: str) -> Renderer:
    fn = _RENDERERS.get(kind)
    if fn is None:
        raise RuntimeError(
            f"No {kind!r} renderer is registered; import assay.report (import assay does)."
        )
    return fn


@dataclass(frozen=True)
class MetricValue:
    """One metric of one slice: value, interval and comparison with the baseline."""

    value: float
    lower: float
    upper: float
    count: int
    withheld: bool
    diff: float
    diff_lower: float
    diff_upper: float
    ratio: float
    significant: bool
    max_error: float
    #: Significance after the multiple-comparison adjustment across slices
    #: (``config["multiple_comparisons"]``); ``significant`` is the unadjusted flag.
    significant_adjusted: bool = False
    p_value: float = math.nan
    p_value_adjusted: float = math.nan
    #: Interval method of this value: ``"jackknife"``, ``"bootstrap"``, ``"wilson"``,
    #: ``"jeffreys"`` or ``None``.
    interval: str | None = None
    #: Denominator of a rate (weighted), NaN for other metrics.
    denominator: float = math.nan
    #: Why the value is withheld, undefined or not tested (``None`` when none applies).
    note: str | None = None

    def __float__(self) -> float:
        return self.value


class EvalResult:
    """Metrics per model, slice, metric and threshold, with intervals.

    Use :meth:`to_frame` (pandas) or :meth:`to_arrow` for the tidy table (one row per
    model x class x slice x metric x threshold), :meth:`value` for one number,
    :meth:`to_json` / :meth:`from_json` to save and load.
    """

    def __init__(
        self,
        table: dict[str, NDArray[Any]] | pa.Table,
        slices: Sequence[SliceInfo],
        *,
        config: dict[str, Any],
        n_rows: int,
        n_dropped: int = 0,
        source: str = "",
        comparisons: pa.Table | None = None,
        replicates: NDArray[np.float32] | None = None,
    ) -> None:
        if isinstance(table, pa.Table):
            self._table = table if table.schema == RESULT_SCHEMA else table.cast(RESULT_SCHEMA)
        else:
            n = len(table["model"])
            full = {c: table[c] if c in table else np.array([_ADDED_DEFAULTS[c]] * n)
                    for c in COLUMNS}
            self._table = pa.table(
                {c: pa.array(list(full[c]) if full[c].dtype == object else full[c], type=t,
                             from_pandas=True)
                 for c, t in COLUMNS.items()}
            )
        self.slices = list(slices)
        self.config = config
        self.n_rows = n_rows
        self.n_dropped = n_dropped
        self.source = source
        comps = comparisons if comparisons is not None else COMPARISON_SCHEMA.empty_table()
        self._comparisons = (
            comps if comps.schema == COMPARISON_SCHEMA else comps.cast(COMPARISON_SCHEMA)
        )
        #: Replicate values of each row of the tidy table ``(rows, R)`` (NaN where
        #: withheld), kept in memory for :meth:`compare`; not written to JSON.
        self.replicates = replicates
        #: Why :attr:`replicates` is ``None`` although the evaluation had replicates
        #: (``keep_replicates``), for :meth:`compare`'s message; ``None`` otherwise.
        self.replicates_dropped: str | None = None
        #: Catalogue entries read with the result (``from_json``): what each metric is,
        #: also for metrics this version's catalogue does not know.
        self.catalogue_info: dict[str, dict[str, Any]] = {}
        self._index: dict[tuple[Any, ...], int] | None = None
        self._metrics: list[str] | None = None

    # ---------------------------------------------------------------- access
    @property
    def models(self) -> list[str]:
        return list(self.config["scores"])

    @property
    def metrics(self) -> list[str]:
        import pyarrow.compute as pc

        if self._metrics is None:
            seen: dict[str, None] = {}
            for chunk in self._table.column("metric").chunks:  # dictionary-encoded
                u = pc.unique(chunk)  # first-occurrence order, decoded per chunk only
                for m in u.dictionary.take(u.indices).to_pylist():
                    seen.setdefault(str(m), None)
            self._metrics = list(seen)
        return list(self._metrics)

    @property
    def thresholds(self) -> list[float]:
        return list(self.config["thresholds"])

    @property
    def withheld_slices(self) -> list[SliceInfo]:
        return [s for s in self.slices if s.withheld]

    def to_arrow(self) -> pa.Table:
        """The tidy metric table as a pyarrow Table (label columns as plain strings; the
        result itself holds them dictionary-encoded)."""
        return plain_labels(self._table)

    def to_frame(self) -> Any:
        """The tidy metric table as a pandas DataFrame (needs ``assay[pandas]``)."""
        require("pandas", "pandas", purpose="EvalResult.to_frame")
        return plain_labels(self._table).to_pandas()

    def slices_frame(self) -> Any:
        """One row per slice: feature, name, size, weighted size, withheld and why."""
        pd = require("pandas", "pandas", purpose="EvalResult.slices_frame")
        return pd.DataFrame([asdict(s) for s in self.slices])

    def value(
        self,
        metric: str,
        *,
        slice: str | Mapping[str, Any] = "overall",
        threshold: float | None = None,
        model: str | None = None,
        cls: Any = None,
    ) -> MetricValue:
        """One metric of one slice (and threshold, for threshold metrics).

        ``slice`` is a slice name (``"sex=Female"``, ``"sex=Female, race=Black"``; see
        :func:`assay.core.slicing.slice_name` for how values that could be misread are
        quoted) or the slice's key, a mapping ``{column: value}`` (``{"sex": None}`` is the
        slice of missing values, ``{}`` the overall slice)."""
        model = self.models[0] if model is None else model
        if model not in self.models:
            raise ValueError(f"Unknown model {model!r}; the result has {self.models}.")
        if metric not in self.metrics:
            raise ValueError(f"Unknown metric {metric!r}; the result has {self.metrics}.")
        slice = self._slice_name(slice)
        c = None if cls is None else str(cls)
        tk = None if threshold is None else round(float(threshold), 9)
        pos = self._row_of((model, c, slice, metric, tk))
        if pos is None:
            raise ValueError(
                f"No value for metric {metric!r} at threshold {threshold!r}"
                + (f" for class {cls!r}" if cls is not None else "")
                + f"; thresholds are {self.thresholds} (None for threshold-free metrics)."
            )
        row = {k: self._table.column(k)[pos].as_py() for k in COLUMNS}
        f = {k: (math.nan if row[k] is None else row[k]) for k in row}
        return MetricValue(
            value=f["value"], lower=f["lower"], upper=f["upper"], count=int(row["count"]),
            withheld=bool(row["withheld"]), diff=f["diff"], diff_lower=f["diff_lower"],
            diff_upper=f["diff_upper"], ratio=f["ratio"], significant=bool(row["significant"]),
            max_error=f["max_error"], significant_adjusted=bool(row["significant_adjusted"]),
            p_value=f["p_value"], p_value_adjusted=f["p_value_adjusted"],
            interval=row["interval"], denominator=f["denominator"], note=row["note"],
        )  # fmt: skip

    def _row_of(self, key: tuple[Any, ...]) -> int | None:
        """Row of ``(model, class, slice, metric, rounded threshold)`` in the table: from a
        dictionary index up to :data:`INDEX_ROWS` rows; above, by scanning the slice
        column's dictionary codes (a large table is not turned into Python objects)."""
        if self._table.num_rows <= INDEX_ROWS:
            if self._index is None:
                cols = [self._table.column(c).to_pylist() for c in
                        ("model", "class", "slice", "metric", "threshold")]  # fmt: skip
                self._index = {}
                for i, (m, c, s, me, t) in enumerate(zip(*cols, strict=True)):
                    tk = None if t is None or math.isnan(t) else round(t, 9)
                    self._index[(m, c, s, me, tk)] = i
            return self._index.get(key)
        import pyarrow.compute as pc

        model, cls, name, metric, tk = key
        offset = 0
        for batch in self._table.select(["model", "class", "slice", "metric", "threshold"]
                                        ).to_batches():  # fmt: skip
            col = batch.column(2)
            code = pc.index(col.dictionary, name).as_py()
            if code >= 0:
                hits = np.flatnonzero(col.indices.to_numpy(zero_copy_only=False) == code)
                for i in hits.tolist():
                    m, c, _, me, t = (batch.column(k)[i].as_py() for k in range(5))
                    tt = None if t is None or math.isnan(t) else round(t, 9)
                    if (m, c, me, tt) == (model, cls, metric, tk):
                        return offset + i
            offset += batch.num_rows
        return None

    def _slice_name(self, slice: Any) -> str:
        if isinstance(slice, Mapping):
            want = {str(k): _normal(v) for k, v in slice.items()}
            hits = [s for s in self.slices
                    if {k: _normal(v) for k, v in s.key.items()} == want]  # fmt: skip
            exact = [s for s in hits if list(s.key) == list(want)]
            if hits:
                return (exact or hits)[0].slice
            raise ValueError(
                f"Unknown slice key {dict(slice)!r}; the result has the keys "
                f"{[s.key for s in self.slices][:10]}."
            )
        if not isinstance(slice, str):
            raise TypeError(
                "The 'slice' parameter of EvalResult.value must be a slice name (str) or a "
                f"mapping {{column: value}}. Got {slice!r} of type {type(slice).__name__} instead."
            )
        names = {s.slice for s in self.slices}
        if slice not in names:
            raise ValueError(f"Unknown slice {slice!r}; the result has {sorted(names)[:10]}.")
        return slice

    # ---------------------------------------------------------------- significance
    @property
    def significance(self) -> dict[str, Any]:
        """How gaps are tested: level, interval methods, multiple-comparison adjustment."""
        cfg = self.config
        return {
            "alpha": round(1.0 - float(cfg.get("confidence", 0.95)), 12),
            "unadjusted": "significant: the gap's interval excludes 0 and has positive width",
            "multiple_comparisons": cfg.get("multiple_comparisons", "none"),
            "adjusted": "significant_adjusted: significant and p_value_adjusted < alpha",
            "family": ADJUSTMENT_FAMILY,
            "rate_interval": cfg.get("rate_interval", "replicate"),
            "min_denominator": cfg.get("min_denominator", 0),
        }

    def adjusted(self, method: str) -> EvalResult:
        """A copy of the result with ``significant_adjusted`` (and ``p_value_adjusted``)
        recomputed with ``method``: ``"bh"``, ``"holm"`` or ``"none"``."""
        from .stats import ADJUSTMENTS

        if method not in ADJUSTMENTS:
            raise ValueError(
                f"The 'method' parameter of EvalResult.adjusted must be one of "
                f"{list(ADJUSTMENTS)}. Got {method!r} instead."
            )
        conf = float(self.config.get("confidence", 0.95))
        out = EvalResult(
            add_adjusted(self._table, method, conf), self.slices,
            config={**self.config, "multiple_comparisons": method}, n_rows=self.n_rows,
            n_dropped=self.n_dropped, source=self.source,
            comparisons=add_adjusted(self._comparisons, method, conf),
            replicates=self.replicates,
        )  # fmt: skip
        out.catalogue_info = dict(self.catalogue_info)
        out.replicates_dropped = self.replicates_dropped
        return out

    # ---------------------------------------------------------------- models
    def comparison_arrow(self) -> pa.Table:
        """The paired model comparison table (:data:`COMPARISON_COLUMNS`) as Arrow."""
        return plain_labels(self._comparisons)

    def model_comparison(self) -> Any:
        """The change from the first model to each other model, per slice, metric and
        threshold, with its interval from the paired replicates (needs ``assay[pandas]``).
        Empty with one model."""
        require("pandas", "pandas", purpose="EvalResult.model_comparison")
        return plain_labels(self._comparisons).to_pandas()

    def compare(
        self, other: EvalResult, *, model: str | None = None, other_model: str | None = None
    ) -> EvalResult:
        """Pair this result's ``model`` with ``other_model`` of a separately evaluated
        result of the same rows: a result with both models (the second renamed if the
        names clash) and their paired comparison (:meth:`model_comparison`).

        Pairing needs the same replicate assignment: the same ``ci``, ``n_replicates``,
        ``seed`` and ``row_key``, the same slices with the same counts, thresholds and
        baseline, and replicate values in memory (a result read from JSON has none).
        Raises ``ValueError`` saying which does not match."""
        return compare_results(self, other, model=model, other_model=other_model)

    # ---------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict in the documented, versioned layout (``docs/result-schema.md``)."""
        columns = {}
        for name in COLUMNS:
            vals = self._table.column(name).to_pylist()
            columns[name] = [
                None if isinstance(v, float) and not math.isfinite(v) else v for v in vals
            ]
        return {
            "schema": SCHEMA_NAME,
            "version": SCHEMA_VERSION,
            "data": {"rows": self.n_rows, "dropped": self.n_dropped, "source": self.source},
            "config": _jsonable(self.config),
            "slices": [_jsonable(asdict(s)) for s in self.slices],
            "metrics": columns,
            "significance": self.significance,
            "model_comparison": _columns_json(self._comparisons, COMPARISON_COLUMNS),
            "catalogue": {
                m: info.to_dict() if (info := catalogue.metric(m)) is not None
                else self.catalogue_info[m]
                for m in self.metrics
                if catalogue.metric(m) is not None or m in self.catalogue_info
            },
        }

    def to_json(self, path: str | Path | None = None, *, indent: int | None = None) -> str:
        """Serialize to JSON; also write it to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            write_text_atomic(path, text)
        return text

    @classmethod
    def from_json(cls, source: str | Path) -> EvalResult:
        """Load a result written by :meth:`to_json` (a path or the JSON text).

        Raises ``ValueError`` naming the file (or "the JSON text") when it is not valid
        JSON, not an assay result, or a result of an unsupported version; ``OSError`` when
        the file cannot be read."""
        text = str(source)
        where = "the JSON text"
        if not text.lstrip().startswith(("{", "[")):
            where = f"the file {str(source)!r}"
            path = Path(source)
            if path.is_dir():
                raise IsADirectoryError(
                    f"Cannot read a result from {str(source)!r}: it is a directory."
                )
            text = path.read_text(encoding="utf-8")
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"Cannot read a result from {where}: invalid JSON ({exc}).") from None
        if not isinstance(doc, dict):
            raise ValueError(
                f"Cannot read a result from {where}: expected a JSON object with "
                f"\"schema\": {SCHEMA_NAME!r}, got a JSON {_json_kind(doc)}."
            )
        if doc.get("schema") != SCHEMA_NAME:
            raise ValueError(
                f"Not an assay evaluation result: schema is {doc.get('schema')!r}. Read "
                f"from {where}; a result has \"schema\": {SCHEMA_NAME!r}."
            )
        if doc.get("version") != SCHEMA_VERSION:
            raise ValueError(
                f"Unsupported result schema version {doc.get('version')!r}; this assay reads "
                f"version {SCHEMA_VERSION}. Read from {where}."
            )
        try:
            cols = doc["metrics"]
            arrays = {}
            nrows = len(cols["model"])
            for name, t in COLUMNS.items():
                if name not in cols and name in _ADDED_DEFAULTS:
                    cols[name] = [_ADDED_DEFAULTS[name]] * nrows
                vals = cols[name]
                if pa.types.is_floating(t):
                    vals = [math.nan if v is None else v for v in vals]
                arrays[name] = pa.array(vals, type=t)
            slices = [SliceInfo(**_decode(s)) for s in doc["slices"]]
            data = doc["data"]
            comps = None
            mc = doc.get("model_comparison")
            if isinstance(mc, dict):
                comps = pa.table(
                    {name: pa.array([math.nan if v is None and pa.types.is_floating(t) else v
                                     for v in mc[name]], type=t)
                     for name, t in COMPARISON_COLUMNS.items()}
                )
            out = cls(
                pa.table(arrays),
                slices,
                config=_decode(doc["config"]),
                n_rows=data["rows"],
                n_dropped=data["dropped"],
                source=data["source"],
                comparisons=comps,
            )
        except (KeyError, TypeError, ValueError, AttributeError, pa.ArrowException) as exc:
            what = f"missing entry {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ValueError(
                f"Cannot read a result from {where}: the result is incomplete or damaged "
                f"({what})."
            ) from None
        info = doc.get("catalogue")
        if isinstance(info, dict):
            out.catalogue_info = {str(k): v for k, v in info.items() if isinstance(v, dict)}
        return out

    # ---------------------------------------------------------------- report
    def to_html(self, path: str | Path | None = None, **kw: Any) -> str:
        """The interactive, self-contained HTML report (see :func:`assay.report.render_html`)."""
        return _renderer("html")(self, path, **kw)

    def to_model_card(self, path: str | Path | None = None, **kw: Any) -> str:
        """A model card in Markdown or JSON (see :func:`assay.report.model_card`)."""
        return _renderer("model_card")(self, path, **kw)

    def _repr_html_(self) -> str:
        return _renderer("repr_html")(self)

    # ---------------------------------------------------------------- text
    def format_table(
        self,
        *,
        metrics: Sequence[str] | None = None,
        threshold: float | None = None,
        model: str | None = None,
        digits: int = 3,
    ) -> str:
        """A readable text table: one line per slice, chosen metrics with intervals.

        ``metrics`` defaults to the catalogue's headline metrics among the result's
        (``default=True`` entries, at most four, e.g. FPR, FNR and ROC AUC)."""
        if metrics is None:
            have = set(self.metrics)
            picked = [e.name for e in catalogue.metrics() if e.default and e.name in have]
            metrics = [m for m in picked if m != "positive_rate"][:4]
        thr = threshold
        ths = self.thresholds
        if thr is not None and not any(abs(float(thr) - t) < 1e-9 for t in ths):
            raise ValueError(
                "The 'threshold' parameter of format_table must be one of the evaluated "
                f"thresholds {ths}. Got {thr!r} instead."
            )
        if thr is None and ths:
            thr = 0.5 if 0.5 in ths else ths[len(ths) // 2]
        models = [model] if model is not None else self.models
        classes = self.config.get("classes") or [None]
        lines = []
        for m in models:
            for c in classes:
                title = f"model {m}" + (f", class {c}" if c is not None else "")
                lines.append(
                    title if thr is None else f"{title} (threshold {thr:g} for threshold metrics)"
                )
                header = ["slice", "n", *metrics]
                rows = [header]
                for s in self.slices:
                    cells = [s.slice, f"{s.count:,}"]
                    for me in metrics:
                        t = thr if catalogue.per_threshold(me) else None
                        try:
                            v = self.value(me, slice=s.slice, threshold=t, model=m, cls=c)
                        except ValueError:
                            cells.append("-")
                            continue
                        cells.append(_fmt(v, digits))
                    rows.append(cells)
                widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
                for j, r in enumerate(rows):
                    lines.append(
                        "  ".join(x.ljust(wd) if i == 0 else x.rjust(wd)
                                  for i, (x, wd) in enumerate(zip(r, widths, strict=True)))
                    )
                    if j == 0:
                        lines.append("  ".join("-" * wd for wd in widths))
                lines.append("")
        if self.withheld_slices:
            lines.append(
                "withheld: "
                + "; ".join(f"{s.slice} ({s.reason})" for s in self.withheld_slices)
            )
        if self.n_dropped:
            lines.append(f"dropped {self.n_dropped:,} invalid row(s)")
        return "\n".join(lines).rstrip() + "\n"

    def __repr__(self) -> str:
        return (
            f"EvalResult(models={self.models}, slices={len(self.slices)}, "
            f"metrics={len(self.metrics)}, rows={self.n_rows:,})"
        )




def compare_results(
    a: EvalResult, b: EvalResult, *, model: str | None = None, other_model: str | None = None
) -> EvalResult:
    """See :meth:`EvalResult.compare`."""
    from .replicates import make_replication

    if not isinstance(b, EvalResult):
        raise TypeError(
            "The 'other' parameter of EvalResult.compare must be an EvalResult. Got "
            f"{type(b).__name__} instead."
        )
    ma = a.models[0] if model is None else model
    mb = b.models[0] if other_model is None else other_model
    for r, m, what in ((a, ma, "model"), (b, mb, "other_model")):
        if m not in r.models:
            raise ValueError(
                f"The {what!r} parameter of EvalResult.compare must be one of {r.models}. "
                f"Got {m!r} instead."
            )
    reasons = []
    for key in ("ci", "seed", "row_key", "thresholds", "baseline", "confidence", "task",
                "label", "weight", "classes", "rate_interval", "min_denominator"):  # fmt: skip
        if a.config.get(key) != b.config.get(key):
            reasons.append(f"{key} differs ({a.config.get(key)!r} vs {b.config.get(key)!r})")
    if a.n_rows != b.n_rows:
        reasons.append(f"the number of rows differs ({a.n_rows} vs {b.n_rows})")
    sa = [(s.slice, s.count) for s in a.slices]
    sb = [(s.slice, s.count) for s in b.slices]
    if sa != sb:
        diff = next(((x, y) for x, y in zip(sa, sb, strict=False) if x != y), None)
        reasons.append(
            "the slices or their counts differ"
            + (f" (first: {diff[0]} vs {diff[1]})" if diff else f" ({len(sa)} vs {len(sb)} slices)")
        )
    if not a.config.get("ci", {}).get("n_replicates"):
        reasons.append("the results have no replicates (ci=None)")
    elif a.replicates is None or b.replicates is None:
        why = [r.replicates_dropped for r in (a, b) if r.replicates is None]
        if any(why):
            reasons.append(next(w for w in why if w))
        else:
            reasons.append(
                "a result has no replicate values in memory (results read from JSON do not "
                "carry them); evaluate both in this process"
            )
    if reasons:
        raise ValueError(
            "Cannot pair these results: the change between models needs the same rows with "
            "the same replicate assignment, but " + "; ".join(reasons) + "."
        )
    name_b = mb if mb != ma else f"{mb} (2)"
    assert a.replicates is not None and b.replicates is not None
    ta, tb = a._table, b._table
    rows_a = np.flatnonzero(np.asarray(ta.column("model").to_pylist(), dtype=object) == ma)
    rows_b = np.flatnonzero(np.asarray(tb.column("model").to_pylist(), dtype=object) == mb)
    sub_a, sub_b = ta.take(pa.array(rows_a)), tb.take(pa.array(rows_b))
    sub_b = sub_b.set_column(0, "model", pa.array([name_b] * sub_b.num_rows, type=LABEL))

    def keys(t: pa.Table) -> list[tuple[Any, ...]]:
        cols = [t.column(c).to_pylist() for c in ("class", "slice", "metric", "threshold")]
        return [(c, s, m, None if th is None or math.isnan(th) else round(th, 9))
                for c, s, m, th in zip(*cols, strict=True)]  # fmt: skip

    index_b = {k: i for i, k in enumerate(keys(sub_b))}
    ka = keys(sub_a)
    pairs = [(i, index_b[k]) for i, k in enumerate(ka) if k in index_b]
    ia = np.array([p[0] for p in pairs], dtype=np.int64)
    ib = np.array([p[1] for p in pairs], dtype=np.int64)
    rep = make_replication(a.config["ci"]["method"], a.config["ci"]["n_replicates"])
    conf = float(a.config.get("confidence", 0.95))
    va = sub_a.column("value").to_numpy(zero_copy_only=False)[ia]
    vb = sub_b.column("value").to_numpy(zero_copy_only=False)[ib]
    ra = a.replicates[rows_a][ia].astype(np.float64)
    rb = b.replicates[rows_b][ib].astype(np.float64)
    diff = vb - va
    dreps = rb - ra
    dlo, dhi = rep.interval(diff, dreps, conf)
    pval = rep.p_value(diff, dreps)
    metrics = sub_a.column("metric").to_pylist()
    keep = np.ones(len(ia), dtype=bool)
    for n_, m in enumerate(np.asarray(metrics, dtype=object)[ia]):
        info = catalogue.metric(m)
        if info is not None and (info.size or info.gap == "none"):
            keep[n_] = False
        elif info is not None:
            lo, hi = info.bounds(str(a.config.get("task")))
            if math.isfinite(lo) and math.isfinite(hi):
                dlo[n_] = min(max(dlo[n_], lo - hi), hi - lo)
                dhi[n_] = min(max(dhi[n_], lo - hi), hi - lo)
    with np.errstate(invalid="ignore"):
        valid = (dhi - dlo > 0) & np.isfinite(dlo) & np.isfinite(dhi) & np.isfinite(diff)
        sig = valid & ((dlo > 0) | (dhi < 0))
    pval = np.where(valid, pval, np.nan)
    sel_a = sub_a.take(pa.array(ia[keep]))
    k = keep
    comps = pa.table(
        {
            "model": pa.array([name_b] * int(k.sum()), type=LABEL),
            "reference": pa.array([ma] * int(k.sum()), type=LABEL),
            "class": sel_a.column("class"),
            "feature": sel_a.column("feature"),
            "slice": sel_a.column("slice"),
            "metric": sel_a.column("metric"),
            "threshold": sel_a.column("threshold"),
            "value": pa.array(vb[k], type=pa.float64()),
            "reference_value": pa.array(va[k], type=pa.float64()),
            "diff": pa.array(diff[k], type=pa.float64()),
            "diff_lower": pa.array(dlo[k], type=pa.float64()),
            "diff_upper": pa.array(dhi[k], type=pa.float64()),
            "p_value": pa.array(pval[k], type=pa.float64()),
            "significant": pa.array(sig[k], type=pa.bool_()),
            "p_value_adjusted": pa.array(np.full(int(k.sum()), np.nan), type=pa.float64()),
            "significant_adjusted": pa.array(np.zeros(int(k.sum()), bool), type=pa.bool_()),
        },
        schema=COMPARISON_SCHEMA,
    )
    method = str(a.config.get("multiple_comparisons", "bh"))
    comps = add_adjusted(comps, method, conf)
    config = dict(a.config)
    config["scores"] = {ma: a.config["scores"][ma], name_b: b.config["scores"][mb]}
    out = EvalResult(
        pa.concat_tables([sub_a, sub_b]), a.slices, config=config, n_rows=a.n_rows,
        n_dropped=a.n_dropped, source=a.source, comparisons=comps,
        replicates=np.concatenate([a.replicates[rows_a], b.replicates[rows_b]]),
    )  # fmt: skip
    return out


def _columns_json(table: pa.Table, columns: Mapping[str, pa.DataType]) -> dict[str, list[Any]]:
    out = {}
    for name in columns:
        vals = table.column(name).to_pylist()
        out[name] = [None if isinstance(v, float) and not math.isfinite(v) else v for v in vals]
    return out


def _fmt(v: MetricValue, digits: int) -> str:
    if v.withheld:
        return "withheld"
    if math.isnan(v.value):
        return "nan"
    s = f"{v.value:.{digits}f}"
    if not math.isnan(v.lower):
        s += f" [{v.lower:.{digits}f}, {v.upper:.{digits}f}]"
    if v.significant:
        s += "*"
    return s


def _json_kind(doc: Any) -> str:
    return {list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(doc), "number"
    )


def _normal(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


#: Tags of slice values (and config values) that JSON has no type for: ``{"$date":
#: "2024-01-31"}``. Values of JSON's own types are written as they are.
_TAGS = ("$date", "$timestamp", "$time", "$duration", "$bytes", "$decimal", "$float")


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else {"$float": "inf" if obj > 0 else "-inf"}
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if isinstance(obj, datetime.datetime):
        return {"$timestamp": obj.isoformat()}
    if isinstance(obj, datetime.date):
        return {"$date": obj.isoformat()}
    if isinstance(obj, datetime.time):
        return {"$time": obj.isoformat()}
    if isinstance(obj, datetime.timedelta):
        return {"$duration": [obj.days, obj.seconds, obj.microseconds]}
    if isinstance(obj, bytes | bytearray | memoryview):
        return {"$bytes": base64.b64encode(bytes(obj)).decode("ascii")}
    if isinstance(obj, decimal.Decimal):
        return {"$decimal": str(obj)}
    return str(obj)


def _decode(obj: Any) -> Any:
    """Inverse of :func:`_jsonable` for the tagged values."""
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) == 1 and next(iter(obj)) in _TAGS:
        ((tag, v),) = obj.items()
        if tag == "$timestamp":
            return datetime.datetime.fromisoformat(v)
        if tag == "$date":
            return datetime.date.fromisoformat(v)
        if tag == "$time":
            return datetime.time.fromisoformat(v)
        if tag == "$duration":
            return datetime.timedelta(days=v[0], seconds=v[1], microseconds=v[2])
        if tag == "$bytes":
            return base64.b64decode(v)
        if tag == "$decimal":
            return decimal.Decimal(v)
        if tag == "$float":
            return float(v)
    return {k: _decode(v) for k, v in obj.items()}
