"""The compiled pairwise kernel against NumPy, and the MMD's compiled path against the PyTorch one."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from assay import _native  # noqa: E402
from assay.fairness.remediation import (  # noqa: E402
    MinDiffBatch,
    MinDiffModel,
    absolute_correlation_loss,
    adjusted_mmd_loss,
    mmd_loss,
)

needs_native = pytest.mark.skipif(
    not _native.available(), reason=f"compiled kernels not available: {_native.build_error()}"
)


def test_compiled_kernels_are_built_when_required():
    # `make test` sets ASSAY_REQUIRE_NATIVE=1, so a broken C build fails CI instead of
    # silently falling back to the slower PyTorch path.
    if os.environ.get("ASSAY_REQUIRE_NATIVE") != "1":
        pytest.skip("ASSAY_REQUIRE_NATIVE is not set")
    assert _native.available(), _native.build_error()


def test_use_native_switches_and_restores():
    before = _native.available()
    with _native.use_native(False):
        assert not _native.available()
        assert _native.pairwise() is None
    assert _native.available() == before


def _sums(x, c, laplacian, length):
    """Call the compiled kernel on tensors x (n,) and c (m, n)."""
    kernels = _native.pairwise()
    assert kernels is not None
    u = torch.empty_like(c)
    v = torch.empty_like(c)
    scale = 1 / length if laplacian else 1 / length**2
    floor = math.log(torch.finfo(x.dtype).tiny) + 20
    kernels.kernel_sums(
        x.data_ptr(), c.data_ptr(), u.data_ptr(), v.data_ptr(), x.shape[0], c.shape[0],
        laplacian, scale, floor, x.dtype == torch.float64,
    )  # fmt: skip
    return u, v


def _ref_sums(x, c, laplacian, length):
    x = np.asarray(x, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    d = x[:, None] - x[None, :]
    k = np.exp(-np.abs(d) / length) if laplacian else np.exp(-(d**2) / length**2)
    g = np.sign(d) if laplacian else d
    return c @ k.T, c @ (k * g).T


@needs_native
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("laplacian", [False, True])
@pytest.mark.parametrize("n", [1, 2, 15, 16, 17, 33, 300, 600])
@pytest.mark.parametrize("m", [1, 2, 3])
def test_kernel_sums_match_numpy(dtype, laplacian, n, m):
    # Sizes around the 16-lane padding and the 256-entry tiles; ties included.
    g = torch.Generator().manual_seed(n * 7 + m)
    x = torch.rand(n, generator=g, dtype=torch.float64)
    if n > 3:
        x[3] = x[1]
    c = torch.randn(m, n, generator=g, dtype=torch.float64)
    u, v = _sums(x.to(dtype), c.to(dtype), laplacian, 0.1)
    ur, vr = _ref_sums(x.to(dtype).double(), c.to(dtype).double(), laplacian, 0.1)
    tol = 1e-13 if dtype == torch.float64 else 2e-6
    scale_u = max(1.0, float(np.abs(ur).max()))
    scale_v = max(1e-3, float(np.abs(vr).max()))
    assert np.abs(u.double().numpy() - ur).max() <= tol * scale_u * max(1, n / 50)
    assert np.abs(v.double().numpy() - vr).max() <= tol * scale_v * max(1, n / 50)


@needs_native
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_exponential_accuracy_over_the_whole_range(dtype):
    # With c one-hot at j, u_i = k(x_i, x_j): every kernel value is read back. Spacing the
    # x so that the Gaussian's argument -(x_i - x_0)^2 / l^2 sweeps [-80, 0] checks the
    # exponential (and the floor near log(tiny) + 20) against math.exp.
    n = 4001
    args = np.linspace(0.0, 80.0, n)
    x = torch.tensor(np.sqrt(args) * 0.1, dtype=dtype)  # length 0.1
    c = torch.zeros(1, n, dtype=dtype)
    c[0, 0] = 1.0
    u, _ = _sums(x, c, False, 0.1)
    exact_args = (x.double().numpy() - float(x[0])) ** 2 / 0.01
    floor = math.log(torch.finfo(dtype).tiny) + 20
    expected = np.exp(np.maximum(-exact_args, floor))
    rel = np.abs(u[0].double().numpy() - expected) / expected
    # float32: the argument itself is rounded (relative 6e-8 of up to 67), so the error
    # grows with the argument; float64 stays within a few units in the last place.
    bound = (4e-7 * (1 + exact_args)) if dtype == torch.float32 else 4e-15 * (1 + exact_args)
    assert (rel <= bound).all(), float((rel / bound).max())
    assert (u[0].double().numpy() >= torch.finfo(dtype).tiny).all()  # never subnormal


@needs_native
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_prediction_gives_nan_like_the_dense_path(bad):
    p = torch.rand(40, dtype=torch.float64)
    p[5] = bad
    s = (torch.arange(40) % 2).double()
    with _native.use_native(True):
        compiled = mmd_loss(p, s, check_inputs=False)
    with _native.use_native(False):
        dense = mmd_loss(p, s, check_inputs=False)
    assert math.isnan(float(compiled)) and math.isnan(float(dense))


@needs_native
@pytest.mark.parametrize("kind", ["gaussian", "laplacian"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fn", [mmd_loss, adjusted_mmd_loss, absolute_correlation_loss])
def test_compiled_and_torch_paths_agree_float32(kind, weighted, fn):
    # The training dtype: compiled and PyTorch paths within float32 rounding, value and
    # gradients (predictions and weights).
    g = torch.Generator().manual_seed(3)
    n = 257
    logits = torch.randn(n, 1, generator=g)
    s = (torch.rand(n, generator=g) < 0.4).float()
    w = torch.rand(n, generator=g) if weighted else None
    out = {}
    for flag in (True, False):
        x = logits.clone().requires_grad_(True)
        ww = None if w is None else w.clone().requires_grad_(True)
        kw = {} if fn is absolute_correlation_loss else {"kernel": kind}
        with _native.use_native(flag):
            loss = fn(torch.sigmoid(x), s, ww, **kw)
            loss.backward()
        out[flag] = (float(loss.detach()), x.grad, None if ww is None else ww.grad)
    assert out[True][0] == pytest.approx(out[False][0], rel=1e-4, abs=1e-6)
    torch.testing.assert_close(out[True][1], out[False][1], rtol=1e-3, atol=1e-6)
    if weighted:
        torch.testing.assert_close(out[True][2], out[False][2], rtol=1e-3, atol=1e-6)


@needs_native
def test_large_batch_compiled_matches_chunked_torch():
    g = torch.Generator().manual_seed(5)
    n = 5000
    p = torch.rand(n, generator=g, dtype=torch.float64)
    s = (torch.arange(n) % 3 == 0).double()
    grads, values = [], []
    for flag in (True, False):
        x = p.clone().requires_grad_(True)
        with _native.use_native(flag):
            loss = mmd_loss(x, s)
        loss.backward()
        values.append(float(loss.detach()))
        grads.append(x.grad)
    assert values[0] == pytest.approx(values[1], rel=1e-10)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-8, atol=1e-14)


@pytest.mark.parametrize("loss", ["mmd", "laplacian_mmd", "adjusted_mmd", "absolute_correlation"])
def test_loss_weight_fused_into_the_penalty(loss):
    # MinDiffModel passes loss_weight into the MMD kernel: same value and gradient as
    # loss_weight times the unweighted loss.
    g = torch.Generator().manual_seed(0)
    net = torch.nn.Linear(4, 1).double()
    with torch.no_grad():
        net.weight.copy_(torch.randn(1, 4, generator=g, dtype=torch.float64))
        net.bias.zero_()
    md = MinDiffBatch(
        torch.randn(30, 4, generator=g, dtype=torch.float64), (torch.arange(30) % 2).double()
    )
    weighted = MinDiffModel(net, loss, 2.5, predictions_transform=torch.sigmoid)
    plain = MinDiffModel(net, loss, 1.0, predictions_transform=torch.sigmoid)
    a = weighted.mindiff_penalty(net(md.inputs), md)
    (ga,) = torch.autograd.grad(a, net.weight)
    b = plain.mindiff_penalty(net(md.inputs), md)
    (gb,) = torch.autograd.grad(b, net.weight)
    assert float(b.detach()) > 1e-3  # a penalty well above rounding
    assert float(a.detach()) == pytest.approx(2.5 * float(b.detach()), rel=1e-12)
    torch.testing.assert_close(ga, 2.5 * gb, rtol=1e-12, atol=1e-15)


@needs_native
@pytest.mark.parametrize("fn", [mmd_loss, adjusted_mmd_loss, absolute_correlation_loss])
def test_compiled_losses_are_differentiable_once_with_a_clear_error(fn):
    p = torch.rand(20, dtype=torch.float64, requires_grad=True)
    s = (torch.arange(20) % 2).double()
    with pytest.raises(RuntimeError, match="differentiable once"):
        torch.autograd.grad(fn(p, s), p, create_graph=True)
    with _native.use_native(False):  # the PyTorch path of the correlation goes further
        if fn is absolute_correlation_loss:
            (g1,) = torch.autograd.grad(fn(p, s), p, create_graph=True)
            (g2,) = torch.autograd.grad(g1.sum(), p)
            assert torch.isfinite(g2).all()


@needs_native
def test_works_inside_torch_compile():
    # Dynamo cannot trace into the C extension: it falls back to eager for the loss (a graph
    # break), with the same value and gradient.
    import warnings

    p = torch.rand(50, dtype=torch.float64)
    s = (torch.arange(50) % 2).double()
    compiled = torch.compile(lambda x, m: mmd_loss(x, m), backend="eager")
    a = p.clone().requires_grad_(True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        la = compiled(a, s)
    la.backward()
    b = p.clone().requires_grad_(True)
    lb = mmd_loss(b, s)
    lb.backward()
    assert float(la.detach()) == pytest.approx(float(lb.detach()), rel=1e-12)
    torch.testing.assert_close(a.grad, b.grad)
