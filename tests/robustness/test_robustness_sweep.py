"""The seed sweep: checkpoints and resuming, failing seeds, processes, reproducibility."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from assay.robustness import run_sweep


class Const:
    def __init__(self, seed: int) -> None:
        self.seed = seed

    def predict(self, X: Any) -> np.ndarray:
        return np.random.default_rng(self.seed).random(len(X))


INPUTS = {"iid": np.zeros((7, 2)), "shift": np.ones((3, 2))}


def test_checkpoints_resume_without_redoing_finished_seeds(tmp_path: Any) -> None:
    calls: list[int] = []
    attempts: dict[int, int] = {}

    def train(seed: int) -> Const:
        calls.append(seed)
        attempts[seed] = attempts.get(seed, 0) + 1
        if seed == 3 and attempts[seed] == 1:
            raise RuntimeError("out of memory in seed 3")
        return Const(seed)

    first = run_sweep(train, range(5), INPUTS, checkpoint_dir=tmp_path)
    assert list(first.predictions) == [0, 1, 2, 4]
    assert list(first.failures) == [3] and "RuntimeError: out of memory in seed 3" in first.failures[3]
    assert (tmp_path / "seed_3.error.txt").exists() and (tmp_path / "seed_0.npz").exists()
    assert json.loads((tmp_path / "sweep.json").read_text())["inputs"] == ["iid", "shift"]
    # an interrupted sweep: seeds 5 and 6 are new, 0..4 come from the checkpoint, 3 is retried
    calls.clear()
    second = run_sweep(train, range(7), INPUTS, checkpoint_dir=tmp_path)
    assert calls == [3, 5, 6]
    assert second.resumed == [0, 1, 2, 4] and not second.failures
    for s in range(5):
        if s != 3:
            for k in INPUTS:
                assert np.array_equal(second.predictions[s][k], first.predictions[s][k])
    assert not (tmp_path / "seed_3.error.txt").exists()
    calls.clear()
    run_sweep(train, range(7), INPUTS, checkpoint_dir=tmp_path)
    assert calls == []


def test_failures_are_kept_without_retry(tmp_path: Any) -> None:
    def train(seed: int) -> Const:
        if seed == 1:
            raise ValueError("bad seed")
        return Const(seed)

    run_sweep(train, 3, INPUTS, checkpoint_dir=tmp_path)
    again = run_sweep(lambda s: Const(s), 3, INPUTS, checkpoint_dir=tmp_path, retry_failed=False)
    assert list(again.failures) == [1] and list(again.predictions) == [0, 2]


def test_checkpoint_of_other_inputs_is_refused(tmp_path: Any) -> None:
    run_sweep(lambda s: Const(s), 2, INPUTS, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match=r"'checkpoint_dir' parameter of run_sweep holds a sweep of other stress inputs"):
        run_sweep(lambda s: Const(s), 2, {"iid": np.zeros((8, 2))}, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match=r"holds a sweep of other stress inputs"):  # same rows, other features
        run_sweep(lambda s: Const(s), 2, {"iid": np.zeros((7, 3)), "shift": np.ones((3, 3))}, checkpoint_dir=tmp_path)


def test_processes_give_the_same_predictions_and_progress(capsys: Any, rf_train: Any, rf_data: Any) -> None:
    inputs = {"iid": rf_data["iid"][0], "decorrelated": rf_data["decorrelated"][0]}
    one = run_sweep(rf_train, [0, 1, 2], inputs)
    two = run_sweep(rf_train, [0, 1, 2], inputs, n_jobs=2, progress=True)
    assert "stress sweep" in capsys.readouterr().err
    for s in (0, 1, 2):
        for k in inputs:
            assert np.array_equal(one.predictions[s][k], two.predictions[s][k])  # reproducible
    assert not np.allclose(one.predictions[0]["decorrelated"], one.predictions[1]["decorrelated"])


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match=r"'train' parameter of run_sweep must be a callable"):
        run_sweep("model", 3, INPUTS)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"'seeds' parameter of run_sweep must not repeat a seed"):
        run_sweep(Const, [1, 1, 2], INPUTS)
    with pytest.raises(TypeError, match=r"'seeds' parameter of run_sweep must be an int"):
        run_sweep(Const, [1.5], INPUTS)
    with pytest.raises(ValueError, match=r"'n_jobs' parameter of run_sweep must be an int >= 1"):
        run_sweep(Const, 3, INPUTS, n_jobs=0)
    bad = run_sweep(lambda s: Const(s), 1, INPUTS, predict=lambda m, X: np.zeros(2))
    assert "one prediction per row of 'iid' (7 rows). Got shape (2,)" in bad.failures[0]


def test_seed_streams_vary_only_the_named_choices() -> None:
    from assay.robustness import seed_streams

    assert seed_streams(7) == {"init": 7, "order": 7}
    assert seed_streams(7, vary="init") == {"init": 7, "order": 0}
    assert seed_streams(7, vary=["order"], fixed=3) == {"init": 3, "order": 7}
    assert seed_streams(2, vary=("a", "c"), streams=("a", "b", "c")) == {"a": 2, "b": 0, "c": 2}
    # Runs of one sweep differ only in the varied stream.
    runs = [seed_streams(s, vary="order") for s in range(5)]
    assert len({r["init"] for r in runs}) == 1 and len({r["order"] for r in runs}) == 5
    with pytest.raises(ValueError, match=r"The 'vary' parameter of seed_streams must be 'all' or names among \['init', 'order'\]\. Got 'weights' instead\."):
        seed_streams(1, vary="weights")
    with pytest.raises(ValueError, match="The 'streams' parameter of seed_streams must be distinct"):
        seed_streams(1, streams=("a", "a"))
    with pytest.raises(ValueError, match="The 'seed' parameter of seed_streams"):
        seed_streams(-1)


_KILLED_SWEEP = r"""
import sys, time
import numpy as np
from assay.robustness import run_sweep

class Const:
    def __init__(self, seed):
        self.seed = seed
    def predict(self, X):
        return np.random.default_rng(self.seed).random(len(X))

def train(seed):
    time.sleep(0.05)
    return Const(seed)

inputs = {"iid": np.zeros((7, 2)), "shift": np.ones((3, 2))}
run_sweep(train, range(50), inputs, checkpoint_dir=sys.argv[1])
"""


def test_a_killed_sweep_of_50_models_resumes_without_redoing_finished_seeds(tmp_path: Any) -> None:
    import signal
    import subprocess
    import sys
    import time

    ckpt = tmp_path / "ckpt"
    script = tmp_path / "sweep.py"
    script.write_text(_KILLED_SWEEP)
    proc = subprocess.Popen([sys.executable, str(script), str(ckpt)])
    try:
        deadline = time.monotonic() + 120
        while len(list(ckpt.glob("seed_*.npz"))) < 10:
            assert proc.poll() is None, "the sweep ended before it could be interrupted"
            assert time.monotonic() < deadline, "the sweep made no progress"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)  # no clean-up: as a crash or a lost machine
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    done = sorted(int(p.stem.split("_")[1]) for p in ckpt.glob("seed_*.npz"))
    assert 10 <= len(done) < 50
    calls: list[int] = []

    def train(seed: int) -> Const:
        calls.append(seed)
        return Const(seed)

    resumed = run_sweep(train, range(50), INPUTS, checkpoint_dir=ckpt)
    assert sorted(calls) == [s for s in range(50) if s not in done]  # finished seeds not redone
    assert resumed.resumed == done and sorted(resumed.predictions) == list(range(50))
    whole = run_sweep(Const, range(50), INPUTS)  # the uninterrupted sweep
    for s in range(50):
        for k in INPUTS:
            assert np.array_equal(resumed.predictions[s][k], whole.predictions[s][k])
