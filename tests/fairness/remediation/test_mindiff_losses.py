"""MinDiff losses against independent NumPy computations written from the formulas."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from assay import _native  # noqa: E402
from assay.fairness.remediation import (  # noqa: E402
    AbsoluteCorrelationLoss,
    AdjustedMMDLoss,
    MMDLoss,
    absolute_correlation_loss,
    adjusted_mmd_loss,
    gaussian_kernel,
    get_mindiff_loss,
    laplacian_kernel,
    mmd_loss,
)


@pytest.fixture(autouse=True, params=["compiled", "torch"])
def kernel_path(request):
    """Run every test here twice: with the compiled MMD kernel and with the PyTorch code."""
    if request.param == "compiled" and not _native.available():
        pytest.skip(f"compiled kernels not available: {_native.build_error()}")
    with _native.use_native(request.param == "compiled"):
        yield request.param


# ----------------------------------------------------------------------------- references
# Written from the definitions (TF Model Remediation's MinDiff losses) with explicit loops,
# independently of the torch implementation.


def ref_kernel(x: np.ndarray, y: np.ndarray, kind: str, length: float) -> float:
    dist2 = float(np.sum((np.atleast_1d(x) - np.atleast_1d(y)) ** 2))
    if kind == "gaussian":
        return math.exp(-dist2 / length**2)
    return math.exp(-math.sqrt(dist2) / length)


def ref_group_means(p, s, w, kind, length):
    """Weighted mean kernel value within S, within T, and across (weights normalised)."""
    p = np.asarray(p, dtype=np.float64)
    if p.ndim == 1:
        p = p[:, None]
    w = np.ones(len(s)) if w is None else np.asarray(w, dtype=np.float64)
    w = w / w.sum()
    n = len(s)
    k = np.array([[ref_kernel(p[i], p[j], kind, length) for j in range(n)] for i in range(n)])

    def mean(g1: int, g2: int) -> float:
        num = den = 0.0
        for i in range(n):
            for j in range(n):
                if s[i] == g1 and s[j] == g2:
                    num += w[i] * w[j] * k[i, j]
                    den += w[i] * w[j]
        return num / den

    return mean(1, 1), mean(0, 0), mean(1, 0), k, w


def ref_mmd(p, s, w=None, kind="gaussian", length=0.1) -> float:
    ss, tt, st, _, _ = ref_group_means(p, s, w, kind, length)
    return ss + tt - 2 * st


def ref_adjusted_mmd(p, s, w=None, kind="gaussian", length=0.1) -> float:
    ss, tt, st, k, wn = ref_group_means(p, s, w, kind, length)
    s = np.asarray(s)
    total = 0.0
    for g, mean_gg in ((1, ss), (0, tt)):
        idx = np.flatnonzero(s == g)
        wg = wn[idx]
        square_mean = np.sum(wg * np.diag(k)[idx]) / np.sum(wg)
        var = square_mean - mean_gg
        n_g = len(idx)
        w_mean = np.sum(wg) / n_g
        w_sq_mean = np.sum(wg**2) / n_g
        total += var * w_sq_mean / (n_g * w_mean**2)
    return (ss + tt - 2 * st) / (total + 1e-2)


def ref_abs_corr(p, s, w=None, eps=1e-7) -> float:
    p = np.asarray(p, dtype=np.float64).ravel()
    s = np.asarray(s, dtype=np.float64)
    w = np.ones(len(s)) if w is None else np.asarray(w, dtype=np.float64)
    w = w / w.sum()
    ms, mp = np.sum(w * s), np.sum(w * p)
    cov = np.sum(w * (s - ms) * (p - mp))
    vs, vp = np.sum(w * (s - ms) ** 2), np.sum(w * (p - mp) ** 2)
    return abs(cov) / (math.sqrt(vs + eps) * math.sqrt(vp + eps))


P = np.array([0.91, 0.62, 0.35, 0.77, 0.12, 0.48, 0.05, 0.83, 0.27])
S = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0])
W = np.array([0.5, 2.0, 1.0, 0.0, 1.5, 3.0, 0.25, 1.0, 2.0])
P2 = np.array(
    [[0.1, 0.5], [0.4, 0.3], [0.9, 0.2], [0.6, 0.6], [0.3, 0.8], [0.05, 0.95], [0.7, 0.1]]
)
S2 = np.array([0, 1, 0, 1, 1, 0, 0])
W2 = np.array([1.0, 0.5, 2.0, 1.0, 3.0, 0.2, 1.0])


def t(x, dtype=torch.float64, grad=False):
    out = torch.tensor(np.asarray(x), dtype=dtype)
    return out.requires_grad_(grad)


# ----------------------------------------------------------------------------- values


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kind", ["gaussian", "laplacian"])
@pytest.mark.parametrize("length", [0.1, 0.5])
def test_mmd_matches_numpy(weighted, kind, length):
    w = W if weighted else None
    got = mmd_loss(t(P), t(S), None if w is None else t(w), kernel=kind, kernel_length=length)
    assert float(got) == pytest.approx(ref_mmd(P, S, w, kind, length), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kind", ["gaussian", "laplacian"])
def test_mmd_multicolumn_matches_numpy(weighted, kind):
    w = W2 if weighted else None
    got = mmd_loss(t(P2), t(S2), None if w is None else t(w), kernel=kind, kernel_length=0.3)
    assert float(got) == pytest.approx(ref_mmd(P2, S2, w, kind, 0.3), rel=1e-10)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kind", ["gaussian", "laplacian"])
def test_adjusted_mmd_matches_numpy(weighted, kind):
    w = W if weighted else None
    got = adjusted_mmd_loss(t(P), t(S), None if w is None else t(w), kernel=kind, kernel_length=0.2)
    assert float(got) == pytest.approx(ref_adjusted_mmd(P, S, w, kind, 0.2), rel=1e-10)


@pytest.mark.parametrize("weighted", [False, True])
def test_absolute_correlation_matches_numpy(weighted):
    w = W if weighted else None
    got = absolute_correlation_loss(t(P), t(S), None if w is None else t(w))
    assert float(got) == pytest.approx(ref_abs_corr(P, S, w), rel=1e-10)


def test_hand_computed_laplacian_value():
    # S = {0.9, 0.8}, T = {0.2, 0.1}, k(d) = exp(-2d):
    # mean_SS = mean_TT = (2 + 2 e^-0.2) / 4; mean_ST = (2 e^-1.4 + e^-1.6 + e^-1.2) / 4.
    ss = (2 + 2 * math.exp(-0.2)) / 4
    st = (2 * math.exp(-1.4) + math.exp(-1.6) + math.exp(-1.2)) / 4
    got = mmd_loss(t([0.9, 0.8, 0.2, 0.1]), t([1, 1, 0, 0]), kernel="laplace", kernel_length=0.5)
    assert float(got) == pytest.approx(2 * ss - 2 * st, rel=1e-12)


def test_default_kernel_length_and_float32():
    got = mmd_loss(torch.tensor(P, dtype=torch.float32), torch.tensor(S))
    assert got.dtype == torch.float32
    assert float(got) == pytest.approx(ref_mmd(P, S, None, "gaussian", 0.1), rel=1e-5)


def test_weights_are_scale_invariant_and_zero_weight_drops_example():
    a = mmd_loss(t(P), t(S), t(W))
    b = mmd_loss(t(P), t(S), t(7.5 * W))
    assert float(a) == pytest.approx(float(b), rel=1e-12)
    keep = W > 0
    c = mmd_loss(t(P[keep]), t(S[keep]), t(W[keep]))
    assert float(a) == pytest.approx(float(c), rel=1e-12)


def test_order_of_examples_does_not_matter():
    perm = np.random.default_rng(0).permutation(len(P))
    a = mmd_loss(t(P), t(S), t(W))
    b = mmd_loss(t(P[perm]), t(S[perm]), t(W[perm]))
    assert float(a) == pytest.approx(float(b), rel=1e-12)


def test_predictions_transform_applied_first():
    logits = np.log(P / (1 - P))
    got = mmd_loss(t(logits), t(S), predictions_transform=torch.sigmoid)
    assert float(got) == pytest.approx(ref_mmd(P, S), rel=1e-10)
    got = absolute_correlation_loss(t(logits), t(S), predictions_transform=torch.sigmoid)
    assert float(got) == pytest.approx(ref_abs_corr(P, S), rel=1e-10)


def test_kernels_match_numpy():
    x = P2[:4]
    y = P2[4:]
    for fn, kind in ((gaussian_kernel, "gaussian"), (laplacian_kernel, "laplacian")):
        got = fn(t(x), t(y), 0.4).numpy()
        want = np.array([[ref_kernel(a, b, kind, 0.4) for b in y] for a in x])
        np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(gaussian_kernel(t(P)).diagonal().numpy(), 1.0)


def test_custom_kernel_callable():
    def linear(x, y):
        return x @ y.T

    got = mmd_loss(t(P), t(S), kernel=linear)
    ps, pt = P[S == 1], P[S == 0]
    assert float(got) == pytest.approx((ps.mean() - pt.mean()) ** 2, rel=1e-10)


def test_modules_match_functions_and_names():
    p, s, w = t(P), t(S), t(W)
    assert float(MMDLoss()(p, s, w)) == float(mmd_loss(p, s, w))
    assert float(MMDLoss("laplacian", 0.3)(p, s)) == float(
        mmd_loss(p, s, kernel="laplacian", kernel_length=0.3)
    )
    assert float(AdjustedMMDLoss()(p, s, w)) == float(adjusted_mmd_loss(p, s, w))
    assert float(AbsoluteCorrelationLoss()(p, s, w)) == float(absolute_correlation_loss(p, s, w))
    assert float(get_mindiff_loss("laplacian_mmd", kernel_length=0.3)(p, s, None)) == float(
        mmd_loss(p, s, kernel="laplacian", kernel_length=0.3)
    )
    assert float(get_mindiff_loss("absolute_correlation")(p, s, w)) == float(
        absolute_correlation_loss(p, s, w)
    )
    assert float(get_mindiff_loss("adjusted_laplacian_mmd")(p, s, w)) == float(
        adjusted_mmd_loss(p, s, w, kernel="laplacian")
    )


def test_accepts_column_shapes_and_numpy_membership():
    a = mmd_loss(t(P), t(S))
    b = mmd_loss(t(P)[:, None], S[:, None])
    c = absolute_correlation_loss(t(P)[:, None], S.astype(bool))
    assert float(a) == pytest.approx(float(b), rel=1e-12)
    assert float(c) == pytest.approx(ref_abs_corr(P, S), rel=1e-10)


def test_identical_distributions_give_zero():
    p = t([0.2, 0.7, 0.2, 0.7])
    s = t([1, 1, 0, 0])
    assert abs(float(mmd_loss(p, s))) < 1e-12
    assert abs(float(absolute_correlation_loss(p, s))) < 1e-12


# ----------------------------------------------------------------------------- gradients

LOSSES = {
    "corr": lambda p, s, w: absolute_correlation_loss(p, s, w),
    "mmd_gauss": lambda p, s, w: mmd_loss(p, s, w, kernel_length=0.3),
    "mmd_laplace": lambda p, s, w: mmd_loss(p, s, w, kernel="laplacian", kernel_length=0.3),
    "adj_gauss": lambda p, s, w: adjusted_mmd_loss(p, s, w, kernel_length=0.3),
    "adj_laplace": lambda p, s, w: adjusted_mmd_loss(p, s, w, kernel="laplacian"),
    "mmd_gauss_chunked": lambda p, s, w: mmd_loss(p, s, w, kernel_length=0.3, chunk_size=2),
    "mmd_laplace_chunked": lambda p, s, w: mmd_loss(p, s, w, kernel="laplacian", chunk_size=4),
}


# The adjusted MMD stops the gradient through its denominator, so finite differences of it
# do not match its (intended) gradient; it is checked against the MMD's gradient below.
GRADCHECKED = sorted(name for name in LOSSES if not name.startswith("adj"))


@pytest.mark.parametrize("name", GRADCHECKED)
def test_gradcheck_predictions_and_weights(name):
    fn = LOSSES[name]
    p = t(P, grad=True)
    w = t(W + 0.1, grad=True)
    s = t(S)
    assert torch.autograd.gradcheck(lambda p_, w_: fn(p_, s, w_), (p, w))


@pytest.mark.parametrize("kind", ["gaussian", "laplacian"])
def test_gradcheck_multicolumn_mmd(kind):
    p = t(P2, grad=True)
    s = t(S2)
    assert torch.autograd.gradcheck(
        lambda p_: mmd_loss(p_, s, kernel=kind, kernel_length=0.5), (p,)
    )
    assert torch.autograd.gradcheck(
        lambda p_: mmd_loss(p_, s, kernel=kind, kernel_length=0.5, chunk_size=3), (p,)
    )


@pytest.mark.parametrize("kind", ["gaussian", "laplacian"])
@pytest.mark.parametrize("chunk", [None, 3])
def test_adjusted_mmd_denominator_has_no_gradient(kind, chunk):
    # d/dθ of MMD / (sg(var) + eps) equals d/dθ MMD divided by the (constant) denominator,
    # for θ = predictions and θ = weights; the MMD's own gradient is gradchecked above.
    p, w = t(P, grad=True), t(W + 0.1, grad=True)
    adjusted = adjusted_mmd_loss(p, t(S), w, kernel=kind, chunk_size=chunk)
    g_adj = torch.autograd.grad(adjusted, (p, w))
    p2, w2 = t(P, grad=True), t(W + 0.1, grad=True)
    plain = mmd_loss(p2, t(S), w2, kernel=kind)
    g_plain = torch.autograd.grad(plain, (p2, w2))
    denominator = float(plain.detach()) / float(adjusted.detach())
    assert denominator == pytest.approx(
        float(plain.detach()) / ref_adjusted_mmd(P, S, W + 0.1, kind, 0.1), rel=1e-10
    )
    for a, b in zip(g_adj, g_plain, strict=True):
        np.testing.assert_allclose(a.numpy() * denominator, b.numpy(), rtol=1e-10, atol=1e-14)


# ----------------------------------------------------------------------------- numerics


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_equal_predictions_finite_value_and_gradient(name, dtype):
    p = torch.full((8,), 0.3, dtype=dtype, requires_grad=True)
    s = torch.tensor([1, 1, 1, 0, 0, 0, 0, 0], dtype=dtype)
    loss = LOSSES[name](p, s, None)
    (grad,) = torch.autograd.grad(loss, p)
    assert torch.isfinite(loss)
    assert abs(float(loss.detach())) < 1e-5
    assert torch.isfinite(grad).all()


@pytest.mark.parametrize("name", sorted(n for n in LOSSES if n != "corr"))  # corr: one column
def test_equal_multicolumn_predictions_finite_gradient(name):
    p = torch.full((6, 3), 0.5, dtype=torch.float64, requires_grad=True)
    s = t([1, 0, 1, 0, 1, 0])
    loss = LOSSES[name](p, s, None)
    (grad,) = torch.autograd.grad(loss, p)
    assert torch.isfinite(loss) and torch.isfinite(grad).all()


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_one_element_groups(name):
    p = t([0.8, 0.1], grad=True)
    s = t([1, 0])
    loss = LOSSES[name](p, s, None)
    (grad,) = torch.autograd.grad(loss, p)
    assert torch.isfinite(loss) and torch.isfinite(grad).all()
    if name.startswith("mmd_gauss"):
        assert float(loss.detach()) == pytest.approx(2 - 2 * math.exp(-(0.7**2) / 0.09), rel=1e-12)


@pytest.mark.parametrize("kind", ["gaussian", "laplacian"])
@pytest.mark.parametrize("fn", [mmd_loss, adjusted_mmd_loss])
def test_chunked_equals_dense_value_and_gradient(kind, fn):
    g = torch.Generator().manual_seed(0)
    n = 301
    p_data = torch.rand(n, generator=g, dtype=torch.float64)
    s = (torch.rand(n, generator=g) < 0.3).double()
    w = torch.rand(n, generator=g, dtype=torch.float64)
    grads = []
    values = []
    for chunk in (None, 1, 64, 300, n):
        p = p_data.clone().requires_grad_(True)
        loss = fn(p, s, w, kernel=kind, chunk_size=chunk)
        (grad,) = torch.autograd.grad(loss, p)
        values.append(float(loss.detach()))
        grads.append(grad)
    for v, gr in zip(values[1:], grads[1:], strict=True):
        assert v == pytest.approx(values[0], rel=1e-10)
        torch.testing.assert_close(gr, grads[0], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_large_batch_uses_chunks_automatically_and_matches_dense(dtype):
    # 2500^2 kernel entries exceed the dense budget (2^22), so the default path is chunked.
    g = torch.Generator().manual_seed(1)
    n = 2500
    p_data = torch.rand(n, generator=g, dtype=torch.float64)
    s = (torch.arange(n) % 3 == 0).double()
    p1 = p_data.clone().to(dtype).requires_grad_(True)
    auto = mmd_loss(p1, s.to(dtype))
    auto.backward()
    p2 = p_data.clone().requires_grad_(True)
    dense = mmd_loss(p2, s, chunk_size=n)
    dense.backward()
    assert p1.grad is not None and p2.grad is not None
    assert torch.isfinite(p1.grad).all()
    if dtype == torch.float64:
        assert float(auto.detach()) == pytest.approx(float(dense.detach()), rel=1e-10)
        torch.testing.assert_close(p1.grad, p2.grad, rtol=1e-9, atol=1e-15)
    else:  # float32: the MMD (~7e-4) is a difference of kernel means ~0.3, so ~1e-6 absolute
        assert float(auto.detach()) == pytest.approx(float(dense.detach()), abs=2e-6)
        torch.testing.assert_close(p1.grad.double(), p2.grad, rtol=1e-3, atol=1e-7)


def test_no_grad_chunked_path():
    with torch.no_grad():
        a = mmd_loss(t(P), t(S), chunk_size=2)
    assert float(a) == pytest.approx(ref_mmd(P, S), rel=1e-10)


# ----------------------------------------------------------------------------- empty groups


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_empty_group_is_zero_by_default(name):
    p = t([0.1, 0.5, 0.9], grad=True)
    for s, w in ((t([1, 1, 1]), None), (t([0, 0, 0]), None), (t([1, 0, 0]), t([0.0, 1, 1]))):
        loss = LOSSES[name](p, s, w)
        (grad,) = torch.autograd.grad(loss, p)
        assert float(loss.detach()) == 0.0
        assert torch.equal(grad, torch.zeros_like(grad))


def test_empty_batch_is_zero():
    for fn in (mmd_loss, adjusted_mmd_loss, absolute_correlation_loss):
        assert float(fn(torch.zeros(0), torch.zeros(0))) == 0.0


@pytest.mark.parametrize("fn", [mmd_loss, adjusted_mmd_loss, absolute_correlation_loss])
def test_empty_group_raise(fn):
    name = fn.__name__
    msg = (
        f"The 'membership' parameter of {name} must be a tensor with examples of positive total "
        "weight in both groups (or pass empty_group='zero'). Got total weight 3 in the "
        "sensitive group and 0 in the other instead."
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        fn(t([0.1, 0.5, 0.9]), t([1, 1, 1]), empty_group="raise")
    msg = msg.replace("total weight 3 in", "total weight 0 in").replace("and 0 in", "and 2 in")
    with pytest.raises(ValueError, match=re.escape(msg)):
        fn(t([0.1, 0.5, 0.9]), t([1, 0, 0]), t([0.0, 1.0, 1.0]), empty_group="raise")


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("fn", [mmd_loss, adjusted_mmd_loss, absolute_correlation_loss])
def test_mismatched_lengths(fn):
    name = fn.__name__
    msg = (
        f"The 'membership' parameter of {name} must be a tensor of 0/1 values with one entry "
        "per prediction (4). Got shape (3,) instead."
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        fn(torch.rand(4), torch.tensor([1, 0, 1]))
    msg = (
        f"The 'weights' parameter of {name} must be a tensor of weights with one entry "
        "per prediction (4). Got shape (5,) instead."
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        fn(torch.rand(4), torch.tensor([1, 0, 1, 0]), torch.ones(5))


@pytest.mark.parametrize("fn", [mmd_loss, adjusted_mmd_loss, absolute_correlation_loss])
def test_membership_not_binary(fn):
    msg = (
        f"The 'membership' parameter of {fn.__name__} must be a tensor of 0/1 values "
        "(1 = sensitive group). Got a tensor containing 0.5 instead."
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        fn(torch.rand(4), torch.tensor([1.0, 0.5, 0.0, 1.0]))
    with pytest.raises(ValueError, match=re.escape(msg.replace("0.5", "2"))):
        fn(torch.rand(4), torch.tensor([1, 2, 0, 1]))
    # without checks the value is not inspected
    fn(torch.rand(4), torch.tensor([1.0, 0.5, 0.0, 1.0]), check_inputs=False)


@pytest.mark.parametrize("fn", [mmd_loss, adjusted_mmd_loss, absolute_correlation_loss])
def test_negative_or_nonfinite_weights(fn):
    msg = (
        f"The 'weights' parameter of {fn.__name__} must be a tensor of finite, non-negative "
        "weights. Got a tensor containing -1 instead."
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        fn(torch.rand(4), torch.tensor([1, 0, 1, 0]), torch.tensor([1.0, -1.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match=re.escape(msg.replace("-1", "nan"))):
        fn(torch.rand(4), torch.tensor([1, 0, 1, 0]), torch.tensor([1.0, float("nan"), 2, 1]))


def test_bad_shapes_types_and_options():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "The 'predictions' parameter of mmd_loss must be a tensor of shape (N,) or (N, D). "
            "Got shape (2, 2, 2) instead."
        ),
    ):
        mmd_loss(torch.rand(2, 2, 2), torch.tensor([1, 0]))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "The 'predictions' parameter of absolute_correlation_loss must be a tensor of shape "
            "(N,) or (N, 1) (one prediction per example). Got shape (2, 3) instead."
        ),
    ):
        absolute_correlation_loss(torch.rand(2, 3), torch.tensor([1, 0]))
    with pytest.raises(
        TypeError,
        match=re.escape("The 'predictions' parameter of mmd_loss must be a torch.Tensor."),
    ):
        mmd_loss([0.1, 0.2], torch.tensor([1, 0]))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "The 'predictions' parameter of mmd_loss must be a floating-point tensor. "
            "Got dtype torch.int64 instead."
        ),
    ):
        mmd_loss(torch.tensor([1, 0]), torch.tensor([1, 0]))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "The 'kernel' parameter of mmd_loss must be one of {'gaussian', 'laplacian'} or a "
            "callable. Got 'cosine' instead."
        ),
    ):
        mmd_loss(torch.rand(2), torch.tensor([1, 0]), kernel="cosine")
    with pytest.raises(
        ValueError,
        match=re.escape(
            "The 'kernel_length' parameter of MMDLoss must be a float > 0. Got 0 instead."
        ),
    ):
        MMDLoss(kernel_length=0)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "The 'chunk_size' parameter of mmd_loss must be an int >= 1 or None. Got 0 instead."
        ),
    ):
        mmd_loss(torch.rand(2), torch.tensor([1, 0]), chunk_size=0)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "The 'empty_group' parameter of mmd_loss must be one of {'zero', 'raise'}. "
            "Got 'nan' instead."
        ),
    ):
        mmd_loss(torch.rand(2), torch.tensor([1, 0]), empty_group="nan")
    with pytest.raises(ValueError, match=re.escape("The 'loss' parameter of get_mindiff_loss")):
        get_mindiff_loss("kl")


# ----------------------------------------------------------------------------- module memo


@pytest.mark.parametrize("make", [MMDLoss, AdjustedMMDLoss, AbsoluteCorrelationLoss])
def test_module_remembers_checked_membership_until_it_changes(make):
    loss = make()
    p = t(P)
    s = t(S)
    first = float(loss(p, s))
    assert float(loss(p, s)) == first  # memo hit: same value
    assert float(loss(p, t(S))) == first  # an equal tensor: recomputed, same value
    s[0] = 0.5  # in place: the version counter changes, so it is checked again
    name = type(loss).__name__
    func = {
        "MMDLoss": "mmd_loss",
        "AdjustedMMDLoss": "adjusted_mmd_loss",
        "AbsoluteCorrelationLoss": "absolute_correlation_loss",
    }[name]
    with pytest.raises(ValueError, match=re.escape(f"The 'membership' parameter of {func}")):
        loss(p, s)
    s2 = t(1 - S)
    assert float(loss(p, s2)) == pytest.approx(first, rel=1e-12)  # groups swapped: same loss
    weighted = float(loss(p, s2, t(W)))
    assert weighted == pytest.approx(float(loss(p, t(1 - S), t(W))), rel=1e-12)


def test_named_kernel_losses_are_not_twice_differentiable():
    p = t(P, grad=True)
    with pytest.raises(RuntimeError, match="differentiable once, not twice"):
        torch.autograd.grad(mmd_loss(p, t(S)), p, create_graph=True)
    # a kernel given as a function goes through autograd, which can differentiate twice
    (g,) = torch.autograd.grad(mmd_loss(p, t(S), kernel=gaussian_kernel), p, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), p)
    assert torch.isfinite(h).all()


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_predictions_are_an_error(bad: float) -> None:
    from assay.fairness.remediation import absolute_correlation_loss

    p = torch.tensor([0.2, bad, 0.7, 0.4])
    s = torch.tensor([1, 0, 1, 0])
    for fn in (mmd_loss, absolute_correlation_loss):
        with pytest.raises(ValueError, match=re.escape(
            f"The 'predictions' argument of {fn.__name__} must be finite numbers. Got 1 NaN "
            "or infinite value(s) among 4")):  # fmt: skip
            fn(p, s)
        # documented: without the checks the loss is NaN, not a silently wrong number
        assert torch.isnan(fn(p, s, check_inputs=False))
