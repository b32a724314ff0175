"""The compiled one-pass calibration kernel (assay/_native/_calibration.c) against the NumPy
path of assay.uncertainty (the same functions with the kernel switched off) and against a
brute-force computation written here from the definitions.

Fixtures cross the kernel's boundaries: group sizes (4 and 8 rows), the 1,024-row blocks,
the specialised class counts (2, 3, 4, 5, 10, 100) and others, float32 and float64, rows with
ties, one-hot rows, entries slightly outside [0, 1] (clipped, as the NumPy path does), and
confidences exactly on bin edges and one ulp either side.
"""

from __future__ import annotations

import numpy as np
import pytest

from assay import _native
from assay import uncertainty as U
from assay.uncertainty.metrics import native_sums

needs_kernel = pytest.mark.skipif(
    _native.calibration() is None, reason=f"compiled kernels not available: {_native.build_error()}"
)


def probs_fixture(n: int, k: int, seed: int, dtype: type = np.float64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(k, 0.4), size=n)
    if n >= 6:
        p[0] = 0.0
        p[0, k - 1] = 1.0  # one-hot, confidence exactly 1
        p[1] = 1.0 / k  # all tied: the first class is the prediction
        p[2, :2] = 0.5  # a two-way tie
        p[2, 2:] = 0.0
        p[3] = p[3] * (1 + 5e-5)  # a row summing to 1 + 5e-5 (within PROB_ATOL)
        p[4, 0] = -5e-5  # an entry just below 0 (clipped to 0)
        p[4, 1:] = p[4, 1:] / p[4, 1:].sum()
    y = rng.integers(0, k, n)
    return p.astype(dtype), y


def all_metrics(p: np.ndarray, y: np.ndarray, n_bins: int) -> dict[str, object]:
    return {
        "ece": U.expected_calibration_error(p, y, n_bins),
        "ece_l2": U.expected_calibration_error(p, y, n_bins, norm="l2"),
        "mce": U.maximum_calibration_error(p, y, n_bins),
        "cw": U.classwise_calibration_error(p, y, n_bins, reduction="none"),
        "nll": U.negative_log_likelihood(p, y),
        "brier": U.brier_score(p, y),
        "brier_mean": U.brier_score(p, y, normalization="mean"),
        "acc": U.accuracy(p, y),
        "diagram": U.reliability_diagram(p, y, n_bins),
    }


def assert_same(a: dict[str, object], b: dict[str, object]) -> None:
    for key in a:
        va, vb = a[key], b[key]
        if key == "diagram":
            assert isinstance(va, U.ReliabilityDiagram) and isinstance(vb, U.ReliabilityDiagram)
            np.testing.assert_array_equal(va.count, vb.count)  # the same bin for every row
            np.testing.assert_allclose(va.confidence, vb.confidence, rtol=1e-12, equal_nan=True)
            np.testing.assert_allclose(va.accuracy, vb.accuracy, rtol=1e-12, equal_nan=True)
            np.testing.assert_array_equal(va.edges, vb.edges)
        else:
            np.testing.assert_allclose(np.asarray(va), np.asarray(vb), rtol=1e-11, atol=1e-14, err_msg=key)


@needs_kernel
@pytest.mark.parametrize("k", [2, 3, 4, 5, 7, 10, 100, 130])
@pytest.mark.parametrize("n", [1, 7, 8, 9, 13, 1023, 1025, 3001])
def test_kernel_equals_numpy_path(n: int, k: int) -> None:
    p, y = probs_fixture(n, k, seed=n * 1000 + k)
    for n_bins in (1, 15, 7):
        fast = all_metrics(p, y, n_bins)
        with _native.use_native(False):
            slow = all_metrics(p, y, n_bins)
        assert_same(fast, slow)


@needs_kernel
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_float32_and_float64_inputs(dtype: type) -> None:
    p, y = probs_fixture(2050, 10, seed=3, dtype=dtype)
    fast = all_metrics(p, y, 15)
    with _native.use_native(False):
        slow = all_metrics(p, y, 15)
    assert_same(fast, slow)


@needs_kernel
def test_confidences_on_bin_edges_go_where_numpy_puts_them() -> None:
    n_bins = 15
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    conf = []
    for e in edges[edges >= 0.5]:
        conf += [e, np.nextafter(e, 0.0), np.nextafter(e, 1.0)]
    c = np.clip(np.array(conf), 0.5, 1.0)
    p = np.column_stack([c, 1.0 - c])
    p = np.vstack([p] * 3)  # enough rows for the eight-row groups
    y = np.arange(p.shape[0]) % 2
    fast = U.reliability_diagram(p, y, n_bins)
    with _native.use_native(False):
        slow = U.reliability_diagram(p, y, n_bins)
    np.testing.assert_array_equal(fast.count, slow.count)
    # and against the definition: bin b holds edges[b] <= c < edges[b + 1], the last closed
    conf_top = p.max(axis=1)
    expect = np.zeros(n_bins)
    for v in conf_top:
        b = max(i for i in range(n_bins) if edges[i] <= v) if v < 1.0 else n_bins - 1
        expect[b] += 1
    np.testing.assert_array_equal(fast.count, expect)


@needs_kernel
def test_kernel_against_brute_force_definitions() -> None:
    p, y = probs_fixture(517, 4, seed=11)
    pc = np.clip(p.astype(np.float64), 0.0, 1.0)
    n_bins = 10
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    count, conf_sum, hit_sum = np.zeros(n_bins), np.zeros(n_bins), np.zeros(n_bins)
    nll = brier = hits = 0.0
    for row, label in zip(pc, y, strict=True):
        pred = int(np.flatnonzero(row == row.max())[0])
        conf = float(row.max())
        b = n_bins - 1 if conf >= 1.0 else int(np.flatnonzero(edges <= conf).max())
        count[b] += 1
        conf_sum[b] += conf
        hit_sum[b] += pred == label
        hits += pred == label
        nll -= np.log(max(row[label], np.finfo(float).eps))
        brier += sum((row[j] - (j == label)) ** 2 for j in range(row.size))
    nonempty = count > 0
    ece = float(np.sum(count[nonempty] / len(y) * np.abs(conf_sum[nonempty] / count[nonempty]
                                                         - hit_sum[nonempty] / count[nonempty])))  # fmt: skip
    assert U.expected_calibration_error(p, y, n_bins) == pytest.approx(ece, rel=1e-12)
    assert U.negative_log_likelihood(p, y) == pytest.approx(nll / len(y), rel=1e-12)
    assert U.brier_score(p, y) == pytest.approx(brier / len(y), rel=1e-12)
    assert U.accuracy(p, y) == hits / len(y)


@needs_kernel
def test_streaming_uses_the_kernel_and_equals_the_numpy_path() -> None:
    p, y = probs_fixture(5003, 10, seed=5)
    fast = U.StreamingCalibration(15)
    for i in range(0, len(y), 1000):
        fast.update(p[i : i + 1000], y[i : i + 1000])
    with _native.use_native(False):
        slow = U.StreamingCalibration(15)
        for i in range(0, len(y), 1000):
            slow.update(p[i : i + 1000], y[i : i + 1000])
    np.testing.assert_array_equal(fast.top[0], slow.top[0])
    np.testing.assert_array_equal(fast.per_class[:, 0], slow.per_class[:, 0])
    a, b = fast.compute(), slow.compute()
    for key in a:
        assert a[key] == pytest.approx(b[key], rel=1e-11, abs=1e-14), key


@needs_kernel
def test_kernel_handles_views_and_tensors() -> None:
    p, y = probs_fixture(301, 6, seed=2)
    wide = np.hstack([p, np.zeros((301, 3))])[:, :6]  # non-contiguous view
    fortran = np.asfortranarray(p)
    ref = U.expected_calibration_error(p, y)
    assert U.expected_calibration_error(wide, y) == pytest.approx(ref, rel=1e-13)
    assert U.expected_calibration_error(fortran, y) == pytest.approx(ref, rel=1e-13)
    assert U.expected_calibration_error(p, y.astype(np.int32)) == pytest.approx(ref, rel=1e-13)
    torch = pytest.importorskip("torch")
    assert U.expected_calibration_error(torch.tensor(p), torch.tensor(y)) == pytest.approx(ref, rel=1e-13)


@needs_kernel
def test_native_sums_declines_what_it_does_not_handle() -> None:
    p, y = probs_fixture(20, 3, seed=0)
    assert native_sums(p[:, 0], y, 15) is None  # binary (n,): the NumPy path makes [1 - p, p]
    assert native_sums(p.tolist(), y, 15) is None  # lists: the NumPy path converts and checks
    assert native_sums(p, y.astype(float), 15) is None  # float labels: checked by the NumPy path
    assert native_sums(p.astype(np.float16), y, 15) is None
    bad = p.copy()
    bad[13, 1] = np.nan
    assert native_sums(bad, y, 15) is None
    sums = native_sums(p, y, 15)
    assert sums is not None and sums.n == 20 and sums.n_classes == 3


def bad_inputs() -> list[tuple[str, np.ndarray, np.ndarray]]:
    p, y = probs_fixture(40, 4, seed=9)
    nan = p.copy()
    nan[17, 2] = np.nan
    inf = p.copy()
    inf[33, 0] = np.inf
    logits = p * 7.0 - 3.0
    rowsum = p.copy()
    rowsum[21] *= 1.01
    label = y.copy()
    label[25] = 4
    negative = y.copy()
    negative[9] = -1
    return [("nan", nan, y), ("inf", inf, y), ("logits", logits, y), ("rowsum", rowsum, y),
            ("label", p, label), ("negative label", p, negative)]  # fmt: skip


@needs_kernel
@pytest.mark.parametrize("case", bad_inputs(), ids=lambda c: c[0])
def test_bad_input_gives_the_same_message_with_and_without_the_kernel(case: tuple[str, np.ndarray, np.ndarray]) -> None:
    _, p, y = case
    for fn in (U.expected_calibration_error, U.negative_log_likelihood, U.brier_score, U.accuracy):
        with pytest.raises(ValueError) as fast:
            fn(p, y)
        with _native.use_native(False), pytest.raises(ValueError) as slow:
            fn(p, y)
        assert str(fast.value) == str(slow.value)
        assert "'probs'" in str(fast.value) or "'labels'" in str(fast.value)
    acc = U.StreamingCalibration(15)
    with pytest.raises(ValueError):
        acc.update(p, y)
    assert acc.n == 0 and acc.top.sum() == 0.0  # nothing was added


@needs_kernel
def test_four_lane_path_without_avx512() -> None:
    """The portable path (four rows per vector), forced with ASSAY_NATIVE_AVX512=0 in a
    fresh process, gives the NumPy path's numbers too."""
    import os
    import subprocess
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    code = (
        f"import numpy as np, sys; sys.path.insert(0, {here!r})\n"
        "from test_calibration_kernel import probs_fixture, all_metrics, assert_same\n"
        "from assay import _native\n"
        "for n, k in [(9, 10), (1025, 3), (333, 100), (64, 2)]:\n"
        "    p, y = probs_fixture(n, k, seed=n + k)\n"
        "    fast = all_metrics(p, y, 15)\n"
        "    with _native.use_native(False):\n"
        "        slow = all_metrics(p, y, 15)\n"
        "    assert_same(fast, slow)\n"
        "print('ok')\n"
    )
    env = dict(os.environ, ASSAY_NATIVE_AVX512="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
