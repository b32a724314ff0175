"""Loaders for the tabular fairness benchmarks: Adult, COMPAS, German credit, Bank Marketing.

Each loader reads the original files with :mod:`pyarrow.csv` and returns a
:class:`pyarrow.Table` (call ``.to_pandas()`` on it for a DataFrame).
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from assay._util.validation import check_choice

from ._base import fetch_file

__all__ = ["load_adult", "load_bank_marketing", "load_compas", "load_german"]

PathLike = str | os.PathLike[str]

# --------------------------------------------------------------------------------------------
# Adult
# --------------------------------------------------------------------------------------------

_ADULT_INT = (
    "age",
    "fnlwgt",
    "education_num",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
)
_ADULT_COLUMNS = (
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income",
)
_ADULT_FILES = {"train": "adult/adult.data", "test": "adult/adult.test"}


def _read_adult_file(path: Path, *, skip_rows: int) -> pa.Table:
    types = {name: (pa.int64() if name in _ADULT_INT else pa.string()) for name in _ADULT_COLUMNS}
    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=list(_ADULT_COLUMNS), skip_rows=skip_rows),
        parse_options=pacsv.ParseOptions(delimiter=","),
        convert_options=pacsv.ConvertOptions(
            column_types=types, null_values=[], strings_can_be_null=False
        ),
    )
    columns: list[pa.ChunkedArray] = []
    for name in _ADULT_COLUMNS:
        col = table.column(name)
        if name not in _ADULT_INT:
            col = pc.utf8_trim_whitespace(col)
            if name == "income":
                # adult.test writes the labels as '<=50K.' and '>50K.'.
                col = pc.utf8_rtrim(col, characters=".")
            else:
                col = pc.if_else(pc.equal(col, "?"), pa.scalar(None, pa.string()), col)
        columns.append(col)
    income = columns[-1]
    unexpected = set(pc.unique(income).to_pylist()) - {"<=50K", ">50K"}
    if unexpected:
        raise ValueError(f"Unexpected income values {sorted(map(str, unexpected))} in {path}.")
    label = pc.cast(pc.equal(income, ">50K"), pa.int8())
    return pa.Table.from_arrays([*columns, label], names=[*_ADULT_COLUMNS, "label"])


def load_adult(
    *,
    split: str = "train",
    data_home: PathLike | None = None,
    download: bool = True,
) -> pa.Table:
    """Load the UCI Adult (Census Income) data set.

    Reads ``adult/adult.data`` (train, 32561 rows) and ``adult/adult.test`` (test, 16281 rows)
    from the data home. Leading spaces are stripped, ``'?'`` becomes null, the trailing ``'.'``
    of the test labels is removed, and the first (comment) line of ``adult.test`` is skipped.

    Parameters
    ----------
    split : {"train", "test", "all"}, default="train"
        Which file to return; ``"all"`` concatenates train then test and adds a ``split``
        column.
    data_home : str, os.PathLike or None, default=None
        Folder holding ``adult/``; see :func:`assay.datasets.get_data_home`.
    download : bool, default=True
        Download a missing file from the UCI archive (checksum verified).

    Returns
    -------
    pyarrow.Table
        One row per person, with columns:

        - ``age`` (int64): age in years.
        - ``workclass`` (string, nullable): employer type, e.g. ``'Private'``.
        - ``fnlwgt`` (int64): census sampling weight ("final weight").
        - ``education`` (string): highest education level, e.g. ``'Bachelors'``.
        - ``education_num`` (int64): education level as a number (1-16).
        - ``marital_status`` (string): e.g. ``'Never-married'``.
        - ``occupation`` (string, nullable): e.g. ``'Exec-managerial'``.
        - ``relationship`` (string): role in the household, e.g. ``'Husband'``.
        - ``race`` (string): ``'White'``, ``'Black'``, ``'Asian-Pac-Islander'``,
          ``'Amer-Indian-Eskimo'`` or ``'Other'`` (sensitive).
        - ``sex`` (string): ``'Male'`` or ``'Female'`` (sensitive).
        - ``capital_gain``, ``capital_loss`` (int64): in US dollars.
        - ``hours_per_week`` (int64): usual working hours.
        - ``native_country`` (string, nullable): e.g. ``'United-States'``.
        - ``income`` (string): ``'<=50K'`` or ``'>50K'``.
        - ``label`` (int8): 1 where ``income`` is ``'>50K'``, else 0.
        - ``split`` (string): ``'train'`` or ``'test'``; only when ``split="all"``.

        Nulls (the original ``'?'``) occur only in ``workclass``, ``occupation`` and
        ``native_country``.

    Raises
    ------
    ValueError
        If ``split`` is not one of the allowed values.
    FileNotFoundError
        If a file is missing and cannot be downloaded.
    """
    check_choice("split", split, ("train", "test", "all"), func="load_adult")
    parts = ("train", "test") if split == "all" else (split,)
    tables = []
    for part in parts:
        path = fetch_file(
            _ADULT_FILES[part], data_home=data_home, download=download, func="load_adult"
        )
        tables.append(_read_adult_file(path, skip_rows=1 if part == "test" else 0))
    if split != "all":
        return tables[0]
    for i, part in enumerate(parts):
        tables[i] = tables[i].append_column(
            "split", pa.array([part] * tables[i].num_rows, type=pa.string())
        )
    return pa.concat_tables(tables).combine_chunks()


# --------------------------------------------------------------------------------------------
# COMPAS
# --------------------------------------------------------------------------------------------

_COMPAS_VARIANTS: dict[str, dict[str, str]] = {
    "two_year": {
        "file": "compas/compas-scores-two-years.csv",
        "score": "decile_score",
        "score_text": "score_text",
    },
    "violent": {
        "file": "compas/compas-scores-two-years-violent.csv",
        "score": "v_decile_score",
        "score_text": "v_score_text",
    },
}
_COMPAS_TYPES: dict[str, pa.DataType] = {
    "id": pa.int64(),
    "days_b_screening_arrest": pa.int64(),
    "is_recid": pa.int64(),
    "violent_recid": pa.int64(),  # empty in the ProPublica files
    "decile_score": pa.int64(),
    "v_decile_score": pa.int64(),
    "two_year_recid": pa.int64(),
    "c_charge_degree": pa.string(),
    "score_text": pa.string(),
    "v_score_text": pa.string(),
}


def _dedup_names(names: list[str]) -> list[str]:
    """Suffix repeated column names: the second ``x`` becomes ``x_1``, the third ``x_2``."""
    seen: Counter[str] = Counter()
    taken = set(names)
    out = []
    for name in names:
        n = seen[name]
        seen[name] += 1
        if n == 0:
            out.append(name)
            continue
        new = f"{name}_{n}"
        while new in taken:
            n += 1
            new = f"{name}_{n}"
        taken.add(new)
        out.append(new)
    return out


def load_compas(
    *,
    variant: str = "two_year",
    data_home: PathLike | None = None,
    download: bool = True,
    filter_propublica: bool = True,
) -> pa.Table:
    """Load ProPublica's COMPAS recidivism data (Broward County, Florida, 2013-2014).

    Parameters
    ----------
    variant : {"two_year", "violent"}, default="two_year"
        ``"two_year"`` reads ``compas/compas-scores-two-years.csv`` (7214 rows; general
        recidivism with the general risk score ``decile_score``); ``"violent"`` reads
        ``compas/compas-scores-two-years-violent.csv`` (4743 rows; violent recidivism with the
        violence risk score ``v_decile_score``).
    data_home : str, os.PathLike or None, default=None
        Folder holding ``compas/``; see :func:`assay.datasets.get_data_home`.
    download : bool, default=True
        Download a missing file from ProPublica's GitHub repository (checksum verified).
    filter_propublica : bool, default=True
        Apply the filter of ProPublica's analysis: keep rows with ``days_b_screening_arrest``
        between -30 and 30 (rows where it is missing are dropped), ``is_recid != -1``,
        ``c_charge_degree != 'O'`` and a score text other than ``'N/A'`` (``score_text`` for
        ``"two_year"``, ``v_score_text`` for ``"violent"``, as in ProPublica's notebook).
        This leaves 6172 rows of the two-year file and 4020 of the violent file.

    Returns
    -------
    pyarrow.Table
        All columns of the CSV, with types inferred by pyarrow (ids and counts int64, dates
        date32, jail times timestamp; empty fields are null, ``'N/A'`` stays a string). The
        main ones: ``id``, ``sex``, ``age``, ``age_cat``, ``race`` (sensitive),
        ``priors_count``, ``c_charge_degree`` (``'F'`` felony, ``'M'`` misdemeanor),
        ``decile_score`` (general risk decile 1-10), ``score_text`` (Low/Medium/High),
        ``v_decile_score`` and ``v_score_text`` (violence risk), ``is_recid``,
        ``days_b_screening_arrest`` and ``two_year_recid``. Repeated names in the header
        (``decile_score`` and ``priors_count``, and in the violent file also
        ``two_year_recid``) get a suffix: the second occurrence becomes ``decile_score_1``
        (pandas calls it ``decile_score.1``); in these files the repeated columns hold the
        same values. Two columns are added:

        - ``label`` (int8): ``two_year_recid``, 1 if the person reoffended (violently, for the
          violent variant) within two years, else 0.
        - ``score`` (float64): the COMPAS decile divided by 10 (``decile_score / 10`` for
          ``"two_year"``, ``v_decile_score / 10`` for ``"violent"``), a score in [0.1, 1]
          for an evaluator; higher means higher predicted risk.

    Raises
    ------
    ValueError
        If ``variant`` is not one of the allowed values.
    FileNotFoundError
        If the file is missing and cannot be downloaded.
    """
    check_choice("variant", variant, tuple(_COMPAS_VARIANTS), func="load_compas")
    spec = _COMPAS_VARIANTS[variant]
    path = fetch_file(spec["file"], data_home=data_home, download=download, func="load_compas")
    with path.open(newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    names = _dedup_names(header)
    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
        convert_options=pacsv.ConvertOptions(
            column_types={k: v for k, v in _COMPAS_TYPES.items() if k in names},
            null_values=[""],
            strings_can_be_null=True,
        ),
    )
    if filter_propublica:
        days = table.column("days_b_screening_arrest")
        mask = pc.and_kleene(
            pc.and_kleene(pc.greater_equal(days, -30), pc.less_equal(days, 30)),
            pc.and_kleene(
                pc.not_equal(table.column("is_recid"), -1),
                pc.and_kleene(
                    pc.not_equal(table.column("c_charge_degree"), "O"),
                    pc.not_equal(table.column(spec["score_text"]), "N/A"),
                ),
            ),
        )
        table = table.filter(mask, null_selection_behavior="drop")
    label = pc.cast(table.column("two_year_recid"), pa.int8())
    score = pc.divide(pc.cast(table.column(spec["score"]), pa.float64()), 10.0)
    table = table.append_column("label", label).append_column("score", score)
    return table.combine_chunks()


# --------------------------------------------------------------------------------------------
# German credit
# --------------------------------------------------------------------------------------------

_GERMAN_COLUMNS = (
    "checking_status",
    "duration",
    "credit_history",
    "purpose",
    "credit_amount",
    "savings",
    "employment",
    "installment_rate",
    "personal_status",
    "other_debtors",
    "residence_since",
    "property",
    "age",
    "other_installment_plans",
    "housing",
    "existing_credits",
    "job",
    "num_dependents",
    "telephone",
    "foreign_worker",
)
_GERMAN_INT = (
    "duration",
    "credit_amount",
    "installment_rate",
    "residence_since",
    "age",
    "existing_credits",
    "num_dependents",
)
_GERMAN_SEX = {"A91": "male", "A92": "female", "A93": "male", "A94": "male", "A95": "female"}


def load_german(*, data_home: PathLike | None = None, download: bool = True) -> pa.Table:
    """Load the UCI Statlog German credit data set (1000 rows, 700 good and 300 bad).

    Reads ``german/german.data`` (space separated, no header, 20 attributes and the class).

    Parameters
    ----------
    data_home : str, os.PathLike or None, default=None
        Folder holding ``german/``; see :func:`assay.datasets.get_data_home`.
    download : bool, default=True
        Download a missing file from the UCI archive (checksum verified).

    Returns
    -------
    pyarrow.Table
        One row per credit applicant. Categorical attributes keep their UCI codes (strings
        such as ``'A11'``; see ``german.doc`` in the UCI archive for their meaning), numeric
        ones are int64:

        - ``checking_status`` (A11-A14): status of the existing checking account.
        - ``duration`` (int64): duration in months.
        - ``credit_history`` (A30-A34).
        - ``purpose`` (A40-A410).
        - ``credit_amount`` (int64): in Deutsche Mark.
        - ``savings`` (A61-A65): savings account / bonds.
        - ``employment`` (A71-A75): present employment since.
        - ``installment_rate`` (int64): in percent of disposable income.
        - ``personal_status`` (A91-A95): sex and marital status; A91 male divorced/separated,
          A92 female divorced/separated/married, A93 male single, A94 male married/widowed,
          A95 female single.
        - ``other_debtors`` (A101-A103): other debtors / guarantors.
        - ``residence_since`` (int64): present residence since (years).
        - ``property`` (A121-A124).
        - ``age`` (int64): in years (sensitive).
        - ``other_installment_plans`` (A141-A143).
        - ``housing`` (A151-A153).
        - ``existing_credits`` (int64): number of existing credits at this bank.
        - ``job`` (A171-A174).
        - ``num_dependents`` (int64): number of people liable to provide maintenance for.
        - ``telephone`` (A191 none, A192 yes).
        - ``foreign_worker`` (A201 yes, A202 no).
        - ``sex`` (string): ``'male'`` or ``'female'``, derived from ``personal_status``
          (sensitive).
        - ``credit`` (string): ``'good'`` (class 1) or ``'bad'`` (class 2).
        - ``label`` (int8): 1 for good credit, 0 for bad.

    Raises
    ------
    FileNotFoundError
        If the file is missing and cannot be downloaded.
    """
    path = fetch_file(
        "german/german.data", data_home=data_home, download=download, func="load_german"
    )
    names = [*_GERMAN_COLUMNS, "class"]
    types = {n: (pa.int64() if n in _GERMAN_INT or n == "class" else pa.string()) for n in names}
    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=names),
        parse_options=pacsv.ParseOptions(delimiter=" "),
        convert_options=pacsv.ConvertOptions(
            column_types=types, null_values=[], strings_can_be_null=False
        ),
    )
    codes = pa.array(list(_GERMAN_SEX))
    sex = pa.array(list(_GERMAN_SEX.values())).take(
        pc.index_in(table.column("personal_status"), value_set=codes)
    )
    cls = table.column("class")
    unexpected = set(pc.unique(cls).to_pylist()) - {1, 2}
    if unexpected or sex.null_count:
        raise ValueError(f"Unexpected class or personal_status values in {path}.")
    good = pc.equal(cls, 1)
    credit = pc.if_else(good, "good", "bad")
    table = table.drop_columns(["class"])
    table = table.append_column("sex", sex)
    table = table.append_column("credit", credit)
    table = table.append_column("label", pc.cast(good, pa.int8()))
    return table.combine_chunks()


# --------------------------------------------------------------------------------------------
# Bank Marketing
# --------------------------------------------------------------------------------------------

_BANK_FILES = {
    "full": "bank_marketing/bank-full.csv",
    "additional": "bank_marketing/bank-additional-full.csv",
}


def load_bank_marketing(
    *,
    variant: str = "full",
    data_home: PathLike | None = None,
    download: bool = True,
) -> pa.Table:
    """Load the UCI Bank Marketing data set (Portuguese bank, term-deposit phone campaigns).

    Parameters
    ----------
    variant : {"full", "additional"}, default="full"
        ``"full"`` reads ``bank_marketing/bank-full.csv`` (45211 rows, 2008-2010, 17
        columns); ``"additional"`` reads ``bank_marketing/bank-additional-full.csv`` (41188
        rows, 2008-2010, 21 columns including five social and economic indicators).
    data_home : str, os.PathLike or None, default=None
        Folder holding ``bank_marketing/``; see :func:`assay.datasets.get_data_home`.
    download : bool, default=True
        Accepted for a uniform signature. UCI publishes these files only inside zip archives,
        so there is no URL to download them from; a missing file raises
        :class:`FileNotFoundError` explaining how to provide it.

    Returns
    -------
    pyarrow.Table
        All columns of the file with their original names, except that dots become
        underscores (``emp.var.rate`` -> ``emp_var_rate``). Strings are string, integers
        int64, the indicators float64. Missing categorical values are the category
        ``'unknown'``, as in the original data. Columns: ``age`` (int64, the usual sensitive
        column), ``job``, ``marital``, ``education``, ``default``, ``balance`` (int64, euros,
        ``"full"`` only), ``housing``, ``loan``, ``contact``, ``day`` (``"full"`` only),
        ``month``, ``day_of_week`` (``"additional"`` only), ``duration`` (seconds of the last
        call; known only after the call, so not a fair predictor), ``campaign``, ``pdays``
        (days since a previous campaign's contact; -1 in ``"full"`` and 999 in
        ``"additional"`` mean never contacted), ``previous``, ``poutcome``; for
        ``"additional"`` also ``emp_var_rate``, ``cons_price_idx``, ``cons_conf_idx``,
        ``euribor3m``, ``nr_employed``; then

        - ``y`` (string): ``'yes'`` if the client subscribed a term deposit, else ``'no'``.
        - ``label`` (int8): 1 where ``y`` is ``'yes'``, else 0.

    Raises
    ------
    ValueError
        If ``variant`` is not one of the allowed values.
    FileNotFoundError
        If the file is missing.
    """
    check_choice("variant", variant, tuple(_BANK_FILES), func="load_bank_marketing")
    path = fetch_file(
        _BANK_FILES[variant], data_home=data_home, download=download, func="load_bank_marketing"
    )
    table = pacsv.read_csv(
        path,
        parse_options=pacsv.ParseOptions(delimiter=";"),
        convert_options=pacsv.ConvertOptions(
            column_types={"y": pa.string()}, null_values=[], strings_can_be_null=False
        ),
    )
    table = table.rename_columns([n.replace(".", "_") for n in table.column_names])
    y = table.column("y")
    unexpected = set(pc.unique(y).to_pylist()) - {"yes", "no"}
    if unexpected:
        raise ValueError(f"Unexpected values {sorted(map(str, unexpected))} of 'y' in {path}.")
    table = table.append_column("label", pc.cast(pc.equal(y, "yes"), pa.int8()))
    return table.combine_chunks()
