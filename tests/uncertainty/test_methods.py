"""Deep ensembles, MC dropout and SNGP on tiny models: seeds, closed forms, OOD use."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

import assay  # noqa: E402
from assay import uncertainty as U  # noqa: E402
from assay.uncertainty import ensembles as E  # noqa: E402

nn = torch.nn


def _blobs(n: int = 300, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    centers = torch.tensor([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    y = torch.randint(0, 3, (n,), generator=g)
    x = centers[y] + 0.6 * torch.randn(n, 2, generator=g)
    return x, y


def _mlp(dropout: float = 0.0) -> nn.Module:
    layers: list[nn.Module] = [nn.Linear(2, 16), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(16, 3))
    return nn.Sequential(*layers)


def _train(model: nn.Module, seed: int, x: torch.Tensor, y: torch.Tensor, steps: int = 60) -> None:
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(0, x.shape[0], (64,), generator=g)
        opt.zero_grad()
        nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
        opt.step()


def test_deep_ensemble_seeds_reproducible_and_members_differ() -> None:
    x, y = _blobs()
    a = U.DeepEnsemble(_mlp, _train, n_members=3, seed=10).fit(x, y)
    b = U.DeepEnsemble(_mlp, _train, n_members=3, seed=10).fit(x, y)
    pa, pb = a.member_probs(x), b.member_probs(x)
    assert pa.shape == (3, 300, 3)
    assert np.array_equal(pa, pb)
    assert not np.allclose(pa[0], pa[1])  # different seeds, different members
    assert a.seeds_ == [10, 11, 12]
    assert np.allclose(a.predict_proba(x), pa.mean(0))
    assert U.accuracy(a.predict_proba(x), y.numpy()) > 0.9
    # the global RNG is untouched by fit
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    U.DeepEnsemble(_mlp, _train, n_members=1).fit(x, y)
    assert torch.equal(torch.rand(1), before)


def test_uncertainty_scores_closed_forms_and_ood_direction() -> None:
    same = np.stack([np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])] * 4)
    s = E.uncertainty_scores(same)
    assert s["mutual_information"] == pytest.approx([0, 0], abs=1e-12)
    assert s["disagreement"].tolist() == [0, 0]
    assert s["predictive_entropy"] == pytest.approx(s["expected_entropy"])
    assert s["one_minus_max_prob"] == pytest.approx([0.4, 0.4])
    # identical members (same seed) have zero mutual information on any input
    x, y = _blobs()
    ens = U.DeepEnsemble(_mlp, _train, n_members=3, seeds=[4, 4, 4]).fit(x, y)
    assert np.allclose(ens.uncertainty(x)["mutual_information"], 0.0, atol=1e-12)
    # sign convention as an OOD score: members that disagree (rows 'out') score higher
    rng = np.random.default_rng(0)
    agree = np.tile(rng.dirichlet([5, 1, 1], 50)[None], (4, 1, 1))
    split = np.stack([rng.dirichlet(np.roll([8, 1, 1], m), 50) for m in range(4)])
    scores = E.uncertainty_scores(np.concatenate([agree, split], axis=1))
    is_ood = np.r_[np.zeros(50), np.ones(50)].astype(int)
    for name in ("mutual_information", "disagreement"):
        r = assay.evaluate({"y": is_ood, "s": scores[name]}, label="y", scores="s", task="ood", ci=None)
        assert r.value("auroc").value > 0.95, name


def test_mc_dropout_reproducible_restores_flags_and_needs_dropout() -> None:
    x, y = _blobs()
    torch.manual_seed(0)
    m = _mlp(dropout=0.3)
    _train(m, 0, x, y)
    m.train()
    a = U.mc_dropout_probs(m, x, 8, seed=3)
    b = U.mc_dropout_probs(m, x, 8, seed=3)
    c = U.mc_dropout_probs(m, x, 8, seed=4)
    assert a.shape == (8, 300, 3)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.allclose(a[0], a[1])  # dropout is on at test time
    assert all(mod.training for mod in m.modules())  # flags restored
    m.eval()
    with torch.no_grad():
        det = torch.softmax(m(x), -1).numpy()
    assert not any(mod.training for mod in m.modules())
    # the MC mean is near the deterministic (weight-scaled) prediction for small dropout
    mc = U.MCDropout(m, n_samples=64, seed=0)
    assert U.accuracy(mc.predict_proba(x), y.numpy()) == pytest.approx(U.accuracy(det, y.numpy()), abs=0.05)
    assert mc.uncertainty(x)["mutual_information"].mean() > 0
    # batch norm stays in eval mode: a model whose only randomness would be BN sees none
    bn = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Dropout(0.0), nn.Linear(4, 3))
    p = U.mc_dropout_probs(bn, x, 3)
    assert np.allclose(p[0], p[1])
    with pytest.raises(ValueError, match="has no dropout layer"):
        U.mc_dropout_probs(_mlp(), x, 4)
    same = U.mc_dropout_probs(_mlp(), x, 2, require_dropout=False)
    assert np.allclose(same[0], same[1])
    with pytest.raises(ValueError, match="'n_samples' parameter of mc_dropout_probs"):
        U.mc_dropout_probs(m, x, 0)


def test_spectral_norm_bound() -> None:
    torch.manual_seed(0)
    big = nn.Linear(8, 6)
    with torch.no_grad():
        big.weight.mul_(10.0)
    small = nn.Linear(6, 4)
    with torch.no_grad():
        small.weight.mul_(0.01)
    w_small = small.weight.detach().clone()
    net = nn.Sequential(big, nn.ReLU(), small)
    U.spectral_normalize(net, norm_bound=0.9, n_power_iterations=1)
    assert isinstance(net[0], U.BoundedSpectralLinear)
    net.train()
    for _ in range(30):  # power iterations run in training forward passes
        net(torch.randn(4, 8))
    net.eval()
    w0 = net[0].effective_weight().detach()
    assert float(torch.linalg.matrix_norm(w0, ord=2)) == pytest.approx(0.9, rel=1e-3)
    # a layer already below the bound is unchanged
    w2 = net[2].effective_weight().detach()
    assert torch.allclose(w2, w_small, rtol=1e-4, atol=1e-7)
    seq = U.spectral_normalize(nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2)), exclude=["1"])
    assert isinstance(seq[0], U.BoundedSpectralLinear) and isinstance(seq[1], nn.Linear)


def test_random_features_approximate_the_rbf_kernel() -> None:
    gp = U.RandomFeatureGP(3, 2, num_features=4000, lengthscale=1.5, seed=1)
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g)
    pa, pb = gp.features(a), gp.features(b)
    approx = pa @ pb.T
    exact = torch.exp(-torch.cdist(a, b) ** 2 / (2 * 1.5**2))
    err = (approx - exact).abs()
    assert float(err.max()) < 0.05  # Monte Carlo error ~ 1 / sqrt(2 D) = 0.011 per entry
    assert float(err.mean()) < 0.015
    # a shorter lengthscale decorrelates faster: the approximation tracks the lengthscale
    short = U.RandomFeatureGP(3, 2, num_features=4000, lengthscale=0.3, seed=1)
    assert float((short.features(a) @ short.features(b).T).abs().mean()) < 0.05
    assert torch.equal(U.RandomFeatureGP(3, 2, 64, seed=5).rff_weight, U.RandomFeatureGP(3, 2, 64, seed=5).rff_weight)


def test_laplace_precision_variance_and_mean_field_closed_forms() -> None:
    torch.manual_seed(0)
    gp = U.RandomFeatureGP(2, 3, num_features=32, ridge=2.0, seed=0)
    h1, h2 = torch.randn(10, 2), torch.randn(7, 2)
    gp.reset_precision()
    gp.update_precision(h1)
    gp.update_precision(h2)
    h = torch.cat([h1, h2])
    phi = gp.features(h).double()
    with torch.no_grad():
        p = torch.softmax(gp.beta(phi.float()).double(), -1).max(-1).values
    want = 2.0 * torch.eye(32, dtype=torch.float64)
    for i in range(17):
        want += p[i] * (1 - p[i]) * torch.outer(phi[i], phi[i])
    assert torch.allclose(gp.precision, want, atol=1e-10)
    logits, var = gp.predict(h)
    cov = torch.linalg.inv(want)
    assert torch.allclose(var.double(), torch.stack([2.0 * phi[i] @ cov @ phi[i] for i in range(17)]), rtol=1e-4)
    adj = U.mean_field_logits(logits, var)
    assert torch.allclose(adj, logits / torch.sqrt(1 + math.pi / 8 * var).unsqueeze(-1))


def test_sngp_classifier_trains_and_is_distance_aware() -> None:
    x, y = _blobs(400)
    torch.manual_seed(0)
    body = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU())
    model = U.SNGPClassifier(body, 32, 3, num_features=256, lengthscale=2.0, seed=0)
    assert sum(isinstance(m, U.BoundedSpectralLinear) for m in model.modules()) == 2
    _train(model, 0, x, y, steps=150)
    model.fit_precision([(x[i : i + 100], y[i : i + 100]) for i in range(0, 400, 100)])
    p = model.predict_proba(x)
    assert U.accuracy(p, y.numpy()) > 0.9
    far = torch.tensor([[0.0, 15.0], [15.0, 15.0], [-15.0, 0.0], [0.0, -15.0]])
    v_in, v_out = model.uncertainty(x)["variance"], model.uncertainty(far)["variance"]
    assert v_out.min() > np.quantile(v_in, 0.95)
    # the mean-field adjustment only lowers confidence
    logits, _ = model.predict_logits(far)
    raw = model(far).detach()
    assert torch.all(torch.softmax(logits, -1).max(-1).values <= torch.softmax(raw, -1).max(-1).values + 1e-6)


def test_uncertainty_scores_feed_assay_ood_detectors() -> None:
    ood = pytest.importorskip("assay.ood")
    rng = np.random.default_rng(1)
    agree = np.tile(rng.dirichlet([5, 1, 1], 40)[None], (3, 1, 1))
    split = np.stack([rng.dirichlet(np.roll([8, 1, 1], m), 40) for m in range(3)])
    s_in, s_out = E.uncertainty_scores(agree), E.uncertainty_scores(split)
    r = ood.evaluate_detectors(s_in, s_out, ci=None)
    assert r.value("auroc", "mutual_information") > 0.95
    assert r.value("auroc", "disagreement") > 0.9


def test_sngp_batched_prediction_and_state_dict_round_trip() -> None:
    x, y = _blobs(200)
    torch.manual_seed(0)
    model = U.SNGPClassifier(nn.Sequential(nn.Linear(2, 16), nn.ReLU()), 16, 3, num_features=64, seed=0)
    _train(model, 0, x, y, steps=30)
    model.fit_precision([x])
    logits, var = model.predict_logits(x)
    lb, vb = model.predict_logits(x, batch_size=37)
    assert torch.allclose(logits, lb, atol=1e-6) and torch.allclose(var, vb, rtol=1e-5)
    with pytest.raises(ValueError, match="'batch_size' parameter must be >= 1"):
        model.predict_logits(x, batch_size=0)
    # a fresh model loading the state dict (saved before any prediction, so with the prior
    # covariance buffer) predicts from the loaded precision
    fresh = U.SNGPClassifier(nn.Sequential(nn.Linear(2, 16), nn.ReLU()), 16, 3, num_features=64, seed=0)
    trained = U.SNGPClassifier(nn.Sequential(nn.Linear(2, 16), nn.ReLU()), 16, 3, num_features=64, seed=0)
    torch.manual_seed(0)
    _train(trained, 0, x, y, steps=30)
    trained.fit_precision([x])
    fresh.load_state_dict(trained.state_dict())
    assert torch.allclose(fresh.predict_logits(x)[1], trained.predict_logits(x)[1], rtol=1e-6)
