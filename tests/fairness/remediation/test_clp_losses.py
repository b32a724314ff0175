"""Counterfactual logit pairing: losses against NumPy, gradients, and the model wrapper."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from assay.fairness.remediation import (  # noqa: E402
    CounterfactualBatch,
    CounterfactualLoss,
    CounterfactualModel,
    counterfactual_logit_pairing_loss,
    flip_binary_features,
    make_mlp,
    pairwise_absolute_difference_loss,
    pairwise_cosine_loss,
    pairwise_mse_loss,
)

ORIG = np.array([[0.5, -1.0, 2.0], [0.0, 0.3, -0.2], [1.5, 1.5, 0.1], [-0.7, 0.2, 0.9]])
CF = np.array([[0.4, -1.2, 2.5], [0.1, 0.3, 0.0], [1.0, 1.6, -0.3], [-0.7, 0.2, 0.9]])
W = np.array([1.0, 0.5, 2.0, 0.0])


def ref(kind: str, o: np.ndarray, c: np.ndarray, w: np.ndarray | None) -> float:
    per = []
    for oi, ci in zip(o, c, strict=True):
        oi, ci = np.ravel(oi), np.ravel(ci)
        if kind == "mse":
            per.append(sum((a - b) ** 2 for a, b in zip(oi, ci, strict=True)) / len(oi))
        elif kind == "absolute_difference":
            per.append(sum(abs(a - b) for a, b in zip(oi, ci, strict=True)) / len(oi))
        else:
            dot = sum(a * b for a, b in zip(oi, ci, strict=True))
            no = math.sqrt(max(sum(a * a for a in oi), 1e-12))
            nc = math.sqrt(max(sum(b * b for b in ci), 1e-12))
            per.append(1 - dot / (no * nc))
    if w is None:
        return sum(per) / len(per)
    return sum(wi * li for wi, li in zip(w, per, strict=True)) / sum(w)


FUNCS = {
    "mse": pairwise_mse_loss,
    "absolute_difference": pairwise_absolute_difference_loss,
    "cosine": pairwise_cosine_loss,
}


def t(x, grad=False):
    return torch.tensor(np.asarray(x), dtype=torch.float64).requires_grad_(grad)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kind", sorted(FUNCS))
def test_clp_losses_match_numpy(kind, weighted):
    w = W if weighted else None
    got = FUNCS[kind](t(ORIG), t(CF), None if w is None else t(w))
    assert float(got) == pytest.approx(ref(kind, ORIG, CF, w), rel=1e-12)
    assert float(CounterfactualLoss(kind)(t(ORIG), t(CF), None if w is None else t(w))) == float(
        got
    )


@pytest.mark.parametrize("kind", sorted(FUNCS))
def test_clp_one_column_logits(kind):
    o, c = ORIG[:, :1], CF[:, :1]
    got = FUNCS[kind](t(o)[:, 0], t(c)[:, 0])
    assert float(got) == pytest.approx(ref(kind, o, c, None), rel=1e-12)


@pytest.mark.parametrize("kind", sorted(FUNCS))
def test_clp_gradcheck(kind):
    o, c, w = t(ORIG[:3], grad=True), t(CF[:3], grad=True), t(W[:3] + 0.1, grad=True)
    assert torch.autograd.gradcheck(FUNCS[kind], (o, c, w))


@pytest.mark.parametrize("kind", sorted(FUNCS))
def test_clp_equal_and_zero_outputs_finite(kind):
    for value in (0.0, 0.7):
        o = torch.full((3, 2), value, dtype=torch.float64, requires_grad=True)
        c = torch.full((3, 2), value, dtype=torch.float64, requires_grad=True)
        loss = FUNCS[kind](o, c)
        grads = torch.autograd.grad(loss, (o, c))
        assert torch.isfinite(loss.detach())
        assert all(torch.isfinite(g).all() for g in grads)
        expected = 1.0 if (kind == "cosine" and value == 0.0) else 0.0
        assert float(loss.detach()) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("kind", sorted(FUNCS))
def test_clp_zero_weights_and_empty_batch(kind):
    assert float(FUNCS[kind](t(ORIG), t(CF), t(np.zeros(4)))) == 0.0
    assert float(FUNCS[kind](torch.zeros(0, 2), torch.zeros(0, 2))) == 0.0


@pytest.mark.parametrize("kind", sorted(FUNCS))
def test_clp_bad_input(kind):
    name = FUNCS[kind].__name__
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"The 'counterfactual' parameter of {name} must be a tensor of the same shape as "
            "'original' (4, 3). Got shape (3, 3) instead."
        ),
    ):
        FUNCS[kind](t(ORIG), t(CF[:3]))
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"The 'weights' parameter of {name} must be a tensor of weights with one entry per "
            "example (4). Got shape (3,) instead."
        ),
    ):
        FUNCS[kind](t(ORIG), t(CF), torch.ones(3))
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"The 'weights' parameter of {name} must be a tensor of finite, non-negative "
            "weights. Got a tensor containing -2 instead."
        ),
    ):
        FUNCS[kind](t(ORIG), t(CF), torch.tensor([1.0, -2.0, 1.0, 1.0]))


def test_counterfactual_loss_bad_kind():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "The 'kind' parameter of CounterfactualLoss must be one of "
            "{'mse', 'absolute_difference', 'cosine'}. Got 'l1' instead."
        ),
    ):
        CounterfactualLoss("l1")  # type: ignore[arg-type]


def _net(seed: int = 0) -> nn.Module:
    return make_mlp(4, (8,), 1, seed=seed)


def test_flip_binary_features():
    x = torch.tensor([[1.0, 0.0, 3.0], [0.0, 1.0, -1.0]])
    np.testing.assert_array_equal(
        flip_binary_features(x, [0, 1]).numpy(), [[0.0, 1.0, 3.0], [1.0, 0.0, -1.0]]
    )
    np.testing.assert_array_equal(x.numpy(), [[1.0, 0.0, 3.0], [0.0, 1.0, -1.0]])  # no mutation
    np.testing.assert_array_equal(flip_binary_features(x.numpy(), 1).numpy()[:, 1], [1.0, 0.0])
    with pytest.raises(
        ValueError, match=re.escape("The 'columns' parameter of flip_binary_features")
    ):
        flip_binary_features(x, 5)


@pytest.mark.parametrize("fuse", [True, False])
def test_clp_helper_matches_manual(fuse):
    net = _net()
    g = torch.Generator().manual_seed(3)
    x = torch.randn(6, 4, generator=g)
    x[:, 0] = (x[:, 0] > 0).float()
    xc = flip_binary_features(x, 0)
    got = counterfactual_logit_pairing_loss(
        net, x, xc, loss="absolute_difference", fuse_forward=fuse
    )
    want = (net(x) - net(xc)).abs().mean()
    torch.testing.assert_close(got, want)


def test_counterfactual_model_wrapper_and_training_reduces_gap():
    g = torch.Generator().manual_seed(0)
    n = 256
    x = torch.randn(n, 4, generator=g)
    x[:, 0] = (torch.rand(n, generator=g) < 0.5).float()  # binary sensitive feature
    y = ((x[:, 1] + 1.5 * x[:, 0] + 0.3 * torch.randn(n, generator=g)) > 0.5).float()
    xc = flip_binary_features(x, 0)

    def train(loss_weight: float) -> float:
        net = _net(1)
        model = CounterfactualModel(net, "mse", loss_weight)
        opt = torch.optim.Adam(model.parameters(), lr=0.02)
        bce = nn.BCEWithLogitsLoss()
        for _ in range(150):
            opt.zero_grad()
            losses = model.compute_loss(x, y[:, None], bce, CounterfactualBatch(x, xc))
            losses["loss"].backward()
            opt.step()
        with torch.no_grad():
            return float((net(x) - net(xc)).abs().mean())

    gap_plain, gap_clp = train(0.0), train(5.0)
    assert gap_clp < 0.25 * gap_plain

    model = CounterfactualModel(_net(), loss_weight=2.0)
    out, penalty = model(x[:5], CounterfactualBatch(x[:5], xc[:5], torch.ones(5)))
    assert out.shape == (5, 1)
    with torch.no_grad():
        torch.testing.assert_close(penalty, 2.0 * pairwise_mse_loss(model(x[:5]), model(xc[:5])))
    assert model(x[:5]).shape == (5, 1)
