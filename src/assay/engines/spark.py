"""Distributed :func:`assay.evaluate` on Apache Spark.

The evaluation engine summarizes rows into a mergeable
:class:`~assay.evaluation.state.EvalState`; this module runs that engine on Spark
without changing it:

1. On the driver, the arguments are validated exactly as :func:`assay.evaluate` does
   (errors raise before any Spark job) and only the needed columns are selected.
2. On the executors, ``DataFrame.mapInArrow`` streams each partition's Arrow record
   batches through the same :class:`~assay.evaluation.evaluate.ChunkReader` into one
   state per partition, which is pickled, compressed and emitted as a single row.
3. The per-partition states are merged by a tree reduction: while more than
   ``_FAN_IN`` remain, they are shuffled into ``ceil(n / _FAN_IN)`` partitions and merged
   there (again with ``mapInArrow``), so the driver receives at most ``_FAN_IN`` states,
   whose size depends on the slices, thresholds and bins, never on the number of rows.
4. The driver merges those and finalizes the result with the local engine's code.

Replicate assignment (jackknife buckets, bootstrap draws) must not depend on how rows
are partitioned, so the default ``row_key=None`` means :data:`~assay.evaluation.ROW_CONTENT`
here: each row's replicates are drawn from a hash of its content. With the same
``row_key`` the local and the Spark engine give the same result: identical counts, and
other values equal up to floating-point summation order.

Only DataFrame operations are used (no RDDs), so the same code runs on classic Spark and
on Spark Connect. assay (and its dependencies numpy and pyarrow) must be importable on
the executors.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import pickle
import sys
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from .._util.optional import require
from .._util.validation import param_type_error
from ..core.engine import EngineRun
from ..core.plan import ROW_CONTENT, ROW_POSITION, Plan
from ..core.reader import ChunkReader
from ..core.result import EvalResult
from ..core.state import EvalState
from ..evaluation.evaluate import evaluate
from ..io.tables import TableSource, open_source, parquet_row_groups, read_row_groups

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SparkEngine", "evaluate_spark", "spark_session"]

#: Most partial states merged by one task of the tree reduction (and by the driver).
_FAN_IN = 8
_PAYLOAD = "payload binary"
_PAYLOAD_SCHEMA = pa.schema([("payload", pa.binary())])
_DEFAULT_MASTER = "local[*]"
#: Exceptions that mean "the data is invalid", sent to the driver instead of failing tasks.
_DATA_ERRORS = (
    ValueError,
    TypeError,
    ArithmeticError,
    LookupError,
    NotImplementedError,
    pa.ArrowException,
)
_BATCH_CONF = "spark.sql.execution.arrow.maxRecordsPerBatch"
_BATCH_DEFAULT = "10000"
#: Arrow batch size used when the user kept Spark's default (see :func:`_arrow_batches`).
_BATCH_ROWS = 100_000
_READS = ("auto", "spark", "arrow")
_NOT_PARQUET = (".csv", ".csv.gz", ".tsv", ".json", ".jsonl", ".txt", ".orc", ".avro")


class SparkEngine:
    """Runs an evaluation plan on Apache Spark (``assay[spark]``).

    Parameters
    ----------
    spark
        The session to read a path with (default: the active session, else a new one).
        Ignored for a DataFrame, which brings its own.
    master
        Master URL of the session created when there is none (default ``local[*]``,
        or the master given to ``spark-submit``).
    read
        How a Parquet path is read: ``"spark"`` (Spark reads it and streams its Arrow
        batches to the Python workers), ``"arrow"`` (the row groups are split into Spark
        tasks and each task reads its row groups with pyarrow, as the local engine does:
        no JVM-to-Python transfer; every executor must see the path) or ``"auto"``
        (default: ``"arrow"`` when the master is local and the path exists here, else
        ``"spark"``). A DataFrame that is exactly a scan of local Parquet files
        (``spark.read.parquet(path)`` untransformed, no partition columns) is read the same
        way under ``"auto"``/``"arrow"``; any other DataFrame is read by Spark. The numbers
        do not depend on it.

    Replicate assignment must not depend on the partitioning, so a plan with
    ``row_key=None`` runs with :data:`~assay.core.plan.ROW_CONTENT` here: each row's
    replicates are drawn from a hash of its content. Pass a column name as ``row_key`` to
    hash an ID column instead. ``chunk_size`` is the most rows added to a partition's state
    at once (Spark's Arrow batches are concatenated up to it); ``progress`` is ignored
    (Spark shows its own progress in the console and the Spark UI).
    """

    name = "spark"

    def __init__(
        self, spark: SparkSession | None = None, master: str | None = None, *, read: str = "auto"
    ) -> None:
        if master is not None and not isinstance(master, str):
            raise param_type_error("master", "a Spark master URL (str) or None", master,
                                   func="SparkEngine")  # fmt: skip
        if read not in _READS:
            raise ValueError(
                f"The 'read' parameter of SparkEngine must be one of {list(_READS)}. "
                f"Got {read!r} instead."
            )
        self.spark = spark
        self.master = master
        self.read = read

    def run(self, plan: Plan, data: Any, *, progress: bool = False) -> EngineRun:
        del progress
        if not (_is_spark_dataframe(data) or isinstance(data, str | os.PathLike)):
            data, plan = self._from_memory(plan, data)
        if plan.row_key is None:
            plan = plan.with_row_key(ROW_CONTENT)
        direct = self._direct_tasks(plan, data)
        if direct is not None:
            df, tasks, schema, description = direct
            n_parts: int | None = tasks
            parts = df.mapInArrow(partial(_direct_payload, plan, schema), _PAYLOAD)
        else:
            df, description = _as_dataframe(data, self.spark, self.master, plan.func)
            plan.check_columns(TableSource(list(df.columns), description))
            selected = _select(df, plan)
            n_parts = _num_partitions(selected)
            parts = selected.mapInArrow(partial(_partition_payload, plan), _PAYLOAD)
        if n_parts is not None:
            description = f"{description} ({n_parts} partition{'s' if n_parts != 1 else ''})"
        for m in _tree_levels(n_parts):
            parts = parts.repartition(m).mapInArrow(_merge_payloads, _PAYLOAD)
        total = _Partial()
        with (
            _job_description(df, f"assay.{plan.func}: {description}"),
            _arrow_batches(df, plan.chunk_size),
        ):
            rows = parts.collect()
        for row in rows:
            total = _combine(total, _loads(bytes(row[0])))
        del rows

        if total.error is not None:
            raise total.error
        if total.label_values:
            # Each partition checked its own label values; check their union as the local
            # engine checks the values of the whole stream.
            ChunkReader(plan).check_label_values(sorted(total.label_values, key=repr))
        merged = total.state if total.state is not None else EvalState(plan)
        return EngineRun(merged, total.seen, description)


    def _from_memory(self, plan: Plan, data: Any) -> tuple[DataFrame, Plan]:
        """In-memory data (pandas, polars, Arrow, a dict of arrays) as a Spark DataFrame of
        the needed columns. Without a ``row_key`` each row keeps its position as its key
        (a column :data:`MEMORY_ROW_KEY`), so the replicates, and so the intervals, are
        those of the local engine on the same data."""
        source = open_source(data, func=plan.func)
        if MEMORY_ROW_KEY in source.columns:
            raise ValueError(
                f"The data has a column named {MEMORY_ROW_KEY!r}, which the Spark engine "
                "uses for the row positions of in-memory data; rename it."
            )
        plan.check_columns(source)
        cols = plan.needed_columns()
        batches = list(source.batches(cols, max(plan.chunk_size, 1)))
        table = (
            pa.Table.from_batches(batches)
            if batches
            else pa.Table.from_batches([], schema=pa.schema([(c, pa.float64()) for c in cols]))
        )
        if plan.row_key is None:
            table = table.append_column(MEMORY_ROW_KEY, pa.array(np.arange(table.num_rows, dtype=np.int64)))
            plan = plan.with_row_key(MEMORY_ROW_KEY)
        session = self.spark if self.spark is not None else spark_session(self.master)
        # Spark splits the table into default-parallelism partitions itself.
        return session.createDataFrame(table), plan

    def _direct_tasks(self, plan: Plan, data: Any) -> tuple[DataFrame, int, bytes, str] | None:
        """For a Parquet path read with pyarrow: a DataFrame with one row per task (its
        row groups, JSON), one partition per task; the schema; the description."""
        if self.read == "spark":
            return None
        if _is_spark_dataframe(data):
            return self._direct_scan(plan, data)
        if not isinstance(data, str | os.PathLike):
            return None
        path = os.fsdecode(os.fspath(data))
        if path.lower().endswith(_NOT_PARQUET) or not os.path.exists(path):
            return None  # the Spark path gives its own messages
        session = self.spark if self.spark is not None else spark_session(self.master)
        master = _master_of(session)
        if self.read == "auto" and not (master or "").startswith("local"):
            return None
        schema, groups = parquet_row_groups(path)
        description = f"Parquet {path}"
        plan.check_columns(TableSource(list(schema.names), description))
        return self._tasks(session, schema, groups, description)

    def _direct_scan(self, plan: Plan, df: DataFrame) -> tuple[DataFrame, int, bytes, str] | None:
        """A DataFrame that is exactly a scan of local Parquet files (``spark.read.parquet``
        with no projection, filter, partition columns or other transformation) is read
        like a path: the same rows, without the JVM-to-Python transfer."""
        files = _parquet_scan_files(df)
        if files is None:
            return None
        session = df.sparkSession
        if self.read == "auto" and not (_master_of(session) or "").startswith("local"):
            return None
        try:
            schema, groups = parquet_row_groups(files)
        except (ValueError, OSError):
            return None  # Spark reads what pyarrow cannot unify (e.g. its own schema rules)
        if sorted(schema.names) != sorted(df.columns):
            return None  # Spark kept another schema (no mergeSchema): let it read
        description = f"Spark DataFrame (Parquet scan of {len(files)} file" + (
            "s)" if len(files) != 1 else ")"
        )
        plan.check_columns(TableSource(list(df.columns), description))
        return self._tasks(session, schema, groups, description)

    def _tasks(
        self, session: SparkSession, schema: pa.Schema, groups: list[tuple[str, int, int]],
        description: str,
    ) -> tuple[DataFrame, int, bytes, str]:
        try:
            slots = int(session.sparkContext.defaultParallelism)
        except Exception:
            slots = 2
        tasks = _split_row_groups(groups, max(1, slots))
        rows = [(json.dumps(t),) for t in tasks] or [("[]",)]
        try:
            # exactly one task per partition: a round-robin repartition of a few rows can
            # put two of them in one partition (and leave a core idle)
            rdd = session.sparkContext.parallelize(rows, len(rows))
            df = session.createDataFrame(rdd, "task string")
        except Exception:  # Spark Connect has no SparkContext
            df = session.createDataFrame(rows, "task string").repartition(len(rows))
        return df, len(rows), schema.serialize().to_pybytes(), description


def _split_row_groups(
    groups: list[tuple[str, int, int]], slots: int
) -> list[list[tuple[str, list[int]]]]:
    """Contiguous runs of row groups, about equal in rows, one task per slot (fewer when
    there are fewer row groups); each task is a list of ``(file, row group indices)``."""
    total = sum(n for _, _, n in groups)
    n_tasks = max(1, min(slots, len(groups)))
    per = total / n_tasks if total else 1.0
    tasks: list[list[tuple[str, list[int]]]] = [[] for _ in range(n_tasks)]
    done = 0
    for f, i, n in groups:
        k = min(n_tasks - 1, int(done / per)) if per else 0
        task = tasks[k]
        if task and task[-1][0] == f:
            task[-1][1].append(i)
        else:
            task.append((f, [i]))
        done += n
    return [t for t in tasks if t]


def evaluate_spark(
    data: Any,
    *,
    spark: SparkSession | None = None,
    master: str | None = None,
    **kwargs: Any,
) -> EvalResult:
    """:func:`assay.evaluate` on Apache Spark: the same arguments and the same result.

    ``evaluate_spark(data, spark=s, master=m, **kw)`` is
    ``evaluate(data, engine=SparkEngine(spark=s, master=m), **kw)``; ``spark`` is the session
    to read a path with and ``master`` the master URL of a new session (see
    :class:`SparkEngine`). Its signature is :func:`assay.evaluate`'s (derived from it, so the
    parameter list exists once).
    """
    return evaluate(data, engine=SparkEngine(spark=spark, master=master), **kwargs)


def _spark_signature() -> inspect.Signature:
    base = inspect.signature(evaluate)
    params = [p for name, p in base.parameters.items() if name != "engine"]
    params += [
        inspect.Parameter("spark", inspect.Parameter.KEYWORD_ONLY, default=None),
        inspect.Parameter("master", inspect.Parameter.KEYWORD_ONLY, default=None),
    ]
    return base.replace(parameters=params)


evaluate_spark.__signature__ = _spark_signature()  # type: ignore[attr-defined]


def spark_session(master: str | None = None) -> SparkSession:
    """The active Spark session, or a new one on ``master``.

    With ``master=None``: the active session if there is one; else a session on the
    master given to ``spark-submit`` when run by it, else on ``local[*]``. For a local
    master the Python workers run this interpreter (``PYSPARK_PYTHON`` is set to it
    unless already set), so that they import the same assay, numpy and pyarrow.
    """
    require("pyspark", "spark")
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        current = _master_of(active)
        if master is None or current is None or current == master:
            return active
        raise ValueError(
            f"A Spark session on master {current!r} is already running in this process; "
            f"cannot start one on {master!r}. Stop it first (spark.stop()) or pass it as "
            "'spark'."
        )
    builder = SparkSession.builder.appName("assay")
    if master is None and "PYSPARK_GATEWAY_PORT" not in os.environ:
        master = _DEFAULT_MASTER  # not launched by spark-submit: run locally
    if master is not None:
        builder = builder.master(master)
        if master.startswith("local"):
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return builder.getOrCreate()


# ---------------------------------------------------------------------- driver side
def _master_of(session: Any) -> str | None:
    try:
        return str(session.sparkContext.master)
    except Exception:  # Spark Connect has no SparkContext
        return None


@contextmanager
def _job_description(df: DataFrame, text: str) -> Iterator[None]:
    """Name the Spark jobs run inside (shown in the Spark UI), where the API allows."""
    try:
        sc = df.sparkSession.sparkContext
        before = sc.getLocalProperty("spark.job.description")
        sc.setJobDescription(text)
    except Exception:  # Spark Connect has no SparkContext
        yield
        return
    try:
        yield
    finally:
        sc.setJobDescription(before)  # type: ignore[arg-type]


@contextmanager
def _arrow_batches(df: DataFrame, chunk_size: int) -> Iterator[None]:
    """Larger Arrow batches from the JVM while the job runs, unless the user set the size.

    Spark's default of 10,000 rows per batch costs about 12% of the evaluation in the
    JVM-to-Arrow conversion (docs/benchmarks.md); the worker concatenates batches up to
    ``chunk_size`` anyway, so the numbers do not depend on it. An explicit setting (any
    value but the default) is left alone; the previous value is restored afterwards.
    """
    try:
        conf = df.sparkSession.conf
        before = conf.get(_BATCH_CONF, None)
    except Exception:
        yield
        return
    if before not in (None, _BATCH_DEFAULT):
        yield
        return
    conf.set(_BATCH_CONF, str(max(1, min(chunk_size, _BATCH_ROWS))))
    try:
        yield
    finally:
        if before is None:
            conf.unset(_BATCH_CONF)
        else:
            conf.set(_BATCH_CONF, before)


def _is_spark_dataframe(data: Any) -> bool:
    return type(data).__module__.startswith("pyspark.") and hasattr(data, "mapInArrow")


def _parquet_scan_files(df: DataFrame) -> list[str] | None:
    """The local files a DataFrame reads when its analyzed plan is a bare Parquet relation
    without partition columns (exactly the rows of those files), else ``None`` (also on
    Spark Connect, which has no JVM plan to inspect)."""
    from urllib.parse import unquote, urlparse

    try:
        plan = df._jdf.queryExecution().analyzed()
        if plan.getClass().getSimpleName() != "LogicalRelation":
            return None
        rel = plan.relation()
        if rel.getClass().getSimpleName() != "HadoopFsRelation":
            return None
        if rel.fileFormat().getClass().getSimpleName() != "ParquetFileFormat":
            return None
        if rel.partitionSchema().length() != 0:
            return None
        uris = [str(u) for u in rel.location().inputFiles()]
    except Exception:
        return None
    files = []
    for u in uris:
        parsed = urlparse(u)
        if parsed.scheme not in ("file", ""):
            return None
        f = unquote(parsed.path)
        if not os.path.isfile(f):
            return None
        files.append(f)
    return sorted(files) or None


#: Column holding each row's position when in-memory data is sent to Spark (its row key).
MEMORY_ROW_KEY = ROW_POSITION


def _as_dataframe(
    data: Any, spark: SparkSession | None, master: str | None, func: str
) -> tuple[DataFrame, str]:
    if _is_spark_dataframe(data):
        return data, "Spark DataFrame"
    if isinstance(data, str | os.PathLike):
        path = os.fspath(data)
        if not isinstance(path, str):
            path = os.fsdecode(path)
        if path.lower().endswith(_NOT_PARQUET):
            raise ValueError(
                f"The Spark engine reads Parquet paths only; got {path!r}. Read other "
                "formats with Spark yourself (e.g. spark.read.csv(path, header=True, "
                "inferSchema=True)) and pass the DataFrame."
            )
        session = spark if spark is not None else spark_session(master)
        try:
            return session.read.parquet(path), f"Parquet {path}"
        except Exception as exc:
            if _error_condition(exc) == "PATH_NOT_FOUND":
                raise FileNotFoundError(f"The 'data' path {path!r} does not exist.") from exc
            raise
    raise param_type_error(
        "data",
        "a Spark DataFrame or a path to Parquet data when running on Spark",
        data,
        func=func,
    )


def _error_condition(exc: BaseException) -> str | None:
    for getter in ("getCondition", "getErrorClass"):
        fn = getattr(exc, getter, None)
        if callable(fn):
            try:
                return str(fn())
            except Exception:
                continue
    return None


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _select(df: DataFrame, cfg: Plan) -> DataFrame:
    """The needed columns, with Spark types the local engine cannot read converted.

    Decimal labels, scores and weights become doubles; Spark ML vector scores (the
    ``probability`` column of a classifier) become arrays of doubles.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import DecimalType, UserDefinedType

    types = {f.name: f.dataType for f in df.schema.fields}
    score_cols = {c for cols in cfg.models.values() for c in cols}
    numeric = score_cols | {cfg.label} | ({cfg.weight} if cfg.weight else set())
    exprs = []
    for name in cfg.needed_columns():
        col = F.col(_quoted(name))
        dtype = types.get(name)
        if isinstance(dtype, DecimalType) and name in numeric:
            col = col.cast("double")
        elif isinstance(dtype, UserDefinedType) and dtype.simpleString() == "vector":
            from pyspark.ml.functions import vector_to_array

            col = vector_to_array(col)
        exprs.append(col.alias(name))
    return df.select(*exprs)


def _num_partitions(df: DataFrame) -> int | None:
    """The number of partitions of ``df`` (an upper bound under AQE), if it can be known."""
    try:
        return int(df.rdd.getNumPartitions())
    except Exception:  # Spark Connect: no RDDs
        return None


def _tree_levels(n_parts: int | None) -> list[int]:
    """Partition counts of the merge levels of the tree reduction."""
    if n_parts is None:
        return [_FAN_IN]
    levels: list[int] = []
    n = n_parts
    while n > _FAN_IN:
        n = math.ceil(n / _FAN_IN)
        levels.append(n)
    return levels


# -------------------------------------------------------------------- payloads
@dataclass
class _Partial:
    """What one partition (or one merge of partitions) sends on."""

    state: EvalState | None = None
    seen: int = 0
    label_values: set[Any] = field(default_factory=set)
    error: BaseException | None = None
    error_partition: int = -1


def _combine(a: _Partial, b: _Partial) -> _Partial:
    """Merge ``b`` into ``a`` (in place); the error of the lowest partition wins."""
    if b.error is not None and (a.error is None or b.error_partition < a.error_partition):
        a.error, a.error_partition = b.error, b.error_partition
    if a.error is not None:
        a.state = None  # the evaluation fails anyway: stop carrying states
    elif b.state is not None:
        a.state = b.state if a.state is None else a.state.merge(b.state)
    a.seen += b.seen
    a.label_values |= b.label_values
    return a


def _dumps(part: _Partial) -> bytes:
    if part.state is not None:
        part.state.compact()
    raw = pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL)
    # State arrays are sparse for small partitions; zstd makes them small and is fast.
    if pa.Codec.is_available("zstd"):
        body = pa.compress(raw, codec="zstd", asbytes=True)
        return b"Z" + len(raw).to_bytes(8, "little") + body
    return b"N" + raw


def _loads(blob: bytes) -> _Partial:
    if blob[:1] == b"Z":
        size = int.from_bytes(blob[1:9], "little")
        raw = pa.decompress(blob[9:], decompressed_size=size, codec="zstd", asbytes=True)
    else:
        raw = blob[1:]
    out = pickle.loads(raw)
    assert isinstance(out, _Partial)
    return out


def _payload_batch(part: _Partial) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [pa.array([_dumps(part)], pa.binary())], schema=_PAYLOAD_SCHEMA
    )


# -------------------------------------------------------------- executor side
def _partition_id() -> int:
    from pyspark import TaskContext

    ctx = TaskContext.get()
    return ctx.partitionId() if ctx is not None else -1


def _rebatch(batches: Iterable[pa.RecordBatch], size: int) -> Iterator[pa.RecordBatch]:
    """Concatenate consecutive batches up to at least ``size`` rows (empty ones dropped)."""
    buf: list[pa.RecordBatch] = []
    n = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        buf.append(batch)
        n += batch.num_rows
        if n >= size:
            yield _concat(buf)
            buf, n = [], 0
    if buf:
        yield _concat(buf)


def _concat(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(batches) == 1:
        return batches[0]
    table = pa.Table.from_batches(batches).combine_chunks()
    out = table.to_batches()
    return out[0] if len(out) == 1 else pa.Table.from_batches(out).combine_chunks().to_batches()[0]


def _picklable(exc: BaseException, partition: int) -> BaseException:
    """``exc`` with a note on where it happened, made safe to send to the driver."""
    note = (
        f"(raised on a Spark executor in partition {partition}; row numbers count from the "
        "start of that partition)"
    )
    if not isinstance(exc, ValueError | TypeError):
        tb = "".join(traceback.format_exception(exc)).rstrip()
        note += f"\nExecutor traceback:\n{tb}"
    try:
        exc.add_note(note)
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        plain = RuntimeError(f"{type(exc).__name__}: {exc}")
        plain.add_note(note)
        return plain


def _partition_payload(cfg: Plan, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """mapInArrow function: one partition's batches -> one row holding its partial state."""
    it = iter(batches)
    st = EvalState(cfg)
    reader = ChunkReader(cfg)
    try:
        for batch in _rebatch(it, cfg.chunk_size):
            reader.add(st, batch)
        part = _Partial(
            state=st if reader.seen else None,
            seen=reader.seen,
            label_values=set(reader.label_values),
        )
    except _DATA_ERRORS as exc:
        # The data is invalid: retrying elsewhere would fail again, so report it to the
        # driver, which raises it as the local engine would. Anything else fails the task.
        pid = _partition_id()
        part = _Partial(error=_picklable(exc, pid), error_partition=pid)
        for _ in it:  # let Spark finish streaming the partition
            pass
    yield _payload_batch(part)


def _direct_payload(
    cfg: Plan, schema_bytes: bytes, batches: Iterable[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """mapInArrow function of ``read="arrow"``: the partition's rows name row groups of
    Parquet files; read them with pyarrow into one partial state."""
    schema = pa.ipc.read_schema(pa.py_buffer(schema_bytes))
    cols = cfg.needed_columns()

    def data() -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for text in batch.column(0).to_pylist():
                groups = [(f, rgs) for f, rgs in json.loads(text)]
                yield from read_row_groups(schema, groups, cols, cfg.chunk_size)

    yield from _partition_payload(cfg, data())


def _merge_payloads(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """mapInArrow function of the tree reduction: merge all partial states of a partition."""
    acc: _Partial | None = None
    for batch in batches:
        for blob in batch.column(0).to_pylist():
            part = _loads(blob)
            acc = part if acc is None else _combine(acc, part)
    if acc is not None:
        yield _payload_batch(acc)
