"""Engines that run an evaluation plan elsewhere than in this process.

``spark``: Apache Spark (``assay[spark]``), see :mod:`assay.engines.spark`. Importing this
package registers the engine names (``engine="spark"``) without importing PySpark.
"""

from __future__ import annotations

from typing import Any

from ..core.engine import Engine, register_engine


def _is_pyspark(obj: Any) -> bool:
    return type(obj).__module__.startswith("pyspark.")


def _spark_engine(spark: Any = None) -> Engine:
    from .spark import SparkEngine

    return SparkEngine(spark=spark)


register_engine("spark", _spark_engine, handles=_is_pyspark)

from .spark import SparkEngine, evaluate_spark, spark_session  # noqa: E402

__all__ = ["SparkEngine", "evaluate_spark", "spark_session"]
