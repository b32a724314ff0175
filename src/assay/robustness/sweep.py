"""The seed sweep: train one model per seed, predict every stress input, checkpoint.

:func:`run_sweep` calls ``train(seed)`` for each seed (in this process or in ``n_jobs``
worker processes), scores every input with ``predict(model, X)`` and keeps only the
predictions. With ``checkpoint_dir`` each finished seed is written there at once
(``seed_<seed>.npz``, atomically), so an interrupted sweep resumes without redoing finished
seeds; a seed whose training or prediction raises is recorded (``seed_<seed>.error.txt``,
the traceback) and the sweep goes on.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._util.progress import Progress
from .._util.validation import check_int
from .stress import feature_schema, n_rows

__all__ = ["SweepRun", "default_predict", "predict_inputs", "run_sweep", "seed_streams"]

_FUNC = "run_sweep"
Predict = Callable[[Any, Any], Any]


@dataclass
class SweepRun:
    """What a sweep produced: ``predictions[seed][input] = array`` (one row per input row),
    ``failures[seed] = traceback text``, ``seconds[seed]`` (training plus prediction) and
    the seeds read back from the checkpoint directory (``resumed``)."""

    predictions: dict[int, dict[str, NDArray[np.float64]]]
    failures: dict[int, str] = field(default_factory=dict)
    seconds: dict[int, float] = field(default_factory=dict)
    resumed: list[int] = field(default_factory=list)


def seed_streams(
    seed: int,
    vary: str | Iterable[str] = "all",
    *,
    streams: Iterable[str] = ("init", "order"),
    fixed: int = 0,
) -> dict[str, int]:
    """The seed of each source of randomness of one run, when the sweep's ``seed`` should
    drive only some of them (D'Amour et al.'s "no-effect" choices studied one at a time).

    ``streams`` names the pipeline's sources (default ``("init", "order")``: initial
    weights, mini-batch order); ``vary`` the ones the sweep changes (``"all"``, one name or
    several). A varied stream gets ``seed``, the others ``fixed``, so the runs differ only
    in the varied choices, and ``vary="all"`` is the plain ``train(seed)``. Use it inside
    ``train``::

        def train(seed):
            s = seed_streams(seed, vary="init")    # data order fixed, initialisation varies
            torch.manual_seed(s["init"]); net = make_net()
            batches = torch.Generator().manual_seed(s["order"])
            ...
    """
    names = list(streams) if not isinstance(streams, str) else [streams]
    if not names or any(not isinstance(n, str) or not n for n in names) or len(set(names)) != len(names):
        raise ValueError(
            "The 'streams' parameter of seed_streams must be distinct non-empty names. "
            f"Got {streams!r} instead."
        )
    chosen = names if vary == "all" else [vary] if isinstance(vary, str) else list(vary)
    unknown = [v for v in chosen if v not in names]
    if unknown or not chosen:
        raise ValueError(
            f"The 'vary' parameter of seed_streams must be 'all' or names among {names}. "
            f"Got {vary!r} instead."
        )
    seed = check_int("seed", seed, minimum=0, func="seed_streams")
    fixed = check_int("fixed", fixed, minimum=0, func="seed_streams")
    return {n: seed if n in chosen else fixed for n in names}


def default_predict(model: Any, X: Any) -> NDArray[np.float64]:
    """``predict_proba`` (the positive class's column for two classes, all columns
    otherwise) when the model has it, else ``predict``."""
    if hasattr(model, "predict_proba"):
        p = np.asarray(model.predict_proba(X), dtype=np.float64)
        return p[:, 1] if p.ndim == 2 and p.shape[1] == 2 else p
    if hasattr(model, "predict"):
        return np.asarray(model.predict(X), dtype=np.float64)
    raise TypeError(
        "The model has neither predict_proba nor predict; pass predict=callable(model, X) "
        f"to score it. Got a model of type {type(model).__name__}."
    )


def predict_inputs(model: Any, inputs: Mapping[str, Any], predict: Predict) -> dict[str, NDArray[np.float64]]:
    """Every input scored by ``predict``, checked for one finite prediction per row."""
    out: dict[str, NDArray[np.float64]] = {}
    for key, X in inputs.items():
        p = np.asarray(predict(model, X), dtype=np.float64)
        n = n_rows(X)
        if p.ndim == 0 or p.shape[0] != n:
            raise ValueError(
                f"predict(model, X) must return one prediction per row of {key!r} ({n} rows). "
                f"Got shape {p.shape} instead."
            )
        if not np.all(np.isfinite(p)):
            raise ValueError(f"predict(model, X) returned non-finite predictions for {key!r}.")
        out[key] = p
    return out


# Worker-process state (set once per process by the pool's initializer).
_WORKER: dict[str, Any] = {}


def _init_worker(train: Callable[[int], Any], inputs: Mapping[str, Any], predict: Predict,
                 threads: int | None) -> None:  # fmt: skip
    _WORKER.update(train=train, inputs=inputs, predict=predict)
    if threads is not None:
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        try:  # keep each worker to its share of the cores when PyTorch is used
            import sys

            if "torch" in sys.modules:
                sys.modules["torch"].set_num_threads(threads)
        except Exception:  # pragma: no cover - best effort only
            pass


def _one_seed(train: Callable[[int], Any], inputs: Mapping[str, Any], predict: Predict, seed: int
              ) -> tuple[int, dict[str, NDArray[np.float64]] | None, str | None, float]:  # fmt: skip
    t0 = time.perf_counter()
    try:
        model = train(seed)
        preds = predict_inputs(model, inputs, predict)
    except Exception:
        return seed, None, traceback.format_exc(), time.perf_counter() - t0
    return seed, preds, None, time.perf_counter() - t0


def _worker_seed(seed: int) -> tuple[int, dict[str, NDArray[np.float64]] | None, str | None, float]:
    return _one_seed(_WORKER["train"], _WORKER["inputs"], _WORKER["predict"], seed)


def fingerprint(inputs: Mapping[str, Any]) -> str:
    """Identifies the stress inputs of a checkpoint directory: names, row counts and feature
    schemas (not their values, nor the training function: a changed pipeline needs a new
    directory)."""
    desc = json.dumps([[k, n_rows(v), repr(feature_schema(v))] for k, v in inputs.items()])
    return hashlib.sha256(desc.encode()).hexdigest()[:16]


def _atomic_savez(path: Path, arrays: Mapping[str, Any]) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


class _Checkpoint:
    def __init__(self, directory: str | os.PathLike[str], inputs: Mapping[str, Any]) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.keys = list(inputs)
        manifest = {"kind": "assay.robustness.sweep", "inputs": self.keys,
                    "rows": [n_rows(v) for v in inputs.values()], "fingerprint": fingerprint(inputs)}  # fmt: skip
        path = self.dir / "sweep.json"
        if path.exists():
            old = json.loads(path.read_text())
            if old.get("fingerprint") != manifest["fingerprint"]:
                raise ValueError(
                    f"The 'checkpoint_dir' parameter of {_FUNC} holds a sweep of other stress "
                    f"inputs ({old.get('inputs')} with rows {old.get('rows')}); this sweep has "
                    f"{manifest['inputs']} with rows {manifest['rows']}. Use another directory."
                )
        else:
            _atomic_text(path, json.dumps(manifest, indent=1))

    def _npz(self, seed: int) -> Path:
        return self.dir / f"seed_{seed}.npz"

    def _err(self, seed: int) -> Path:
        return self.dir / f"seed_{seed}.error.txt"

    def load(self, seed: int) -> tuple[dict[str, NDArray[np.float64]], float] | None:
        p = self._npz(seed)
        if not p.exists():
            return None
        with np.load(p) as z:
            preds = {k: np.asarray(z[f"p{i}"]) for i, k in enumerate(self.keys)}
            secs = float(z["seconds"])
        return preds, secs

    def failure(self, seed: int) -> str | None:
        p = self._err(seed)
        return p.read_text() if p.exists() else None

    def save(self, seed: int, preds: Mapping[str, NDArray[np.float64]], seconds: float) -> None:
        arrays = {f"p{i}": preds[k] for i, k in enumerate(self.keys)}
        _atomic_savez(self._npz(seed), {**arrays, "seconds": np.float64(seconds)})
        if self._err(seed).exists():
            self._err(seed).unlink()

    def save_failure(self, seed: int, text: str) -> None:
        _atomic_text(self._err(seed), text)


def _check_seeds(seeds: Iterable[int] | int) -> list[int]:
    if isinstance(seeds, bool) or not isinstance(seeds, Iterable | int | np.integer):
        raise TypeError(f"The 'seeds' parameter of {_FUNC} must be an iterable of ints or an int n "
                        f"(range(n)). Got {seeds!r} of type {type(seeds).__name__} instead.")  # fmt: skip
    listed: Iterable[Any] = range(int(seeds)) if isinstance(seeds, int | np.integer) else seeds
    out = [check_int("seeds", s, func=_FUNC) for s in listed]
    if len(set(out)) != len(out):
        raise ValueError(f"The 'seeds' parameter of {_FUNC} must not repeat a seed. Got {out!r} instead.")
    return out


def run_sweep(
    train: Callable[[int], Any],
    seeds: Iterable[int] | int,
    inputs: Mapping[str, Any],
    *,
    predict: Predict | None = None,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    n_jobs: int = 1,
    retry_failed: bool = True,
    threads_per_job: int | None = 1,
    progress: bool = False,
    mp_context: Any = None,
) -> SweepRun:
    """Train one model per seed and score every input.

    ``train(seed) -> model``; ``predict(model, X) -> array`` (default
    :func:`default_predict`); ``seeds``: the seeds, or an int ``n`` for ``range(n)``.
    ``n_jobs > 1`` runs seeds in worker processes (``train`` and ``predict`` must then be
    picklable, e.g. module-level functions, unless the platform forks); each worker is
    limited to ``threads_per_job`` threads. ``checkpoint_dir``: finished seeds are read
    back instead of retrained; recorded failures are retried when ``retry_failed``.
    """
    if not callable(train):
        raise TypeError(f"The 'train' parameter of {_FUNC} must be a callable train(seed) -> model. "
                        f"Got {train!r} of type {type(train).__name__} instead.")  # fmt: skip
    seed_list = _check_seeds(seeds)
    n_jobs = check_int("n_jobs", n_jobs, minimum=1, func=_FUNC)
    pred = predict if predict is not None else default_predict
    ck = _Checkpoint(checkpoint_dir, inputs) if checkpoint_dir is not None else None
    run = SweepRun(predictions={})
    todo: list[int] = []
    for s in seed_list:
        got = ck.load(s) if ck is not None else None
        if got is not None:
            run.predictions[s], run.seconds[s] = got
            run.resumed.append(s)
            continue
        old = ck.failure(s) if ck is not None else None
        if old is not None and not retry_failed:
            run.failures[s] = old
            continue
        todo.append(s)

    bar = Progress(len(seed_list), desc="stress sweep", unit="seeds", enabled=progress)
    bar.update(len(seed_list) - len(todo))

    def record(seed: int, preds: dict[str, NDArray[np.float64]] | None, err: str | None, secs: float) -> None:
        run.seconds[seed] = secs
        if preds is not None:
            run.predictions[seed] = preds
            if ck is not None:
                ck.save(seed, preds, secs)
        else:
            run.failures[seed] = err or "unknown error"
            if ck is not None:
                ck.save_failure(seed, run.failures[seed])
        bar.update(1)

    try:
        if n_jobs == 1 or len(todo) <= 1:
            for s in todo:
                record(*_one_seed(train, inputs, pred, s))
        else:
            with ProcessPoolExecutor(max_workers=min(n_jobs, len(todo)), mp_context=mp_context,
                                     initializer=_init_worker,
                                     initargs=(train, inputs, pred, threads_per_job)) as pool:  # fmt: skip
                futures = [pool.submit(_worker_seed, s) for s in todo]
                for fut in as_completed(futures):
                    record(*fut.result())
    finally:
        bar.close()
    # seeds in the order given
    run.predictions = {s: run.predictions[s] for s in seed_list if s in run.predictions}
    run.failures = {s: run.failures[s] for s in seed_list if s in run.failures}
    return run
