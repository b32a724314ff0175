"""Stress-test inputs: named data sets scored by every seed's model.

A :class:`StressSet` is a labelled set of inputs (the iid test set, a shifted or corrupted
set, an out-of-distribution set); its optional ``groups`` columns make one subgroup stress
test per value (``"iid/sex=Female"``). :class:`CounterfactualPairs` holds the same examples
twice, the second time with one attribute changed; its stress test is the per-seed change of
the prediction. :func:`layout` checks them and names every stress test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["KINDS", "CounterfactualPairs", "StressSet", "StressTestSpec", "feature_schema", "layout", "n_rows"]

#: Kinds of stress sets (only a label: every kind is measured the same way).
KINDS = ("iid", "shift", "corruption", "ood", "subgroup", "counterfactual")

_FUNC = "stress_test"


@dataclass
class StressSet:
    """A named labelled set scored by every seed's model.

    ``X``: the model's inputs (NumPy array, pandas DataFrame, or anything with ``len`` that
    ``predict`` accepts); ``y``: one label per row; ``kind``: one of :data:`KINDS` (a
    label for the report); ``groups``: optional ``{column: values}`` (one value per row):
    each value of each column becomes a subgroup stress test ``"<name>/<column>=<value>"``
    made of this set's rows with that value.
    """

    name: str
    X: Any
    y: Any
    kind: str = "shift"
    groups: Mapping[str, Any] | None = None
    min_group_size: int = 1


@dataclass
class CounterfactualPairs:
    """Pairs of inputs: ``X[i]`` and ``X_counterfactual[i]`` are the same example with one
    attribute changed (an identity term swapped, a protected attribute flipped). The stress
    test is the per-seed change of the prediction between the two."""

    name: str
    X: Any
    X_counterfactual: Any
    kind: str = "counterfactual"


@dataclass
class StressTestSpec:
    """One stress test, as laid out by :func:`layout`: rows ``rows`` of input ``source``
    (indices into that input's predictions)."""

    name: str
    kind: str
    source: str
    rows: NDArray[np.int64]
    parent: str = ""
    group: tuple[str, str] | None = None
    counterfactual: str | None = None  # the paired input's key, for counterfactual tests
    labels: NDArray[Any] | None = field(default=None, repr=False)


def n_rows(X: Any) -> int:
    """Rows of ``X``: ``shape[0]`` when it has a shape (arrays, sparse matrices, tensors),
    else ``len``."""
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    return len(X)


def _n_rows(X: Any, what: str) -> int:
    try:
        return n_rows(X)
    except TypeError:
        raise TypeError(
            f"The {what} of {_FUNC} must be a sized collection of rows (an array or a "
            f"DataFrame). Got {type(X).__name__} instead."
        ) from None


def feature_schema(X: Any) -> tuple[Any, ...]:
    """What must agree between the iid set and every stress set: the column names and
    dtypes of a DataFrame / Arrow table, or the per-row shape and dtype kind of an array."""
    cols = getattr(X, "columns", None)
    if cols is not None and hasattr(X, "dtypes"):  # pandas / polars
        dtypes = X.dtypes
        types = [str(t) for t in (dtypes.tolist() if hasattr(dtypes, "tolist") else dtypes)]
        return ("columns", tuple(str(c) for c in cols), tuple(types))
    schema = getattr(X, "schema", None)
    if schema is not None and hasattr(schema, "names"):  # pyarrow
        return ("columns", tuple(schema.names), tuple(str(t) for t in schema.types))
    if isinstance(X, np.ndarray) or hasattr(X, "shape"):
        shape = tuple(int(s) for s in X.shape[1:])
        kind: str
        try:
            kind = str(np.dtype(getattr(X, "dtype", np.float64)).kind)
        except TypeError:  # a tensor's dtype
            kind = "f" if "float" in str(X.dtype) or "int" in str(X.dtype) else str(X.dtype)
        return ("array", shape, "numeric" if kind in "biuf" else kind)
    return ("rows", type(X).__name__)


def _describe_schema(s: tuple[Any, ...]) -> str:
    if s[0] == "columns":
        return "columns " + ", ".join(f"{c}:{t}" for c, t in zip(s[1], s[2], strict=True))
    if s[0] == "array":
        return f"arrays of per-row shape {s[1]} ({s[2]})"
    return f"{s[1]} rows"


def _schema_diff(a: tuple[Any, ...], b: tuple[Any, ...]) -> str:
    if a[0] == b[0] == "columns":
        missing = [c for c in a[1] if c not in b[1]]
        extra = [c for c in b[1] if c not in a[1]]
        parts = []
        if missing:
            parts.append(f"missing columns {missing}")
        if extra:
            parts.append(f"extra columns {extra}")
        if not parts:
            ta, tb = dict(zip(a[1], a[2], strict=True)), dict(zip(b[1], b[2], strict=True))
            changed = [f"{c} ({ta[c]} -> {tb[c]})" for c in a[1] if ta[c] != tb[c]]
            if changed:
                parts.append(f"other types: {', '.join(changed)}")
            else:
                parts.append("the same columns in another order")
        return "; ".join(parts)
    return f"expected {_describe_schema(a)}, got {_describe_schema(b)}"


def _labels(y: Any, n: int, name: str) -> NDArray[Any]:
    if y is None:
        raise ValueError(
            f"The stress set {name!r} of {_FUNC} must have labels 'y' (one per row). Got None instead."
        )
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(
            f"The labels 'y' of stress set {name!r} of {_FUNC} must be one value per row "
            f"({n} rows). Got shape {arr.shape} instead."
        )
    return arr


def layout(
    iid: StressSet, stress: Sequence[StressSet | CounterfactualPairs]
) -> tuple[dict[str, Any], list[StressTestSpec]]:
    """Check the sets and lay out the stress tests.

    Returns the inputs to predict (``{key: X}``) and the stress tests, the iid set first.
    Raises ``ValueError`` for duplicate names, labels of the wrong length, subgroup columns
    of the wrong length and a stress set whose feature schema differs from the iid set's.
    """
    if not isinstance(iid, StressSet):
        raise TypeError(
            f"The 'iid' parameter of {_FUNC} must be a StressSet. Got {iid!r} of type "
            f"{type(iid).__name__} instead."
        )
    inputs: dict[str, Any] = {}
    tests: list[StressTestSpec] = []
    base = feature_schema(iid.X)
    names: set[str] = set()

    def add_name(name: str) -> None:
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(
                f"Stress set names of {_FUNC} must be non-empty strings without '/'. Got {name!r} instead."
            )
        if name in names:
            raise ValueError(f"Stress set names of {_FUNC} must be unique. Got {name!r} twice.")
        names.add(name)

    def check_schema(name: str, X: Any) -> None:
        s = feature_schema(X)
        if s != base:
            raise ValueError(
                f"The stress set {name!r} of {_FUNC} has another feature schema than the iid "
                f"set {iid.name!r}: {_schema_diff(base, s)}. Every stress set must have the "
                "iid set's features."
            )

    for i, st in enumerate([iid, *stress]):
        if isinstance(st, StressSet):
            add_name(st.name)
            kind = "iid" if i == 0 else st.kind
            if kind not in KINDS:
                raise ValueError(
                    f"The kind of stress set {st.name!r} of {_FUNC} must be one of {list(KINDS)}. "
                    f"Got {st.kind!r} instead."
                )
            if i > 0:
                check_schema(st.name, st.X)
            n = _n_rows(st.X, f"inputs 'X' of stress set {st.name!r}")
            if n == 0:
                raise ValueError(f"The stress set {st.name!r} of {_FUNC} must have at least one row. Got 0.")
            y = _labels(st.y, n, st.name)
            inputs[st.name] = st.X
            rows = np.arange(n, dtype=np.int64)
            tests.append(StressTestSpec(st.name, kind, st.name, rows, labels=y))
            for col, values in (st.groups or {}).items():
                g = np.asarray(values)
                if g.shape != (n,):
                    raise ValueError(
                        f"The subgroup column {col!r} of stress set {st.name!r} of {_FUNC} must "
                        f"have one value per row ({n}). Got shape {g.shape} instead."
                    )
                keys = [v for v in dict.fromkeys(g.tolist()) if v is not None and v == v]
                for v in sorted(keys, key=str):
                    sel = np.flatnonzero(g == v).astype(np.int64)
                    if sel.size < st.min_group_size:
                        continue
                    tests.append(StressTestSpec(f"{st.name}/{col}={v}", "subgroup", st.name, sel,
                                                parent=st.name, group=(str(col), str(v)),
                                                labels=y[sel]))  # fmt: skip
        elif isinstance(st, CounterfactualPairs):
            add_name(st.name)
            check_schema(st.name, st.X)
            check_schema(st.name, st.X_counterfactual)
            n = _n_rows(st.X, f"inputs 'X' of counterfactual pairs {st.name!r}")
            m = _n_rows(st.X_counterfactual, f"inputs 'X_counterfactual' of {st.name!r}")
            if n != m or n == 0:
                raise ValueError(
                    f"The counterfactual pairs {st.name!r} of {_FUNC} must have as many "
                    f"counterfactual rows as rows (and at least one). Got {n} and {m} instead."
                )
            key_cf = f"{st.name}/counterfactual"
            inputs[st.name] = st.X
            inputs[key_cf] = st.X_counterfactual
            tests.append(StressTestSpec(st.name, "counterfactual", st.name,
                                        np.arange(n, dtype=np.int64), counterfactual=key_cf))  # fmt: skip
        else:
            raise TypeError(
                f"The 'stress' parameter of {_FUNC} must hold StressSet or CounterfactualPairs "
                f"objects. Got {st!r} of type {type(st).__name__} at position {i - 1} instead."
            )
    return inputs, tests
