"""Command-line interface: ``assay evaluate``, ``assay demo``, ``assay report``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _floats(text: str) -> list[float]:
    if text.strip().lower() == "none":
        return []
    try:
        return [float(x) for x in text.replace(" ", ",").split(",") if x]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas, got {text!r}"
        ) from None


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="assay", description="Examine and fix ML models and data.")
    sub = p.add_subparsers(dest="command", required=True)

    ev = sub.add_parser(
        "evaluate",
        help="sliced metrics with confidence intervals for a Parquet or CSV file",
        description="Evaluate scored examples overall and per slice, with confidence intervals.",
    )
    ev.add_argument("path", help="Parquet file, directory of Parquet files, or CSV file")
    ev.add_argument("--label", required=True, help="label column (0/1, bool, or strings)")
    ev.add_argument(
        "--score", action="append", required=True, help="score column; repeat to compare models"
    )
    ev.add_argument(
        "--slice",
        action="append",
        default=[],
        help="column to slice on; 'A,B' slices on the cross of A and B; repeatable",
    )
    ev.add_argument("--thresholds", type=_floats, default=None, help="e.g. 0.1,0.5,0.9")
    ev.add_argument(
        "--task", default="classification", help="classification (default) or regression"
    )
    ev.add_argument("--weight", default=None, help="example weight column")
    ev.add_argument("--confidence", type=float, default=0.95)
    ev.add_argument("--ci", choices=["jackknife", "bootstrap", "none"], default="jackknife")
    ev.add_argument("--replicates", type=int, default=None, help="buckets or bootstrap draws")
    ev.add_argument("--score-type", choices=["probability", "logit"], default="probability")
    ev.add_argument("--positive-label", default=None, help="positive value of a string label")
    ev.add_argument("--classes", default=None, help="comma-separated classes (multi-class)")
    ev.add_argument("--min-slice-size", type=int, default=1)
    ev.add_argument("--baseline", default="overall", help="baseline slice, e.g. 'sex=Male'")
    ev.add_argument("--auc", choices=["histogram", "exact"], default="histogram")
    ev.add_argument("--drop-invalid", action="store_true", help="drop rows with NaN/inf values")
    ev.add_argument(
        "--metrics", default=None, help="metrics shown in the table (default: the task's main ones)"
    )
    ev.add_argument("--show-threshold", type=float, default=None, help="threshold shown")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--engine", choices=["local", "spark"], default="local")
    ev.add_argument("--master", default=None, help="Spark master URL (default local[*])")
    ev.add_argument(
        "--na-values", default=None,
        help="comma-separated strings read as missing in a CSV file, besides the empty field "
        "(default: only the empty field), e.g. 'NA,N/A'",
    )  # fmt: skip
    ev.add_argument("--out", default=None, help="write the result as JSON here")
    ev.add_argument("--quiet", action="store_true", help="no progress bar")

    demo = sub.add_parser(
        "demo",
        help="end to end: train a classifier, find its fairness gap, fix it with MinDiff, report",
        description="Train a baseline MLP and the same MLP with MinDiff at several loss weights "
        "on a real data set, evaluate all of them in one call by slice with jackknife intervals, "
        "print each model's headline gap (with its significance) and its overall error rates, "
        "accuracy and positive rate, and write the report, the model card and the result.",
    )
    demo.add_argument("--dataset", choices=["adult", "compas"], default="adult",
                      help="data set: adult (FNR gap by sex) or compas (FPR gap by race) "
                      "(default: adult)")  # fmt: skip
    demo.add_argument("--data-home", default=None,
                      help="folder holding the data sets (default: $ASSAY_DATA_HOME, else "
                      "~/assay_data)")  # fmt: skip
    demo.add_argument("--out-dir", default="out/demo",
                      help="where the report, model card and result go (default: out/demo)")  # fmt: skip
    demo.add_argument("--loss", default=None,
                      help="MinDiff loss name, one of assay.fairness.remediation.MINDIFF_LOSSES "
                      "(default: mmd)")  # fmt: skip
    demo.add_argument("--loss-weight", type=float, default=None,
                      help="MinDiff weight of the model the summary and the trade-off sentence "
                      "use; always trained (default: 4)")  # fmt: skip
    demo.add_argument("--weights", type=_floats, default=None,
                      help="MinDiff weights of the sweep, comma-separated, each evaluated as a "
                      "model of the same result; 'none' trains only --loss-weight "
                      "(default: 1,2,4,8)")  # fmt: skip
    demo.add_argument("--epochs", type=int, default=None,
                      help="training epochs of every model (default: 8)")  # fmt: skip
    demo.add_argument("--seed", type=int, default=0,
                      help="seed of the split, the initial weights, the batches and the "
                      "intervals (default: 0)")  # fmt: skip
    demo.add_argument("--quiet", action="store_true",
                      help="no progress bars (default: shown; one line each when stderr is not "
                      "a terminal)")  # fmt: skip

    sub.add_parser(
        "metrics", help="list the metric catalogue (Markdown)",
        description="Print every metric of the catalogue: family, definition, range, direction.",
    )  # fmt: skip
    rep = sub.add_parser(
        "report", help="build the HTML report (and a model card) from saved results",
        description="Build the interactive HTML report from one or two result JSON files; the "
        "models are named as the results name them.",
    )  # fmt: skip
    rep.add_argument("result", help="result JSON written by evaluate --out or to_json()")
    rep.add_argument("other", nargs="?", default=None, help="a second result to compare with")
    rep.add_argument("--out", default="report.html", help="HTML file to write (default: report.html)")
    rep.add_argument("--names", default=None,
                     help="display names of the two results, 'A,B' (default: the model names "
                     "in the JSON files, else the file names)")  # fmt: skip
    rep.add_argument("--title", default=None, help="page title (default: from the model names)")
    rep.add_argument("--sample", default=None,
                     help="Parquet or CSV file of the evaluated rows (slice columns, label and "
                     "score columns) for the per-slice drill-down (default: none)")  # fmt: skip
    rep.add_argument("--sample-rows", type=int, default=20,
                     help="rows of --sample kept per slice (default: 20)")  # fmt: skip
    rep.add_argument("--model-card", default=None, help="also write a Markdown model card here")
    rep.add_argument("--card-info", default=None,
                     help="YAML or JSON file with the model card's authored sections "
                     "(model_details, intended_use, ...; default: none, the card says so)")  # fmt: skip
    rep.add_argument(
        "--headline", default=None,
        help="what the page opens with: 'METRIC;SLICE;REFERENCE_SLICE', e.g. "
        "'fnr;sex=Female;sex=Male' (';' because slice names may hold commas; default: none)",
    )  # fmt: skip
    rep.add_argument("--metrics", default=None,
                     help="metrics charted first, comma-separated (default: the catalogue's)")  # fmt: skip
    rep.add_argument("--threshold", type=float, default=None,
                     help="threshold shown first (default: the middle one)")  # fmt: skip
    return p


def _check_output(option: str, path: str | None) -> None:
    """Fail before any work when ``path`` cannot be written: a directory, or a file in a
    folder that does not exist."""
    if path is None:
        return
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{option} {path!r} is a directory; give the path of a file to write.")
    parent = p.parent
    if not parent.is_dir():
        raise ValueError(
            f"{option} {path!r}: the folder {str(parent)!r} does not exist; create it first."
        )
    if not os.access(parent, os.W_OK):
        raise ValueError(f"{option} {path!r}: the folder {str(parent)!r} is not writable.")


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .core.plan import DEFAULT_THRESHOLDS
    from .evaluation import evaluate

    _check_output("--out", args.out)
    if args.show_threshold is not None and args.task == "classification":
        evaluated = list(args.thresholds) if args.thresholds is not None else list(
            DEFAULT_THRESHOLDS
        )
        if not any(abs(args.show_threshold - t) < 1e-9 for t in evaluated):
            raise ValueError(
                f"--show-threshold {args.show_threshold:g} is not an evaluated threshold; the "
                f"thresholds are {', '.join(f'{t:g}' for t in sorted(evaluated))} (set them with "
                "--thresholds)."
            )
    classes: Any = None
    if args.classes:
        classes = [c.strip() for c in args.classes.split(",") if c.strip()]
    kwargs: dict[str, Any] = dict(
        label=args.label,
        scores=args.score if len(args.score) > 1 else args.score[0],
        slices=args.slice,
        weight=args.weight,
        thresholds=args.thresholds,
        score_type=args.score_type,
        classes=classes,
        positive_label=args.positive_label,
        min_slice_size=args.min_slice_size,
        ci=None if args.ci == "none" else args.ci,
        n_replicates=args.replicates,
        confidence=args.confidence,
        baseline=args.baseline,
        auc=args.auc,
        on_invalid="drop" if args.drop_invalid else "raise",
        seed=args.seed,
    )
    if args.na_values is not None:
        kwargs["na_values"] = [v.strip() for v in args.na_values.split(",") if v.strip()]
    if args.task != "classification":
        kwargs["task"] = args.task
        if args.thresholds is None:
            del kwargs["thresholds"]
    if args.engine == "spark":
        from .engines.spark import SparkEngine

        kwargs["engine"] = SparkEngine(master=args.master or None)
    else:
        kwargs["progress"] = not args.quiet
    result = evaluate(args.path, **kwargs)
    metrics = (
        None if args.metrics is None else [m.strip() for m in args.metrics.split(",") if m.strip()]
    )
    print(f"{result.n_rows:,} rows from {result.source}")
    print(result.format_table(metrics=metrics, threshold=args.show_threshold))
    if args.out:
        result.to_json(args.out)
        print(f"result written to {args.out}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .apps.demo import run_demo

    run_demo(
        args.dataset,
        out_dir=args.out_dir,
        data_home=args.data_home,
        loss=args.loss,
        loss_weight=args.loss_weight,
        weights=args.weights,
        epochs=args.epochs,
        seed=args.seed,
        progress=not args.quiet,
    )
    return 0


def _default_names(result: Any, other: Any, paths: Sequence[str]) -> tuple[str, str]:
    """Names of two results from what they hold: their model names when those differ,
    else their file names (the file path when even those are equal)."""
    by_models = tuple(", ".join(r.models) for r in (result, other))
    if by_models[0] != by_models[1]:
        return by_models[0], by_models[1]
    stems = tuple(Path(p).stem for p in paths)
    if stems[0] != stems[1]:
        return stems[0], stems[1]
    return str(paths[0]), str(paths[1])


def _cmd_report(args: argparse.Namespace) -> int:
    from .evaluation import EvalResult
    from .report import model_card, render_html

    _check_output("--out", args.out)
    _check_output("--model-card", args.model_card)
    if args.sample is not None and not Path(args.sample).exists():
        raise ValueError(f"--sample {args.sample!r} does not exist.")
    if args.card_info is not None and not Path(args.card_info).is_file():
        raise ValueError(f"--card-info {args.card_info!r} does not exist.")
    if args.sample_rows < 1:
        raise ValueError(f"--sample-rows must be an integer >= 1. Got {args.sample_rows}.")
    result = EvalResult.from_json(args.result)
    other = EvalResult.from_json(args.other) if args.other else None
    kw: dict[str, Any] = {"other": other, "title": args.title}
    if args.names:
        if other is None:
            raise ValueError("--names needs two results; with one, the models keep their names.")
        parts = [p.strip() for p in args.names.split(",")]
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"--names must be two names separated by a comma. Got {args.names!r}.")
        kw["names"] = (parts[0], parts[1])
    elif other is not None:
        kw["names"] = _default_names(result, other, [args.result, args.other])
    if args.headline:
        hl = [h.strip() for h in args.headline.split(";")]
        if len(hl) != 3 or not all(hl):
            raise ValueError(
                "--headline must be 'METRIC;SLICE;REFERENCE_SLICE' (three parts separated by "
                f"';'). Got {args.headline!r}."
            )
        kw["headline"] = tuple(hl)
    if args.metrics:
        kw["metrics"] = [m.strip() for m in args.metrics.split(",") if m.strip()]
    if args.threshold is not None:
        kw["threshold"] = args.threshold
    if args.sample is not None:
        kw["sample"] = args.sample
        kw["sample_rows"] = args.sample_rows
    render_html(result, args.out, **kw)
    print(f"report written to {args.out}")
    if args.model_card:
        names = kw.get("names")
        if other is not None and (len(result.models) != 1 or len(other.models) != 1):
            names = None  # the card names each model of multi-model results itself
        model_card(result, args.model_card, other=other, title=args.title, names=names,
                   headline=kw.get("headline"), info=args.card_info)  # fmt: skip
        print(f"model card written to {args.model_card}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "evaluate":
            return _cmd_evaluate(args)
        if args.command == "demo":
            return _cmd_demo(args)
        if args.command == "report":
            return _cmd_report(args)
        if args.command == "metrics":
            import assay  # noqa: F401  (registers the built-in families)

            from .core import catalogue

            print(catalogue.markdown())
            return 0
    except (ValueError, TypeError, ImportError) as exc:
        print(f"assay {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"assay {args.command}: error: {_os_message(exc)}", file=sys.stderr)
        return 2
    parser.error(f"unknown command {args.command!r}")
    return 2


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _os_message(exc: OSError) -> str:
    """A file error as one line that names the file (``PermissionError`` and friends
    print ``[Errno 13] Permission denied: 'x'``)."""
    if exc.filename is not None and exc.strerror:
        return f"cannot access {str(exc.filename)!r}: {exc.strerror}"
    return _one_line(exc)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
