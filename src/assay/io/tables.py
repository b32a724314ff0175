"""Turn any supported input into a stream of Arrow record batches.

Accepted: a pandas or polars DataFrame, a PyArrow Table or RecordBatch, a mapping of
column name to array, or a path to a Parquet file, a directory of Parquet files or a CSV
file. Files are streamed in chunks so memory stays bounded whatever their size.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from .._util.validation import param_type_error


@dataclass
class TableSource:
    """A readable table: its column names, size hints and a batch iterator factory."""

    columns: list[str]
    description: str
    total_rows: int | None = None
    total_bytes: int | None = None
    _open: Callable[[list[str], int, dict[str, pa.DataType]], Iterator[pa.RecordBatch]] = field(
        default=lambda c, n, t: iter(()), repr=False
    )
    bytes_read: Callable[[], int] = field(default=lambda: 0, repr=False)

    def batches(
        self,
        columns: Sequence[str],
        chunk_size: int,
        types: Mapping[str, pa.DataType] | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """Yield record batches of at most ``chunk_size`` rows with only ``columns``."""
        return self._open(list(columns), chunk_size, dict(types or {}))


def open_source(
    data: Any, *, func: str, na_values: Sequence[str] | None = None
) -> TableSource:
    """Wrap ``data`` in a :class:`TableSource`.

    ``na_values``: strings read as missing values in a CSV file, besides the empty field
    (by default only the empty field is missing)."""
    if isinstance(data, str | os.PathLike):
        return _open_path(Path(data), func=func, na_values=na_values)
    if isinstance(data, pa.Table):
        return _from_table(data, "pyarrow Table")
    if isinstance(data, pa.RecordBatch):
        return _from_table(pa.Table.from_batches([data]), "pyarrow RecordBatch")
    mod = type(data).__module__.split(".")[0]
    if mod == "pandas" and hasattr(data, "iloc"):
        return _from_pandas(data)
    if mod == "polars" and hasattr(data, "to_arrow"):
        return _from_table(data.to_arrow(), "polars DataFrame")
    if isinstance(data, Mapping):
        return _from_mapping(data, func=func)
    raise param_type_error(
        "data",
        "a pandas or polars DataFrame, a pyarrow Table, a dict of arrays, "
        "or a path to a Parquet or CSV file",
        data,
        func=func,
    )


def _from_table(table: pa.Table, description: str) -> TableSource:
    def open_(cols: list[str], n: int, types: dict[str, pa.DataType]) -> Iterator[pa.RecordBatch]:
        sub = table.select(cols)
        yield from sub.to_batches(max_chunksize=n)

    return TableSource(table.column_names, description, total_rows=table.num_rows, _open=open_)


def _from_pandas(df: Any) -> TableSource:
    names = [str(c) for c in df.columns]

    def open_(cols: list[str], n: int, types: dict[str, pa.DataType]) -> Iterator[pa.RecordBatch]:
        sub = df[cols]
        for start in range(0, len(sub), n):
            # Table.from_pandas also handles Arrow-backed (chunked) pandas columns.
            part = pa.Table.from_pandas(sub.iloc[start : start + n], preserve_index=False)
            yield from part.combine_chunks().to_batches()

    return TableSource(names, "pandas DataFrame", total_rows=len(df), _open=open_)


def _from_mapping(data: Mapping[str, Any], *, func: str) -> TableSource:
    arrays: dict[str, pa.Array | pa.ChunkedArray] = {}
    lengths: dict[str, int] = {}
    for k, v in data.items():
        if not isinstance(k, str):
            raise param_type_error("data", "a mapping with string column names", k, func=func)
        if isinstance(v, pa.Array | pa.ChunkedArray):
            arr = v
        else:
            npv = np.asarray(v)
            if npv.ndim == 2:
                arr = pa.FixedSizeListArray.from_arrays(pa.array(npv.ravel()), npv.shape[1])
            elif npv.ndim == 1:
                arr = pa.array(npv) if npv.dtype != object else pa.array(list(npv))
            else:
                raise ValueError(
                    f"Column {k!r} of 'data' must be one- or two-dimensional. "
                    f"Got an array of shape {npv.shape} instead."
                )
        arrays[k] = arr
        lengths[k] = len(arr)
    if len(set(lengths.values())) > 1:
        raise ValueError(
            f"All columns of 'data' must have the same length. Got lengths {lengths} instead."
        )
    table = pa.table(arrays) if arrays else pa.table({})
    return _from_table(table, "dict of arrays")


class _CountingFile(io.RawIOBase):
    """A binary file wrapper that counts the bytes read (for progress on CSV files)."""

    def __init__(self, path: Path) -> None:
        self._f = open(path, "rb")
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self._f.readinto(b)
        self.count += n or 0
        return n or 0

    def read(self, size: int = -1) -> bytes:
        data = self._f.read(size)
        self.count += len(data)
        return data

    def close(self) -> None:
        self._f.close()
        super().close()


def is_csv_path(data: Any) -> bool:
    """Whether ``data`` is a path that is read as a CSV file."""
    if not isinstance(data, str | os.PathLike):
        return False
    path = Path(data)
    return "".join(path.suffixes[-2:]).lower().endswith(_CSV_SUFFIXES) and not path.is_dir()


_CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv")


def _open_path(path: Path, *, func: str, na_values: Sequence[str] | None = None) -> TableSource:
    if not path.exists():
        raise FileNotFoundError(f"The 'data' path {str(path)!r} does not exist.")
    if not os.access(path, os.R_OK):
        raise PermissionError(f"The 'data' path {str(path)!r} cannot be read (permission denied).")
    suffix = "".join(path.suffixes[-2:]).lower() if path.is_file() else ""
    if path.is_dir() or suffix.endswith((".parquet", ".pq")):
        return _open_parquet(path)
    if suffix.endswith(_CSV_SUFFIXES):
        return _open_csv(path, na_values=na_values)
    raise ValueError(
        f"The 'data' path of {func} must end in .parquet, .pq, .csv, .csv.gz or .tsv "
        f"(or be a directory of Parquet files). Got {str(path)!r} instead."
    )


def _open_parquet(path: Path) -> TableSource:
    import pyarrow.parquet as pq

    # pre_buffer=False: with pyarrow's default the reader keeps the pre-buffered compressed
    # bytes of every row group it read until it is closed, so memory grows with file size.
    if path.is_dir():
        import pyarrow.dataset as ds

        files, schema = _parquet_dir(path)
        dataset = ds.dataset(files, schema=schema, format="parquet")
        names = schema.names
        scan = ds.ParquetFragmentScanOptions(pre_buffer=False)

        def open_dir(
            cols: list[str], n: int, types: dict[str, pa.DataType]
        ) -> Iterator[pa.RecordBatch]:
            yield from dataset.to_batches(columns=cols, batch_size=n, fragment_scan_options=scan)

        return TableSource(
            names, f"Parquet dataset {path}", total_rows=dataset.count_rows(), _open=open_dir
        )
    try:
        pf = pq.ParquetFile(str(path), pre_buffer=False)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValueError(f"Could not read the Parquet file {str(path)!r}: {exc}") from None
    names = pf.schema_arrow.names

    def open_(cols: list[str], n: int, types: dict[str, pa.DataType]) -> Iterator[pa.RecordBatch]:
        with pq.ParquetFile(str(path), pre_buffer=False) as f:
            yield from f.iter_batches(batch_size=n, columns=cols)

    return TableSource(
        names, f"Parquet file {path}", total_rows=pf.metadata.num_rows, _open=open_
    )


def parquet_row_groups(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
) -> tuple[pa.Schema, list[tuple[str, int, int]]]:
    """The schema a Parquet file or directory reads with (a directory's files unified as
    :func:`open_source` does, with the same errors) and its row groups as
    ``(file, row group index, rows)``, in reading order: what an engine needs to split
    the reading of Parquet data into tasks that read with pyarrow. A list of files is
    read as the files of one directory."""
    import pyarrow.parquet as pq

    if isinstance(path, Sequence) and not isinstance(path, str):
        files = [os.fsdecode(os.fspath(f)) for f in path]
        if not files:
            raise ValueError("The list of Parquet files to read is empty.")
        return _unified_schema(files), _row_groups(files)
    p = Path(path)
    if p.is_dir():
        files, schema = _parquet_dir(p)
    else:
        _open_parquet(p)  # the local engine's checks and messages for a file
        files = [str(p)]
        schema = pq.read_schema(str(p))
    return schema, _row_groups(files)


def _row_groups(files: list[str]) -> list[tuple[str, int, int]]:
    import pyarrow.parquet as pq

    groups: list[tuple[str, int, int]] = []
    for f in files:
        md = pq.ParquetFile(f).metadata
        groups += [(f, i, md.row_group(i).num_rows) for i in range(md.num_row_groups)]
    return groups


def read_row_groups(
    schema: pa.Schema, groups: Sequence[tuple[str, Sequence[int]]], columns: Sequence[str],
    batch_size: int,
) -> Iterator[pa.RecordBatch]:
    """Batches of ``columns`` from the given row groups of Parquet files, read with
    ``schema`` (columns a file lacks read as missing values), as the local engine reads."""
    import pyarrow.dataset as ds
    from pyarrow import fs

    local = fs.LocalFileSystem()
    fmt = ds.ParquetFileFormat()
    scan = ds.ParquetFragmentScanOptions(pre_buffer=False)
    for f, rgs in groups:
        frag = fmt.make_fragment(os.path.abspath(f), filesystem=local, row_groups=list(rgs))
        dataset = ds.FileSystemDataset([frag], schema, fmt, filesystem=local)
        yield from dataset.to_batches(
            columns=list(columns), batch_size=batch_size, fragment_scan_options=scan
        )


def _parquet_dir(path: Path) -> tuple[list[str], pa.Schema]:
    """The Parquet files of a directory and their unified schema (errors name the path)."""
    import pyarrow.dataset as ds

    try:
        files = list(ds.dataset(str(path), format="parquet").files)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValueError(f"Could not read the Parquet directory {str(path)!r}: {exc}") from None
    if not files:
        raise ValueError(
            f"The 'data' directory {str(path)!r} holds no Parquet files (names starting "
            "with '.' or '_' are ignored)."
        )
    return files, _unified_schema(files)


def _unified_schema(files: list[str]) -> pa.Schema:
    """One schema for the Parquet files of a directory: columns missing from some files
    read as missing values there; a column whose types cannot be unified is an error that
    names two files that disagree."""
    import pyarrow.parquet as pq

    schemas: list[pa.Schema] = []
    for f in files:
        try:
            schemas.append(pq.read_schema(f))
        except (pa.ArrowInvalid, OSError) as exc:
            raise ValueError(f"Could not read the Parquet file {f!r}: {exc}") from None
    for f, sch in zip(files, schemas, strict=True):
        dup = sorted({n for n in sch.names if sch.names.count(n) > 1})
        if dup:
            raise ValueError(
                f"The Parquet file {f!r} has more than one column named {dup[0]!r}; "
                "column names must be unique."
            )
    try:
        return pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        pass
    first: dict[str, tuple[str, pa.DataType]] = {}
    for f, sch in zip(files, schemas, strict=True):
        for field_ in sch:
            prev = first.setdefault(field_.name, (f, field_.type))
            try:
                pa.unify_schemas(
                    [pa.schema([(field_.name, prev[1])]), pa.schema([field_])],
                    promote_options="permissive",
                )
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                raise ValueError(
                    f"The Parquet files of the directory disagree on the type of column "
                    f"{field_.name!r}: {prev[1]} in {prev[0]!r}, {field_.type} in {f!r}. "
                    "Write the files with one schema."
                ) from None
    raise ValueError("The Parquet files of the directory have schemas that cannot be unified.")


def _open_csv(path: Path, *, na_values: Sequence[str] | None = None) -> TableSource:
    import pyarrow.csv as pacsv

    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    parse = pacsv.ParseOptions(delimiter=delimiter)
    try:
        with pacsv.open_csv(str(path), parse_options=parse) as probe:
            names = probe.schema.names
    except pa.ArrowInvalid as exc:
        raise ValueError(f"Could not parse the CSV file {str(path)!r}: {exc}") from None
    counter: dict[str, _CountingFile | None] = {"f": None}
    compressed = path.suffix.lower() == ".gz"
    # Missing values are the empty field only, unless the caller names others: PyArrow's
    # default list ("NA", "N/A", "null", "nan", ...) would drop real values (Namibia, "NA").
    nulls = list(dict.fromkeys(["", *(na_values or ())]))
    hint = (
        " Missing values in a CSV file are the empty field only; pass na_values=[...] "
        "(CLI: --na-values) to read other markers such as 'NA' as missing."
        if na_values is None else ""
    )  # fmt: skip

    def open_(cols: list[str], n: int, types: dict[str, pa.DataType]) -> Iterator[pa.RecordBatch]:
        read = pacsv.ReadOptions(block_size=1 << 22)
        # Every column is parsed (a value left open by a quote can swallow rows whatever
        # column it is in), so the columns not needed are read as strings, unconverted,
        # and checked for such values too.
        all_types = {c: pa.string() for c in names if c not in cols}
        all_types.update(types)
        convert = pacsv.ConvertOptions(
            column_types=all_types, strings_can_be_null=True, null_values=nulls
        )
        raw: Any = str(path) if compressed else _CountingFile(path)
        counter["f"] = None if compressed else raw
        rows = 0
        try:
            reader = pacsv.open_csv(
                raw, read_options=read, parse_options=parse, convert_options=convert
            )
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                except pa.ArrowInvalid as exc:
                    raise ValueError(
                        f"Could not parse the CSV file {str(path)!r}: {exc}.{hint}"
                    ) from None
                _check_csv_values(batch, path, rows)
                rows += batch.num_rows
                batch = batch.select(cols)
                for start in range(0, batch.num_rows, n):
                    yield batch.slice(start, n)
        except pa.ArrowInvalid as exc:
            raise ValueError(f"Could not parse the CSV file {str(path)!r}: {exc}.{hint}") from None
        finally:
            if not compressed:
                raw.close()

    def bytes_read() -> int:
        f = counter["f"]
        return f.count if f is not None else 0

    return TableSource(
        names,
        f"CSV file {path}",
        total_bytes=path.stat().st_size,
        _open=open_,
        bytes_read=bytes_read,
    )


def _check_csv_values(batch: pa.RecordBatch, path: Path, start: int) -> None:
    """Raise on a value that spans lines: the reader does not allow newlines in values, so
    such a value is a quote left open, which swallows the rows after it into one value."""
    import pyarrow.compute as pc

    for name, col in zip(batch.schema.names, batch.columns, strict=True):
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            continue
        bad = pc.match_substring_regex(col, "[\r\n]").fill_null(False)
        if pc.any(bad).as_py():
            row = int(np.flatnonzero(np.asarray(bad.to_numpy(zero_copy_only=False)))[0])
            raise ValueError(
                f"Could not parse the CSV file {str(path)!r}: the value of column {name!r} "
                f"in data row {start + row + 1} spans several lines, which means a quote "
                "(\") opened there is never closed and the rows after it were read as part "
                "of that value. Close the quote (a quote inside a quoted value is written "
                "twice: \"\")."
            )
