"""Sliced evaluation: ``assay.evaluate`` against Fairlearn's ``MetricFrame``.

The same synthetic table (``y`` 0/1, ``score`` a probability rounded to 4 decimals,
``sex`` with 2 values, ``race`` with 5) is evaluated by both libraries:

* slices: ``sex``, ``race`` and the ``sex x race`` cross (plus the overall slice, which
  both report);
* metrics: FPR and FNR at the 9 thresholds 0.1 ... 0.9 (positive means ``score > t``)
  and ROC AUC, per slice;
* without intervals, and with intervals: assay's delete-a-group jackknife (20 buckets)
  against Fairlearn's bootstrap (``n_boot=20``, 2.5 % / 97.5 % quantiles).

Fairlearn is called the idiomatic way: one ``MetricFrame`` per grouping (``sex``, ``race``,
``[sex, race]``), ``y_pred=score`` passed once, the threshold applied inside each metric
function (``functools.partial``), ``fairlearn.metrics.false_positive_rate`` /
``false_negative_rate`` with ``pos_label=1`` and ``sklearn.metrics.roc_auc_score``.
Without intervals a second, non-idiomatic Fairlearn variant is timed too: a single
vector-valued metric that computes all 19 numbers in one call, which avoids most of
MetricFrame's per-metric overhead (it cannot be bootstrapped: Fairlearn's quantiles need
scalar metrics).

The numbers are checked: FPR / FNR must agree to 1e-12, ROC AUC must agree within the
``max_error`` bound assay reports for its histogram AUC, and exactly (1e-9) with
``auc="exact"``.

Wall-clock and process CPU seconds are both reported: on a shared machine the CPU
seconds (and their ratio) are the more stable figure.

Bootstrapped Fairlearn runs predicted to need more than ``--budget`` CPU seconds (predicted
as ``n_boot + 1`` times the measured run without intervals) are not run at that size: they
are measured at the smallest size and at ``--scaling-size`` rows (prefixes of the same
table), and their time is extrapolated linearly in the number of rows from the largest size
measured; the measured scaling is printed to justify the linearity. Such rows are marked
``extrapolated``. Runs without intervals are always measured.

Usage::

    python benchmarks/bench_fairlearn.py                 # 100k and 1M rows (~35 min)
    python benchmarks/bench_fairlearn.py --quick         # smoke run, 20k rows
    python benchmarks/bench_fairlearn.py --sizes 100000,300000 --json out.json
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

import assay

THRESHOLDS = [round(0.1 * i, 1) for i in range(1, 10)]
SLICES: list[Any] = ["sex", "race", ("sex", "race")]
# what evaluate() runs on: a modified file here marks the commit '+dirty'
ENGINE_PATHS = ["src/assay/evaluation", "src/assay/io", "src/assay/_util"]
RACES = ["A", "B", "C", "D", "E"]
RACE_P = [0.40, 0.25, 0.15, 0.12, 0.08]


# --------------------------------------------------------------------------- data
def make_table(n: int, seed: int = 0) -> pd.DataFrame:
    """Synthetic scored table with group-dependent base rates and score quality."""
    rng = np.random.default_rng(seed)
    sex_i = rng.integers(0, 2, n)
    race_i = rng.choice(len(RACES), size=n, p=RACE_P)
    base = -0.4 + 0.3 * sex_i - 0.15 * race_i
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-base))).astype(np.int64)
    signal = 1.6 - 0.2 * race_i + 0.2 * sex_i
    logit = base + signal * (2 * y - 1) + rng.normal(0.0, 1.4, n)
    score = np.round(1.0 / (1.0 + np.exp(-logit)), 4)
    return pd.DataFrame(
        {
            "y": y,
            "score": score,
            "sex": np.array(["F", "M"])[sex_i],
            "race": np.array(RACES)[race_i],
        }
    )


# --------------------------------------------------------------------------- fairlearn
def _fpr_at(y_true: Any, y_pred: Any, *, t: float) -> float:
    from fairlearn.metrics import false_positive_rate

    return float(false_positive_rate(y_true, y_pred > t, pos_label=1))


def _fnr_at(y_true: Any, y_pred: Any, *, t: float) -> float:
    from fairlearn.metrics import false_negative_rate

    return float(false_negative_rate(y_true, y_pred > t, pos_label=1))


def fairlearn_metrics() -> dict[str, Callable[..., float]]:
    from sklearn.metrics import roc_auc_score

    metrics: dict[str, Callable[..., float]] = {}
    for t in THRESHOLDS:
        metrics[f"fpr@{t}"] = functools.partial(_fpr_at, t=t)
        metrics[f"fnr@{t}"] = functools.partial(_fnr_at, t=t)
    metrics["roc_auc"] = roc_auc_score
    return metrics


def _all_at_once(y_true: Any, y_pred: Any) -> Any:
    """The 19 numbers of one slice in one call (the non-idiomatic vector variant)."""
    from sklearn.metrics import roc_auc_score

    vals = [_fpr_at(y_true, y_pred, t=t) for t in THRESHOLDS]
    vals += [_fnr_at(y_true, y_pred, t=t) for t in THRESHOLDS]
    vals.append(float(roc_auc_score(y_true, y_pred)))
    return np.array(vals)


def _groupings(df: pd.DataFrame) -> dict[str, Any]:
    return {"sex": df["sex"], "race": df["race"], "sex x race": df[["sex", "race"]]}


def run_fairlearn(df: pd.DataFrame, n_boot: int | None) -> dict[str, Any]:
    """Three MetricFrames (sex, race, sex x race), optionally bootstrapped."""
    from fairlearn.metrics import MetricFrame

    kw: dict[str, Any] = {}
    if n_boot:
        kw = {"n_boot": n_boot, "ci_quantiles": [0.025, 0.975], "random_state": 0}
    metrics = fairlearn_metrics()
    return {
        name: MetricFrame(
            metrics=metrics, y_true=df["y"], y_pred=df["score"], sensitive_features=sf, **kw
        )
        for name, sf in _groupings(df).items()
    }


def run_fairlearn_vector(df: pd.DataFrame) -> dict[str, Any]:
    from fairlearn.metrics import MetricFrame

    return {
        name: MetricFrame(
            metrics={"all": _all_at_once},
            y_true=df["y"],
            y_pred=df["score"],
            sensitive_features=sf,
        )
        for name, sf in _groupings(df).items()
    }


def fairlearn_values(mfs: dict[str, Any]) -> dict[tuple[str, str], float]:
    """``{(slice name, metric name): value}`` from the three MetricFrames."""
    out: dict[tuple[str, str], float] = {}
    for col, v in mfs["sex"].overall.items():
        out[("overall", str(col))] = float(v)
    for name, mf in mfs.items():
        for idx, row in mf.by_group.iterrows():
            if name == "sex x race":
                sl = f"sex={idx[0]}, race={idx[1]}"
            else:
                sl = f"{name}={idx}"
            for col, v in row.items():
                out[(sl, str(col))] = float(v)
    return out


def fairlearn_vector_values(mfs: dict[str, Any]) -> dict[tuple[str, str], float]:
    names = [f"fpr@{t}" for t in THRESHOLDS] + [f"fnr@{t}" for t in THRESHOLDS] + ["roc_auc"]
    out: dict[tuple[str, str], float] = {}
    for (sl, _), arr in fairlearn_values_raw(mfs).items():
        for n, v in zip(names, arr, strict=True):
            out[(sl, n)] = float(v)
    return out


def fairlearn_values_raw(mfs: dict[str, Any]) -> dict[tuple[str, str], Any]:
    out: dict[tuple[str, str], Any] = {("overall", "all"): mfs["sex"].overall["all"]}
    for name, mf in mfs.items():
        for idx, row in mf.by_group.iterrows():
            sl = f"sex={idx[0]}, race={idx[1]}" if name == "sex x race" else f"{name}={idx}"
            out[(sl, "all")] = row["all"]
    return out


def fairlearn_intervals(mfs: dict[str, Any]) -> dict[tuple[str, str], tuple[float, float]]:
    out: dict[tuple[str, str], tuple[float, float]] = {}
    lo_o, hi_o = mfs["sex"].overall_ci
    for col in lo_o.index:
        out[("overall", str(col))] = (float(lo_o[col]), float(hi_o[col]))
    for name, mf in mfs.items():
        lo, hi = mf.by_group_ci
        for idx in lo.index:
            sl = f"sex={idx[0]}, race={idx[1]}" if name == "sex x race" else f"{name}={idx}"
            for col in lo.columns:
                out[(sl, str(col))] = (float(lo.loc[idx, col]), float(hi.loc[idx, col]))
    return out


# --------------------------------------------------------------------------- assay
def run_assay(df: pd.DataFrame, ci: str | None, auc: str = "histogram") -> assay.EvalResult:
    return assay.evaluate(
        df,
        label="y",
        scores="score",
        slices=SLICES,
        thresholds=THRESHOLDS,
        ci=ci,
        n_replicates=20 if ci else None,
        auc=auc,
    )


def assay_values(r: assay.EvalResult) -> dict[tuple[str, str], tuple[float, float, float, float]]:
    """``{(slice, metric name as in fairlearn_metrics): (value, lower, upper, max_error)}``."""
    f = r.to_frame()
    f = f[f["metric"].isin(["fpr", "fnr", "roc_auc"])]
    out: dict[tuple[str, str], tuple[float, float, float, float]] = {}
    for sl, m, t, v, lo, hi, me in zip(
        f["slice"],
        f["metric"],
        f["threshold"],
        f["value"],
        f["lower"],
        f["upper"],
        f["max_error"],
        strict=True,
    ):
        name = m if m == "roc_auc" else f"{m}@{round(float(t), 1)}"
        out[(str(sl), name)] = (float(v), float(lo), float(hi), float(me))
    return out


# --------------------------------------------------------------------------- checks
def compare(
    fl: dict[tuple[str, str], float],
    av: dict[tuple[str, str], tuple[float, float, float, float]],
    exact: dict[tuple[str, str], tuple[float, float, float, float]] | None,
) -> dict[str, Any]:
    """Max deviations between Fairlearn and assay; raises if a check fails."""
    if set(fl) != set(av):
        missing = sorted(set(fl) ^ set(av))[:5]
        raise AssertionError(f"fairlearn and assay report different cells: {missing}")
    rate_err = 0.0
    auc_err = 0.0
    auc_excess = -np.inf
    max_bound = 0.0
    exact_err = 0.0
    n_auc = 0
    for key, v in fl.items():
        a, _, _, bound = av[key]
        if key[1] == "roc_auc":
            n_auc += 1
            d = abs(a - v)
            auc_err = max(auc_err, d)
            max_bound = max(max_bound, bound)
            auc_excess = max(auc_excess, d - bound)
            if exact is not None:
                exact_err = max(exact_err, abs(exact[key][0] - v))
        else:
            rate_err = max(rate_err, abs(a - v))
    out = {
        "cells": len(fl),
        "auc_cells": n_auc,
        "max_abs_diff_fpr_fnr": rate_err,
        "max_abs_diff_auc_histogram": auc_err,
        "max_reported_auc_max_error": max_bound,
        "auc_within_bound": bool(auc_excess <= 1e-12),
        "max_abs_diff_auc_exact": exact_err if exact is not None else None,
    }
    if rate_err > 1e-12:
        raise AssertionError(f"FPR/FNR differ by {rate_err:g} > 1e-12")
    if not out["auc_within_bound"]:
        raise AssertionError(f"histogram AUC error exceeds the reported bound by {auc_excess:g}")
    if exact is not None and exact_err > 1e-9:
        raise AssertionError(f"exact AUC differs from sklearn by {exact_err:g}")
    return out


def compare_intervals(
    fl_ci: dict[tuple[str, str], tuple[float, float]],
    av: dict[tuple[str, str], tuple[float, float, float, float]],
) -> dict[str, Any]:
    """How the jackknife intervals relate to Fairlearn's bootstrap percentile intervals."""
    ratios = []
    overlap = 0
    for key, (lo, hi) in fl_ci.items():
        _, alo, ahi, _ = av[key]
        if hi - lo > 0 and np.isfinite(alo) and np.isfinite(ahi):
            ratios.append((ahi - alo) / (hi - lo))
            overlap += int(max(lo, alo) <= min(hi, ahi))
    return {
        "cells": len(ratios),
        "width_ratio_median": float(np.median(ratios)) if ratios else None,
        "width_ratio_p10": float(np.percentile(ratios, 10)) if ratios else None,
        "width_ratio_p90": float(np.percentile(ratios, 90)) if ratios else None,
        "intervals_overlap": overlap,
    }


# --------------------------------------------------------------------------- timing
def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def repeat(fn: Callable[[], Any], n: int) -> tuple[list[float], list[float], Any]:
    walls, cpus, out = [], [], None
    for _ in range(n):
        w, c, out = timed(fn)
        walls.append(w)
        cpus.append(c)
    return walls, cpus, out


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {loadavg()}] {msg}", file=sys.stderr, flush=True)


def _git_commit() -> str:
    """Short commit of the checkout the benchmark runs from ('+dirty' if modified)."""
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        sha = subprocess.run(
            ["git", "-C", root, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--", *ENGINE_PATHS],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("+dirty" if dirty else "")


def versions() -> dict[str, str]:
    import fairlearn
    import pyarrow
    import sklearn

    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "assay": assay.__version__,
        "assay_commit": _git_commit(),
        "fairlearn": fairlearn.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "pyarrow": pyarrow.__version__,
        "cpu": cpu,
        "cores": str(os.cpu_count()),
    }


# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="100000,1000000", help="comma-separated row counts")
    p.add_argument("--quick", action="store_true", help="smoke run: 20k rows, n_boot=5")
    p.add_argument("--n-boot", type=int, default=20, help="Fairlearn bootstrap draws")
    p.add_argument("--repeats", type=int, default=5, help="assay repeats (median; >= 3)")
    p.add_argument(
        "--fairlearn-repeats",
        type=int,
        default=3,
        help="Fairlearn repeats when one run takes under --slow seconds (else 1)",
    )
    p.add_argument("--slow", type=float, default=60.0, help="see --fairlearn-repeats")
    p.add_argument(
        "--budget",
        type=float,
        default=600.0,
        help="bootstrapped Fairlearn runs predicted to need more CPU seconds are "
        "extrapolated, not run",
    )
    p.add_argument(
        "--scaling-size",
        type=int,
        default=200_000,
        help="extra size at which bootstrapped Fairlearn is measured to show linear "
        "scaling before extrapolating (0: skip)",
    )
    p.add_argument("--no-vector", action="store_true", help="skip the vector-metric variant")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="write all measurements to this JSON file")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes = "20000"
        args.n_boot = min(args.n_boot, 5)
        args.repeats = 3
        args.fairlearn_repeats = 1
        args.scaling_size = 0
    sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    a_reps = max(3, args.repeats)

    info = versions()
    log("versions: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    biggest = max([*sizes, args.scaling_size])
    log(f"generating {biggest:,} rows (seed {args.seed}); smaller sizes are its prefixes")
    full = make_table(biggest, args.seed)
    score_levels = full["score"].nunique()

    # warm-up both libraries (imports, first-call caches) on a tiny table
    tiny = full.iloc[:2000].copy()
    run_fairlearn(tiny, None)
    run_assay(tiny, None)
    run_assay(tiny, "jackknife")

    rows: list[dict[str, Any]] = []
    checks: dict[str, Any] = {}
    # size -> (median wall s, median cpu s) of measured Fairlearn runs
    fl_ci_measured: dict[int, tuple[float, float]] = {}
    fl_noci_measured: dict[int, tuple[float, float]] = {}
    scaling: dict[str, Any] = {}

    def fl_repeats(first_wall: float) -> int:
        return 1 if first_wall > args.slow else max(1, args.fairlearn_repeats)

    def measure(fn: Callable[[], Any]) -> tuple[list[float], list[float], Any]:
        """One run; more (median) when it is quicker than --slow seconds."""
        w, c, out = timed(fn)
        walls, cpus = [w], [c]
        for _ in range(fl_repeats(w) - 1):
            w, c, out = timed(fn)
            walls.append(w)
            cpus.append(c)
        return walls, cpus, out

    for n in sizes:
        df = full.iloc[:n].copy()
        n_rows = len(df)
        # ---- assay
        log(f"n={n:,}: assay ci=None x{a_reps}")
        a_w0, a_c0, r0 = repeat(lambda df=df: run_assay(df, None), a_reps)
        log(f"n={n:,}: assay ci=jackknife x{a_reps}")
        a_w1, a_c1, r1 = repeat(lambda df=df: run_assay(df, "jackknife"), a_reps)
        log(f"n={n:,}: assay auc='exact' (correctness check) x1")
        ex_w, _, rex = timed(lambda df=df: run_assay(df, None, auc="exact"))
        av0, av1, avx = assay_values(r0), assay_values(r1), assay_values(rex)
        same_points = max(abs(av0[k][0] - av1[k][0]) for k in av0)

        # ---- fairlearn, no intervals (always measured)
        log(f"n={n:,}: fairlearn ci=None")
        fl_w0, fl_c0, mfs = measure(lambda df=df: run_fairlearn(df, None))
        fl_noci_measured[n] = (statistics.median(fl_w0), statistics.median(fl_c0))
        fl_vals = fairlearn_values(mfs)
        del mfs
        check = compare(fl_vals, av0, avx)
        check["max_abs_diff_points_jackknife_vs_none"] = same_points
        check["assay_exact_auc_seconds"] = ex_w
        checks[str(n)] = check
        log(f"n={n:,}: checks {check}")
        rows.append(
            _row(
                n_rows,
                "none",
                "MetricFrame x3, 19 scalar metrics",
                fl_w0,
                fl_c0,
                "measured",
                a_w0,
                a_c0,
            )
        )

        if not args.no_vector:
            log(f"n={n:,}: fairlearn vector-metric variant, ci=None")
            v_w, v_c, vmfs = measure(lambda df=df: run_fairlearn_vector(df))
            compare(fairlearn_vector_values(vmfs), av0, None)
            del vmfs
            rows.append(
                _row(
                    n_rows,
                    "none",
                    "MetricFrame x3, 1 vector metric (non-idiomatic)",
                    v_w,
                    v_c,
                    "measured",
                    a_w0,
                    a_c0,
                )
            )

        # ---- fairlearn, bootstrap intervals
        predicted = fl_noci_measured[n][1] * (args.n_boot + 1)
        if n == sizes[0] or predicted <= args.budget:
            log(f"n={n:,}: fairlearn n_boot={args.n_boot} (predicted ~{predicted:.0f} CPU s)")
            fl_w1, fl_c1, mfs = measure(lambda df=df: run_fairlearn(df, args.n_boot))
            fl1_status = "measured"
            fl_ci_measured[n] = (statistics.median(fl_w1), statistics.median(fl_c1))
            compare(fairlearn_values(mfs), av1, None)
            checks[str(n)]["intervals_vs_fairlearn_bootstrap"] = compare_intervals(
                fairlearn_intervals(mfs), av1
            )
            del mfs
        else:
            sc = args.scaling_size
            if sc and sc not in fl_ci_measured and sc > max(fl_ci_measured, default=0):
                log(f"scaling check: fairlearn n_boot={args.n_boot} at {sc:,} rows")
                sub = full.iloc[:sc].copy()
                sw, scpu, _ = timed(lambda sub=sub: run_fairlearn(sub, args.n_boot))
                fl_ci_measured[sc] = (sw, scpu)
                del sub
            m = max(fl_ci_measured)
            est = fl_ci_measured[m][0] * n / m
            fl_w1, fl_c1 = [est], [fl_ci_measured[m][1] * n / m]
            fl1_status = f"extrapolated from {m:,} rows"
            log(
                f"n={n:,}: fairlearn n_boot={args.n_boot} predicted ~{predicted:.0f} CPU s > budget; "
                f"extrapolated from {m:,} rows: {est:.0f}s"
            )
        rows.append(
            _row(
                n_rows,
                "jackknife(20) vs bootstrap",
                f"MetricFrame x3, n_boot={args.n_boot}",
                fl_w1,
                fl_c1,
                fl1_status,
                a_w1,
                a_c1,
            )
        )
        del df

    for kind, meas in (("no intervals", fl_noci_measured), ("bootstrap", fl_ci_measured)):
        if len(meas) >= 2:
            scaling[kind] = {
                str(k): {
                    "wall_s": meas[k][0],
                    "cpu_s": meas[k][1],
                    "wall_s_per_100k_rows": meas[k][0] / k * 1e5,
                    "cpu_s_per_100k_rows": meas[k][1] / k * 1e5,
                }
                for k in sorted(meas)
            }

    print_report(info, args, rows, checks, scaling, score_levels)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "versions": info,
                    "args": vars(args),
                    "rows": rows,
                    "checks": checks,
                    "scaling": scaling,
                    "score_levels": int(score_levels),
                },
                f,
                indent=2,
                default=float,
            )
    return 0


def _row(
    n: int,
    ci: str,
    fl_config: str,
    fl_w: list[float],
    fl_c: list[float],
    fl_status: str,
    a_w: list[float],
    a_c: list[float],
) -> dict[str, Any]:
    fl = statistics.median(fl_w)
    a = statistics.median(a_w)
    return {
        "rows": n,
        "ci": ci,
        "fairlearn_config": fl_config,
        "fairlearn_s": fl,
        "fairlearn_runs": len(fl_w) if fl_status == "measured" else 0,
        "fairlearn_cpu_s": statistics.median(fl_c),
        "fairlearn_status": fl_status,
        "fairlearn_all_s": fl_w,
        "assay_s": a,
        "assay_runs": len(a_w),
        "assay_cpu_s": statistics.median(a_c),
        "assay_all_s": a_w,
        "speedup": fl / a,
        "speedup_cpu": statistics.median(fl_c) / statistics.median(a_c),
    }


def print_report(
    info: dict[str, str],
    args: Any,
    rows: list[dict[str, Any]],
    checks: dict[str, Any],
    scaling: dict[str, Any],
    score_levels: int,
) -> None:
    print()
    print(
        f"machine: {info['cpu']}, {info['cores']} cores; python {info['python']}, "
        f"assay {info['assay']} ({info['assay_commit']}), fairlearn {info['fairlearn']}, scikit-learn "
        f"{info['scikit-learn']}, numpy {info['numpy']}, pandas {info['pandas']}, "
        f"pyarrow {info['pyarrow']}"
    )
    print(
        f"data: y 0/1, score = probability rounded to 4 decimals ({score_levels} distinct "
        f"values), sex (2 values), race (5 values); slices overall, sex, race, sex x race "
        f"(18 slices); FPR and FNR at 9 thresholds + ROC AUC per slice"
    )
    print()
    print(
        "| rows | intervals | Fairlearn configuration | Fairlearn wall s | Fairlearn CPU s "
        "| runs | assay wall s | assay CPU s | runs | speedup (wall) | speedup (CPU) |"
    )
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        extrapolated = r["fairlearn_status"] != "measured"
        mark = "*" if extrapolated else ""
        runs = f"- ({r['fairlearn_status']})" if extrapolated else str(r["fairlearn_runs"])
        print(
            f"| {r['rows']:,} | {r['ci']} | {r['fairlearn_config']} | "
            f"{r['fairlearn_s']:.1f}{mark} | {r['fairlearn_cpu_s']:.1f}{mark} | {runs} | "
            f"{r['assay_s']:.3f} | {r['assay_cpu_s']:.3f} | {r['assay_runs']} | "
            f"{r['speedup']:,.0f}x{mark} | {r['speedup_cpu']:,.0f}x{mark} |"
        )
    print()
    print(
        "Seconds are medians over the runs (speedup = Fairlearn / assay); CPU = process CPU "
        "seconds, less sensitive to other load on a shared machine. All assay wall times:"
    )
    for r in rows:
        print(f"  {r['rows']:>9,} {r['ci']:<27} {[round(x, 3) for x in r['assay_all_s']]}")
    if scaling:
        print()
        print("Measured Fairlearn scaling in rows (wall / CPU seconds, and per 100k rows):")
        for kind, d in scaling.items():
            parts = [
                f"{int(k):,} rows: {v['wall_s']:.1f} / {v['cpu_s']:.1f} s "
                f"({v['wall_s_per_100k_rows']:.1f} / {v['cpu_s_per_100k_rows']:.1f} s per "
                f"100k)"
                for k, v in d.items()
            ]
            print(f"  {kind}: " + "; ".join(parts))
    print()
    print("Agreement (all checks passed):")
    for n, c in checks.items():
        print(f"  {int(n):,} rows: {json.dumps(c, default=float)}")
    if any(r["fairlearn_status"] != "measured" for r in rows):
        print()
        print(
            "NOTE: Fairlearn numbers marked * were NOT measured: they are a linear "
            "extrapolation in the number of rows from the largest size measured with the "
            "same configuration (see the measured scaling above); the assay numbers on those "
            "rows are measured."
        )


if __name__ == "__main__":
    sys.exit(main())
