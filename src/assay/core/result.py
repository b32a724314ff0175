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

#: Name and version of the JSON layout written by :meth:`EvalResult.to_json`.
SCHEMA_NAME = "assay.EvalResult"
SCHEMA_VERSION = 1

#: Columns of the tidy table, in order, with their Arrow types.
COLUMNS: dict[str, pa.DataType] = {
    "model": pa.string(),
    "class": pa.string(),
    "feature": pa.string(),
    "slice": pa.string(),
    "metric": pa.string(),
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
}
RESULT_SCHEMA = pa.schema(list(COLUMNS.items()))


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
    ) -> None:
        if isinstance(table, pa.Table):
            self._table = table
        else:
            self._table = pa.table(
                {c: pa.array(list(table[c]) if table[c].dtype == object else table[c], type=t)
                 for c, t in COLUMNS.items()}
            )
        self.slices = list(slices)
        self.config = config
        self.n_rows = n_rows
        self.n_dropped = n_dropped
        self.source = source
        #: Catalogue entries read with the result (``from_json``): what each metric is,
        #: also for metrics this version's catalogue does not know.
        self.catalogue_info: dict[str, dict[str, Any]] = {}
        self._index: dict[tuple[Any, ...], int] | None = None

    # ---------------------------------------------------------------- access
    @property
    def models(self) -> list[str]:
        return list(self.config["scores"])

    @property
    def metrics(self) -> list[str]:
        return list(dict.fromkeys(self._table.column("metric").to_pylist()))

    @property
    def thresholds(self) -> list[float]:
        return list(self.config["thresholds"])

    @property
    def withheld_slices(self) -> list[SliceInfo]:
        return [s for s in self.slices if s.withheld]

    def to_arrow(self) -> pa.Table:
        """The tidy metric table as a pyarrow Table."""
        return self._table

    def to_frame(self) -> Any:
        """The tidy metric table as a pandas DataFrame (needs ``assay[pandas]``)."""
        require("pandas", "pandas", purpose="EvalResult.to_frame")
        return self._table.to_pandas()

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
        if self._index is None:
            cols = [self._table.column(c).to_pylist() for c in
                    ("model", "class", "slice", "metric", "threshold")]  # fmt: skip
            self._index = {}
            for i, (m, c, s, me, t) in enumerate(zip(*cols, strict=True)):
                tk = None if t is None or math.isnan(t) else round(t, 9)
                self._index[(m, c, s, me, tk)] = i
        model = self.models[0] if model is None else model
        if model not in self.models:
            raise ValueError(f"Unknown model {model!r}; the result has {self.models}.")
        if metric not in self.metrics:
            raise ValueError(f"Unknown metric {metric!r}; the result has {self.metrics}.")
        slice = self._slice_name(slice)
        c = None if cls is None else str(cls)
        tk = None if threshold is None else round(float(threshold), 9)
        pos = self._index.get((model, c, slice, metric, tk))
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
            max_error=f["max_error"],
        )  # fmt: skip

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
            for name, t in COLUMNS.items():
                vals = cols[name]
                if pa.types.is_floating(t):
                    vals = [math.nan if v is None else v for v in vals]
                arrays[name] = pa.array(vals, type=t)
            slices = [SliceInfo(**_decode(s)) for s in doc["slices"]]
            data = doc["data"]
            out = cls(
                pa.table(arrays),
                slices,
                config=_decode(doc["config"]),
                n_rows=data["rows"],
                n_dropped=data["dropped"],
                source=data["source"],
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
