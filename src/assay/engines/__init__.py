"""Execution engines for :func:`assay.evaluate` beyond the local, single-process one.

* :func:`~assay.engines.spark.evaluate_spark`: distributed evaluation on Apache Spark
  (needs ``assay[spark]``; PySpark is only imported when a Spark evaluation runs).
"""

from .spark import evaluate_spark, spark_session

__all__ = ["evaluate_spark", "spark_session"]
