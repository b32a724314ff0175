"""Reading one chunk of rows: check and convert labels, scores, weights and row keys,
then add the valid rows to a state. The same code runs in every engine (on Spark, in the
executors), so every engine raises the same errors for the same data."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from .plan import ROW_CONTENT, Plan
from .replicates import row_hashes, splitmix64
from .state import EvalState


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


def _shown(values: Any, limit: int = 10) -> str:
    """The label values in an error message: sorted, integral floats as integers."""
    vals = list(values)

    def fmt(v: Any) -> str:
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return repr(v) if isinstance(v, str) else str(v)

    items = sorted({fmt(v) for v in vals})
    more = ", ..." if len(items) > limit else ""
    return ", ".join(items[:limit]) + more if items else "none"


_NO_MATCH = object()


def coerce_label_value(value: Any, typ: pa.DataType) -> Any:
    """``value`` converted to a value of a label column of type ``typ``, when lossless
    (``"1"`` or ``1.0`` for an integer column, ``"true"``/``"false"`` or 0/1 for a boolean
    one, an integer for a string one); :data:`_NO_MATCH` when no lossless conversion exists.
    The CLI passes every value as a string, so strings are parsed for number and boolean
    columns."""
    if isinstance(value, np.generic):
        value = value.item()
    if pa.types.is_boolean(typ):
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
            return value.strip().lower() in ("true", "1")
        return _NO_MATCH
    if pa.types.is_integer(typ) or pa.types.is_floating(typ):
        if isinstance(value, bool):
            return _NO_MATCH
        if isinstance(value, str):
            text = value.strip()
            try:
                value = int(text)
            except ValueError:
                try:
                    value = float(text)
                except ValueError:
                    return _NO_MATCH
        if not isinstance(value, int | float):
            return _NO_MATCH
        if pa.types.is_integer(typ):
            if isinstance(value, float):
                if not value.is_integer():
                    return _NO_MATCH
                value = int(value)
            return value
        return float(value)
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        if isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return _NO_MATCH
    try:
        return pa.scalar(value, type=typ).as_py()
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        return _NO_MATCH


def _sigmoid(x: NDArray[np.float64]) -> NDArray[np.float64]:
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


class ChunkReader:
    """Validates one record batch and adds it to a state."""

    def __init__(self, plan: Plan) -> None:
        self.cfg = plan
        self.plan = plan
        self.seen = 0
        self.label_values: set[Any] = set()

    def _labels(self, arr: pa.Array) -> tuple[list[NDArray[Any]], NDArray[np.bool_]]:
        cfg = self.cfg
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        invalid = np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        if cfg.task.labels == "numeric":
            if not (pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type)
                    or pa.types.is_boolean(arr.type) or pa.types.is_null(arr.type)):  # fmt: skip
                raise TypeError(
                    f"The label column {cfg.label!r} must hold numbers for "
                    f"task={cfg.task.name!r}. Got values of type {arr.type} instead."
                )
            v = _to_numpy_float(arr)
            invalid |= ~np.isfinite(v)
            return [np.where(invalid, 0.0, v)], invalid
        if cfg.classes is not None:
            if pa.types.is_null(arr.type):
                return [np.zeros(len(arr), dtype=np.int8) for _ in cfg.classes], invalid
            if pa.types.is_floating(arr.type):
                invalid |= ~np.isfinite(_to_numpy_float(arr))
            classes = self._classes_for(arr)
            value_set = pa.array(classes, type=arr.type)
            known = np.asarray(
                pc.is_in(arr, value_set=value_set).fill_null(False).to_numpy(zero_copy_only=False),
                dtype=bool,
            )
            bad = ~known & ~invalid
            if bad.any():
                found = ", ".join(sorted({str(v) for v in arr.filter(pa.array(bad)).to_pylist()})[:5])
                raise ValueError(
                    f"The label column {cfg.label!r} holds values that are not in 'classes' "
                    f"{list(cfg.classes)}: {found}."
                )
            ys = [
                np.asarray(
                    pc.equal(arr, pa.scalar(c, type=arr.type)).fill_null(False).to_numpy(
                        zero_copy_only=False
                    ),
                    dtype=np.int8,
                )
                for c in classes
            ]
            return ys, invalid
        if pa.types.is_boolean(arr.type):
            y = np.asarray(arr.fill_null(False).to_numpy(zero_copy_only=False), dtype=np.int8)
            if cfg.positive_label is not None:
                self._check_two_values(pc.unique(arr.drop_null()).to_pylist())
                if not self._positive_for(arr):
                    y = np.where(invalid, 0, 1 - y).astype(np.int8)
        elif pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type):
            v = _to_numpy_float(arr)
            invalid |= ~np.isfinite(v)
            if cfg.positive_label is not None:
                pos = float(self._positive_for(arr))
                y = np.asarray(v == pos, dtype=np.int8)
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
                pc.equal(arr, pa.scalar(self._positive_for(arr), type=arr.type))
                .fill_null(False)
                .to_numpy(zero_copy_only=False),
                dtype=np.int8,
            )
        else:
            raise TypeError(
                f"The label column {cfg.label!r} must hold 0/1 numbers, booleans or strings. "
                f"Got values of type {arr.type} instead."
            )
        return [y], invalid

    def _classes_for(self, arr: pa.Array) -> list[Any]:
        """``classes`` converted to the type of the label column (see
        :func:`coerce_label_value`); raise when a class has no lossless conversion."""
        cfg = self.cfg
        out = [coerce_label_value(c, arr.type) for c in cfg.classes or ()]
        bad = [c for c, o in zip(cfg.classes or (), out, strict=True) if o is _NO_MATCH]
        if bad or len(set(out)) != len(out):
            seen = _shown(pc.unique(arr.drop_null()).to_pylist())
            what = (f"could not convert {bad[0]!r}" if bad
                    else "two classes are the same value of that type")  # fmt: skip
            raise ValueError(
                f"The 'classes' parameter of {cfg.func} must list values of the label column "
                f"{cfg.label!r} (type {arr.type}; labels seen: {seen}): {what}. "
                f"Got {list(cfg.classes or ())!r} instead."
            )
        return out

    def _positive_for(self, arr: pa.Array) -> Any:
        """``positive_label`` converted to the type of the label column, or an error."""
        cfg = self.cfg
        pos = coerce_label_value(cfg.positive_label, arr.type)
        if pos is _NO_MATCH:
            seen = _shown(pc.unique(arr.drop_null()).to_pylist())
            raise ValueError(
                f"The 'positive_label' parameter of {cfg.func} must be a value of the label "
                f"column {cfg.label!r} (type {arr.type}; labels seen: {seen}). "
                f"Got {cfg.positive_label!r} instead."
            )
        return pos

    def check_label_values(self, values: list[Any]) -> None:
        """The check of the whole stream: raise unless ``values`` (with those seen before)
        are at most two label values, and unless ``positive_label`` is one of them.

        Engines call it once all rows are read (the Spark engine with the union of its
        partitions' values), since a chunk may hold one label value only."""
        self._check_two_values(values)
        self._check_positive_seen()

    def _check_positive_seen(self) -> None:
        cfg = self.cfg
        if cfg.positive_label is None or cfg.classes is not None or not self.label_values:
            return
        seen = self.label_values
        pos = cfg.positive_label
        if isinstance(pos, np.generic):
            pos = pos.item()
        sample = next(iter(seen))
        if isinstance(sample, bool):
            typ: pa.DataType = pa.bool_()
        elif isinstance(sample, int | float):
            typ = pa.float64()
        else:
            typ = pa.string()
        coerced = coerce_label_value(pos, typ)
        if coerced is not _NO_MATCH and coerced in seen:
            return
        folded = str(pos).strip().lower()
        looks_alike = any(str(v).strip().lower() == folded for v in seen)
        if len(seen) >= 2 or looks_alike:
            raise ValueError(
                f"The 'positive_label' parameter of {cfg.func} must be one of the values of "
                f"the label column {cfg.label!r} (labels seen: {_shown(seen)}). Got "
                f"{cfg.positive_label!r} instead, which matches no label: every row would "
                "be a negative."
            )

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
            if cfg.task.scores == "numeric":
                mat = np.where(np.isfinite(mat), mat, 0.0)
            elif cfg.score_type == "logit":
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
