"""UCI BlogFeedback: predict the number of comments a blog post receives in the next 24 hours."""

from __future__ import annotations

import io
import os
import zipfile
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ._base import get_data_home

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_STATS = ("mean", "std", "min", "max", "median")
_BASE = (
    "comments_total", "comments_last_24h", "comments_24h_to_48h", "comments_first_24h",
    "comments_trend", "links_total", "links_last_24h", "links_24h_to_48h", "links_first_24h",
    "links_trend",
)  # fmt: skip


def _columns() -> list[str]:
    names = [f"source_{s}_{b}" for b in _BASE for s in _STATS]  # attributes 1-50
    names += list(_BASE)  # 51-60
    names += ["hours_since_publication", "post_length"]  # 61-62
    names += [f"word_{i:03d}" for i in range(200)]  # 63-262
    names += [f"basetime_{d}" for d in _WEEKDAYS]  # 263-269
    names += [f"published_{d}" for d in _WEEKDAYS]  # 270-276
    names += ["parent_pages", "parent_comments_min", "parent_comments_max", "parent_comments_mean"]
    names += ["target"]  # 281
    return names


def load_blog_feedback(
    split: Literal["train", "test"] = "train",
    *,
    data_home: str | os.PathLike[str] | None = None,
) -> pa.Table:
    """Load UCI BlogFeedback (Buza 2014), a regression benchmark (also used by DVRL).

    Reads ``blog_feedback/BlogFeedback.zip``: ``split="train"`` is ``blogData_train.csv``
    (52,397 posts, base times in 2010-2011), ``"test"`` the 60 daily test files of
    February-March 2012 concatenated (7,624 posts).

    Returns
    -------
    pyarrow.Table
        280 float64 features named after the UCI description (``source_mean_comments_total``
        ... for attributes 1-50, ``comments_total`` ... 51-60, ``hours_since_publication``,
        ``post_length``, ``word_000`` ... ``word_199`` bag of words, ``basetime_monday`` ...
        and ``published_monday`` ... weekday indicators, ``parent_pages`` and the parents'
        comment statistics), ``target`` (float64: comments in the 24 hours after the base
        time), and two columns derived for slicing: ``basetime_weekday`` and
        ``published_weekday`` (strings ``"monday"`` ... ``"sunday"``).

    Raises
    ------
    FileNotFoundError
        If the archive is not in the data home (it is not downloaded: get it from the UCI
        archive, data set 304).
    ValueError
        If ``split`` is not ``"train"`` or ``"test"``.
    """
    if split not in ("train", "test"):
        raise ValueError(
            f"The 'split' parameter of load_blog_feedback must be 'train' or 'test'. "
            f"Got {split!r} instead."
        )
    path = get_data_home(data_home) / "blog_feedback" / "BlogFeedback.zip"
    if not path.exists():
        raise FileNotFoundError(
            f"BlogFeedback is not in the data home: {path} is missing. Download "
            "BlogFeedback.zip from the UCI Machine Learning Repository (data set 304) into "
            f"{path.parent}."
        )
    names = _columns()
    opts = pacsv.ReadOptions(column_names=names)
    conv = pacsv.ConvertOptions(column_types={n: pa.float64() for n in names})
    tables = []
    with zipfile.ZipFile(path) as zf:
        members = sorted(
            m for m in zf.namelist()
            if m.endswith(".csv") and (("train" in m) if split == "train" else ("test" in m))
        )  # fmt: skip
        for m in members:
            tables.append(pacsv.read_csv(io.BytesIO(zf.read(m)), read_options=opts, convert_options=conv))
    table = pa.concat_tables(tables).combine_chunks()
    for prefix in ("basetime", "published"):
        onehot = np.column_stack([table.column(f"{prefix}_{d}").to_numpy() for d in _WEEKDAYS])
        day = np.array(_WEEKDAYS, dtype=object)[onehot.argmax(axis=1)]
        day[onehot.max(axis=1) == 0] = None
        table = table.append_column(f"{prefix}_weekday", pa.array(day, type=pa.string()))
    return table
