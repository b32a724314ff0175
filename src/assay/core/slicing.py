"""Slice specifications: which subsets of rows get their own metrics.

A slice spec names one or more feature columns; every observed combination of their
values is a slice. Shorthands accepted wherever a spec is expected:

* ``"sex"``: one slice per value of ``sex``;
* ``("sex", "race")`` or ``"sex,race"``: one slice per observed (sex, race) pair;
* ``{"race": ["Black", "White"]}``: only the listed values (a single value may be given
  bare); ``{"sex": None, "race": "Black"}`` crosses all sexes with ``race == "Black"``;
* a :class:`SliceSpec`.

The whole data set is always evaluated as the slice ``overall``.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._util.validation import param_type_error

OVERALL = "overall"
NULL_NAME = "null"


@dataclass(frozen=True)
class SliceSpec:
    """Columns to slice on, each with the values to keep (``None`` keeps every value)."""

    columns: tuple[str, ...] = ()
    values: tuple[tuple[Any, ...] | None, ...] = ()

    def __post_init__(self) -> None:
        if len(self.values) != len(self.columns):
            object.__setattr__(self, "values", tuple(None for _ in self.columns))

    @property
    def name(self) -> str:
        """Feature name: ``overall``, ``sex`` or ``sex x race``."""
        return " x ".join(self.columns) if self.columns else OVERALL

    def allows(self, key: tuple[Any, ...]) -> bool:
        """Whether the value combination ``key`` is kept by this spec."""
        return all(v is None or k in v for k, v in zip(key, self.values, strict=True))

    def explicit_keys(self) -> list[tuple[Any, ...]]:
        """Value combinations listed explicitly (all columns restricted), else []."""
        if not self.columns or any(v is None for v in self.values):
            return []
        keys: list[tuple[Any, ...]] = [()]
        for vals in self.values:
            assert vals is not None
            keys = [(*k, v) for k in keys for v in vals]
        return keys


SliceLike = str | Sequence[str] | Mapping[str, Any] | SliceSpec


def format_value(v: Any) -> str:
    """Display form of a value (``null`` for missing values); see :func:`slice_value_text`
    for the unambiguous form used in slice names."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return NULL_NAME
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _needs_quotes(text: str) -> bool:
    return (
        text in ("", NULL_NAME)
        or "=" in text
        or text.startswith('"')
        or text != text.strip()
        or any(ch < " " for ch in text)
    )


def slice_value_text(v: Any) -> str:
    """The form of a slice value in a slice name: :func:`format_value`, but in JSON string
    quotes when it could be misread: the string ``"null"`` (a missing value is written
    ``null``), a value holding ``"="`` (``x, b=y`` would read as a cross slice), the
    empty string, leading or trailing blanks, control characters, a leading quote. Plain
    values stay bare (``sex=Female``; ``age=[20, 40)``: a comma alone is not ambiguous,
    since every part of a cross slice's name holds an ``=``)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return NULL_NAME
    text = format_value(v)
    return json.dumps(text, ensure_ascii=False) if _needs_quotes(text) else text


def slice_name(spec: SliceSpec, key: tuple[Any, ...]) -> str:
    """Display name of one slice: ``overall``, ``sex=Female``, ``sex=Female, race=Black``.

    Names are unambiguous (see :func:`slice_value_text`; column names are quoted by the
    same rule); the slice's identity is still its structured key (``SliceInfo.key``)."""
    if not spec.columns:
        return OVERALL
    return ", ".join(
        f"{_column_text(c)}={slice_value_text(v)}" for c, v in zip(spec.columns, key, strict=True)
    )


def _column_text(name: str) -> str:
    quote = _needs_quotes(name) or ", " in name or name == OVERALL
    return json.dumps(name, ensure_ascii=False) if quote else name


def parse_slice(s: SliceLike, *, func: str) -> SliceSpec:
    """Turn one slice shorthand into a :class:`SliceSpec`."""
    if isinstance(s, SliceSpec):
        return s
    if isinstance(s, str):
        names = tuple(c.strip() for c in s.split(",") if c.strip())
        if not names:
            raise ValueError(f"A slice in 'slices' must name at least one column. Got {s!r}.")
        return SliceSpec(names, tuple(None for _ in names))
    if isinstance(s, Mapping):
        cols: list[str] = []
        vals: list[tuple[Any, ...] | None] = []
        for c, v in s.items():
            if not isinstance(c, str):
                raise param_type_error(
                    "slices", "a mapping from column names to values", s, func=func
                )
            cols.append(c)
            if v is None:
                vals.append(None)
            elif isinstance(v, str | int | float | bool):
                vals.append((v,))
            else:
                vals.append(tuple(v))
        if not cols:
            raise ValueError("A slice in 'slices' must name at least one column. Got {}.")
        return SliceSpec(tuple(cols), tuple(vals))
    if isinstance(s, Sequence) and all(isinstance(c, str) for c in s):
        if not s:
            raise ValueError(f"A slice in 'slices' must name at least one column. Got {s!r}.")
        return SliceSpec(tuple(s), tuple(None for _ in s))
    raise param_type_error(
        "slices", "a list of column names, tuples of column names, mappings or SliceSpec", s,
        func=func,
    )


def parse_slices(
    slices: SliceLike | Sequence[SliceLike] | None, *, func: str
) -> list[SliceSpec]:
    """Parse the ``slices`` argument; the overall slice always comes first."""
    if slices is None:
        items: list[SliceLike] = []
    elif isinstance(slices, str | Mapping | SliceSpec):
        items = [slices]
    else:
        items = list(slices)
    out = [SliceSpec()]
    for s in items:
        spec = parse_slice(s, func=func)
        if len(set(spec.columns)) != len(spec.columns):
            raise ValueError(f"A slice in 'slices' repeats a column: {spec.columns!r}.")
        if spec not in out:
            out.append(spec)
    return out


def bins(
    values: Any,
    n_bins: int = 10,
    *,
    edges: Sequence[float] | None = None,
    digits: int = 4,
) -> Any:
    """Bin a numeric column into interval labels, to slice on it.

    With ``edges=None``, ``n_bins`` quantile bins (equal numbers of rows, repeated edges
    merged); with ``edges``, those fixed edges (values outside them fall in the first or
    last bin). Returns a NumPy array of labels such as ``"[18, 25)"`` (the last bin is
    closed: ``"[65, 90]"``), ``None`` where the value is missing or NaN. Use it as a slice
    column: ``df["age_bin"] = assay.bins(df["age"], 5)``.
    """
    import numpy as np

    from .._util.validation import check_int, param_error

    n_bins = check_int("n_bins", n_bins, minimum=1, func="bins")
    try:
        x = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise TypeError(
            "The 'values' parameter of bins must be numbers (a list, array or column). "
            f"Got values of type {type(values).__name__} instead."
        ) from None
    finite = np.isfinite(x)
    if edges is None:
        if not finite.any():
            raise param_error("values", "numbers with at least one finite value", values, func="bins")
        q = np.linspace(0.0, 1.0, n_bins + 1)
        e = np.unique(np.quantile(x[finite], q, method="inverted_cdf"))  # edges are data values
    else:
        e = np.asarray(list(edges), dtype=np.float64)
        if e.ndim != 1 or e.size < 2 or not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0):
            raise param_error("edges", "at least two increasing finite numbers", edges, func="bins")
    if e.size == 1:
        e = np.array([e[0], e[0]])
    def fmt(v: float) -> str:
        return f"{v:.{digits}g}"

    labels = [f"[{fmt(a)}, {fmt(b)})" for a, b in itertools.pairwise(e)]
    labels[-1] = labels[-1][:-1] + "]"
    idx = np.clip(np.searchsorted(e, x, side="right") - 1, 0, len(labels) - 1)
    out = np.array(labels, dtype=object)[idx]
    out[~finite] = None
    return out
