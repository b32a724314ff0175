"""The gated PixelCNN (vertical + horizontal stacks) and its discretised logistic output on
tiny inputs: causality by gradient, no blind spot (against the plain PixelCNN, which has
one), normalization by brute force over every image, the bin probabilities against SciPy's
logistic CDF, training, and saving / loading through ``LikelihoodRatio``."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from assay import ood  # noqa: E402
from assay.ood.pixelcnn import log_prob_pixels  # noqa: E402

VARIANTS = [(0, 3), (0, 5), (1, 3), (3, 5)]  # (n_mix, first_kernel); n_mix 0 = softmax


def _gated(n_levels: int = 4, seed: int = 0, n_mix: int = 0, **kw: int) -> ood.PixelCNN:
    torch.manual_seed(seed)
    return ood.PixelCNN(n_levels=n_levels, channels=kw.get("channels", 6),
                        n_layers=kw.get("n_layers", 2), first_kernel=kw.get("first_kernel", 3),
                        gated=True, n_mix=n_mix)  # fmt: skip


def _grad_map(model: ood.PixelCNN, x: torch.Tensor, r: int, c: int) -> torch.Tensor:
    out = model(x)
    (grad,) = torch.autograd.grad(out[0, :, r, c].sum(), x)
    return grad[0].abs()


@pytest.mark.parametrize(("n_mix", "first_kernel"), VARIANTS)
def test_output_at_a_pixel_depends_only_on_earlier_pixels(n_mix: int, first_kernel: int) -> None:
    model = _gated(n_mix=n_mix, first_kernel=first_kernel, n_layers=3).double()
    h, w = 7, 6
    x = torch.randint(0, 4, (1, h, w)).double().requires_grad_(True)
    out = model(x)  # forward() takes levels; differentiate through the continuous levels
    for i in range(h * w):
        r, c = divmod(i, w)
        (grad,) = torch.autograd.grad(out[0, :, r, c].sum(), x, retain_graph=True)
        g = grad[0].abs().flatten()
        assert torch.all(g[i:] == 0), (
            f"pixel {i} sees pixel(s) {torch.nonzero(g[i:]).flatten() + i}"
        )
        assert c == 0 or g[i - 1] != 0  # the left neighbour
        assert r == 0 or g[i - w] != 0  # the pixel above


def test_no_blind_spot_unlike_the_plain_pixelcnn() -> None:
    # (r-1, c+2), above and two to the right, is in the plain PixelCNN's blind spot for
    # any depth (3x3 masks); the gated PixelCNN sees it after one 3-wide layer
    x = torch.randint(0, 4, (1, 8, 8)).double().requires_grad_(True)
    r, c = 5, 3
    torch.manual_seed(0)
    plain = ood.PixelCNN(4, 6, 4, 3).double()
    gp = _grad_map(plain, x, r, c)
    assert gp[r - 1, c + 1] != 0 and gp[r - 1, c + 2] == 0 and gp[r - 2, c + 3] == 0
    gated = _gated(n_layers=2).double()
    gg = _grad_map(gated, x, r, c)
    assert gg[r - 1, c + 2] != 0 and gg[r - 2, c + 3] != 0
    # every earlier pixel within the receptive field (2 rows up, 2 columns either side)
    for rr in range(r - 2, r + 1):
        for cc in range(c - 2, c + 3):
            if (rr, cc) < (r, c):
                assert gg[rr, cc] != 0, (rr, cc)


@pytest.mark.parametrize("n_mix", [0, 1, 3])
def test_probabilities_sum_to_one_over_all_images(n_mix: int) -> None:
    for n_levels, shape, seed in ((3, (2, 2), 1), (2, (2, 3), 2), (5, (1, 2), 3)):
        model = _gated(n_levels=n_levels, seed=seed, n_mix=n_mix).double()
        images = torch.tensor(list(itertools.product(range(n_levels), repeat=shape[0] * shape[1])))
        with torch.no_grad():
            lp = model.log_prob(images.reshape(-1, *shape))
        assert lp.shape == (n_levels ** (shape[0] * shape[1]),)
        assert torch.exp(lp).sum().item() == pytest.approx(1.0, abs=1e-9)


def test_discretised_logistic_bins_match_scipy() -> None:
    from scipy.special import softmax
    from scipy.stats import logistic

    n_levels, k = 8, 2
    model = _gated(n_levels=n_levels, seed=5, n_mix=k).double()
    with torch.no_grad():  # large output weights: sharp and wide components both occur
        model.head2.weight.mul_(20.0)
    x = torch.randint(0, n_levels, (3, 4, 5))
    with torch.no_grad():
        out = model(x).numpy()
        got = np.exp(model.log_prob_pixels(x).numpy())
    pi = softmax(out[:, :k], axis=1)
    loc, scale = out[:, k : 2 * k], np.exp(np.clip(out[:, 2 * k :], -7, 7))
    xs = (x.numpy()[:, None] * 2.0 / (n_levels - 1) - 1.0).repeat(k, axis=1)
    half = 1.0 / (n_levels - 1)
    hi = np.where(xs >= 1.0, 1.0, logistic.cdf(xs + half, loc, scale))
    lo = np.where(xs <= -1.0, 0.0, logistic.cdf(xs - half, loc, scale))
    want = (pi * (hi - lo)).sum(axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-12)


def test_gated_training_and_likelihood_ratio_save_load(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = np.zeros((48, 8, 8), dtype=np.int64)
    for i, col in enumerate(rng.integers(2, 6, size=48)):
        x[i, 1:7, col] = 255
    model = _gated(n_levels=256, n_mix=1, channels=8)
    log = ood.train_pixelcnn(model, x, steps=30, batch_size=16, lr=5e-3, seed=1, log_every=5)
    assert log.bits_per_pixel[-1] < log.bits_per_pixel[0]
    det = ood.LikelihoodRatio(mutation_rate=0.2, l2=0.0, channels=6, n_layers=1, first_kernel=3,
                              gated=True, n_mix=1, steps=10, batch_size=16, seed=0)  # fmt: skip
    det.fit(x)
    assert det.model_.config["gated"] and det.background_.config["n_mix"] == 1
    test = x[:5]
    lp = log_prob_pixels(det.model_, test).reshape(5, -1).sum(1)
    lb = log_prob_pixels(det.background_, test).reshape(5, -1).sum(1)
    np.testing.assert_allclose(det.score(test), -(lp - lb), rtol=1e-10)
    det.save(tmp_path / "gated.pt")
    back = ood.LikelihoodRatio.load(tmp_path / "gated.pt")
    assert back.gated and back.n_mix == 1 and back.model_.gated
    np.testing.assert_allclose(back.score(test), det.score(test))
    np.testing.assert_allclose(back.pixel_llr(test), det.pixel_llr(test))


def test_bad_architecture_arguments() -> None:
    with pytest.raises(ValueError, match=r"'n_mix' parameter of PixelCNN .* needs gated=True"):
        ood.PixelCNN(4, 4, 1, 3, n_mix=1)
    with pytest.raises(ValueError, match="'n_mix' parameter of PixelCNN must be an int >= 0"):
        ood.PixelCNN(4, 4, 1, 3, gated=True, n_mix=-1)
    with pytest.raises(TypeError, match="'gated' parameter of PixelCNN must be a bool"):
        ood.PixelCNN(4, 4, 1, 3, gated=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"'n_mix' parameter of PixelCNN .* needs gated=True"):
        ood.LikelihoodRatio(n_levels=4, channels=4, n_layers=1, n_mix=2, steps=1).fit(
            np.zeros((4, 4, 4), dtype=np.int64)
        )
