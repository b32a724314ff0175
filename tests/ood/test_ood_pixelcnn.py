"""PixelCNN and the likelihood ratio on tiny inputs: causality of the masks (by gradient),
normalization (brute force over every 2x2 binary image), the perturbation rate, training,
checkpoint resume, save/load, the LLR formula and its sign, and the error messages."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from assay import ood  # noqa: E402
from assay.ood.pixelcnn import MaskedConv2d, log_prob_pixels  # noqa: E402


def _model(n_levels: int = 4, seed: int = 0, **kw: int) -> ood.PixelCNN:
    torch.manual_seed(seed)
    return ood.PixelCNN(n_levels=n_levels, channels=kw.get("channels", 8),
                        n_layers=kw.get("n_layers", 2), first_kernel=kw.get("first_kernel", 5))  # fmt: skip


@pytest.mark.parametrize("first_kernel", [3, 5])
def test_output_at_a_pixel_depends_only_on_earlier_pixels(first_kernel: int) -> None:
    model = _model(n_levels=4, first_kernel=first_kernel).double()
    h = w = 8
    x = torch.randint(0, 4, (1, h, w)).double().requires_grad_(True)
    # forward() takes levels; to differentiate, feed the (continuous) levels directly
    logits = model(x)
    for i in range(h * w):
        r, c = divmod(i, w)
        (grad,) = torch.autograd.grad(logits[0, :, r, c].sum(), x, retain_graph=True)
        g = grad[0].abs().flatten()
        assert torch.all(g[i:] == 0), (
            f"pixel {i} sees pixel(s) {torch.nonzero(g[i:]).flatten() + i}"
        )
    # the immediate left and upper neighbours are always in the context
    (grad,) = torch.autograd.grad(logits[0, :, 4, 4].sum(), x)
    assert grad[0, 4, 3] != 0 and grad[0, 3, 4] != 0


def test_mask_shapes() -> None:
    a = MaskedConv2d("A", 1, 1, 3).mask[0, 0]
    b = MaskedConv2d("B", 1, 1, 3).mask[0, 0]
    np.testing.assert_array_equal(a.numpy(), [[1, 1, 1], [1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(b.numpy(), [[1, 1, 1], [1, 1, 0], [0, 0, 0]])


def test_probabilities_sum_to_one_over_all_images() -> None:
    model = _model(n_levels=2, seed=3, first_kernel=3)
    images = torch.tensor(list(itertools.product([0, 1], repeat=4))).reshape(16, 2, 2)
    with torch.no_grad():
        lp = model.log_prob(images).double()
    assert torch.exp(lp).sum().item() == pytest.approx(1.0, abs=1e-6)
    # three levels on 1x3 images: 27 images
    model3 = _model(n_levels=3, seed=4, first_kernel=3)
    imgs3 = torch.tensor(list(itertools.product([0, 1, 2], repeat=3))).reshape(27, 1, 3)
    with torch.no_grad():
        assert torch.exp(model3.log_prob(imgs3).double()).sum().item() == pytest.approx(
            1.0, abs=1e-6
        )


@pytest.mark.parametrize("rate", [0.1, 0.2])
def test_perturbation_rate(rate: float) -> None:
    n_levels = 256
    x = torch.zeros(200, 28, 28, dtype=torch.int64) + 7
    g = torch.Generator().manual_seed(0)
    y = ood.mutate(x, rate, n_levels, g)
    changed = (y != x).double().mean().item()
    expected = rate * (1 - 1 / n_levels)  # a replaced pixel may draw its own level
    sd = np.sqrt(expected * (1 - expected) / x.numel())
    assert abs(changed - expected) < 5 * sd
    # replacement levels are uniform over 0..255
    counts = np.bincount(y[y != x].numpy(), minlength=n_levels)
    from scipy.stats import chisquare

    assert chisquare(np.delete(counts, 7)).pvalue > 1e-4
    # fresh draws each call, reproducible with the seed
    y2 = ood.mutate(x, rate, n_levels, g)
    assert not torch.equal(y, y2)
    assert torch.equal(y, ood.mutate(x, rate, n_levels, torch.Generator().manual_seed(0)))
    assert torch.equal(ood.mutate(x, 0.0, n_levels), x)


def _toy(n: int = 64, seed: int = 0) -> np.ndarray:
    """8x8 images with 4 levels: a dark background and a bright vertical bar."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 8, 8), dtype=np.int64)
    cols = rng.integers(2, 6, size=n)
    for i, c in enumerate(cols):
        x[i, 1:7, c] = 3
    return x


def test_training_lowers_the_nll_and_resumes_from_a_checkpoint(tmp_path: Path) -> None:
    x = _toy()
    m1 = _model()
    log = ood.train_pixelcnn(m1, x, steps=30, batch_size=16, lr=3e-3, seed=1, log_every=5)
    assert log.bits_per_pixel[-1] < log.bits_per_pixel[0] and log.stopped == "steps"
    # interrupted at 12 steps, resumed to 30: the same weights as one run
    m2 = _model()
    ck = tmp_path / "ck.pt"
    ood.train_pixelcnn(m2, x, steps=12, batch_size=16, lr=3e-3, seed=1, checkpoint=ck,
                       checkpoint_every=4, log_every=5)  # fmt: skip
    m3 = _model(seed=99)  # other initial weights: overwritten by the checkpoint
    ood.train_pixelcnn(m3, x, steps=30, batch_size=16, lr=3e-3, seed=1, checkpoint=ck, log_every=5)
    for a, b in zip(m1.parameters(), m3.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    budget = ood.train_pixelcnn(_model(), x, steps=10_000, batch_size=16, max_seconds=0.3)
    assert budget.stopped == "time budget"


def test_likelihood_ratio_is_the_difference_of_the_two_models(tmp_path: Path) -> None:
    x = _toy(48)
    det = ood.LikelihoodRatio(mutation_rate=0.2, l2=1e-3, n_levels=4, channels=8, n_layers=1,
                              first_kernel=3, steps=15, batch_size=16, seed=0)  # fmt: skip
    assert det.fit(x) is det
    test = _toy(10, seed=5)
    lp = log_prob_pixels(det.model_, test).reshape(10, -1).sum(1)
    lb = log_prob_pixels(det.background_, test).reshape(10, -1).sum(1)
    with torch.no_grad():  # an independent computation through the modules
        lp2 = det.model_.log_prob(torch.as_tensor(test)).double().numpy()
    np.testing.assert_allclose(lp, lp2, rtol=1e-5)
    np.testing.assert_allclose(det.score(test), -(lp - lb), rtol=1e-10)
    np.testing.assert_allclose(det.likelihood_score(test), -lp)
    np.testing.assert_allclose(
        det.pixel_llr(test).reshape(10, -1).sum(1), -det.score(test), rtol=1e-9
    )
    # input complexity: -(log2 p + deflate bits), the deflate length checked with zlib
    import zlib

    bits = np.array([8 * len(zlib.compress(im.astype(np.uint8).tobytes(), 9)) for im in test])
    np.testing.assert_allclose(det.complexity_score(test), -(lp / np.log(2) + bits), rtol=1e-9)
    det.save(tmp_path / "llr.pt")
    back = ood.LikelihoodRatio.load(tmp_path / "llr.pt")
    np.testing.assert_allclose(back.score(test), det.score(test))
    assert back.mutation_rate == 0.2 and back.log_model_.steps == det.log_model_.steps


def test_sign_background_pixels_cancel_in_the_ratio() -> None:
    # In-distribution: a dark background with a bright bar. OOD: the same background,
    # the bar replaced by a noisy blob. Outlier scores of both detectors are larger for the
    # OOD images (the likelihood's sign convention: -log p).
    x = _toy(128)
    det = ood.LikelihoodRatio(mutation_rate=0.2, l2=1e-3, n_levels=4, channels=16, n_layers=1,
                              first_kernel=3, steps=150, batch_size=32, lr=5e-3, seed=0)  # fmt: skip
    det.fit(x)
    x_in = _toy(40, seed=9)
    rng = np.random.default_rng(2)
    x_out = np.zeros_like(x_in)
    x_out[:, 2:6, 2:6] = rng.integers(0, 4, size=(40, 4, 4))
    m_llr = ood.ood_metrics(det.score(x_in), det.score(x_out))
    m_lik = ood.ood_metrics(det.likelihood_score(x_in), det.likelihood_score(x_out))
    assert m_lik["auroc"] > 0.9 and m_llr["auroc"] > 0.9


def test_bad_images() -> None:
    det = ood.LikelihoodRatio(n_levels=4, channels=4, n_layers=0, first_kernel=3, steps=2,
                              batch_size=8)  # fmt: skip
    with pytest.raises(ood.NotFittedError, match=r"This LikelihoodRatio is not fitted yet"):
        det.score(_toy(4))
    with pytest.raises(
        ValueError, match=r"must be grey-scale images of shape \(n, H, W\).*\(4, 8\)"
    ):
        det.fit(np.zeros((4, 8)))
    with pytest.raises(ValueError, match=r"pixel levels in \[0, 3\]\. Got values in \[9, 9\]"):
        det.fit(np.full((4, 8, 8), 9))
    with pytest.raises(ValueError, match=r"not intensities scaled to \[0, 1\]"):
        det.fit(np.full((4, 8, 8), 0.5))
    with pytest.raises(
        ValueError,
        match=r"'mutation_rate' parameter of LikelihoodRatio must be a float in \(0, 1\]",
    ):
        ood.LikelihoodRatio(mutation_rate=0.0, n_levels=4).fit(_toy(4))
    det.fit(_toy(8))
    with pytest.raises(
        ValueError, match=r"must be images of shape \(8, 8\) \(as at fit\)\. Got \(6, 6\)"
    ):
        det.score(np.zeros((2, 6, 6), dtype=np.int64))
    with pytest.raises(ValueError, match=r"'rate' parameter of mutate must be a float in \[0, 1\]"):
        ood.mutate(torch.zeros(2, 2, dtype=torch.int64), 1.5, 4)
    with pytest.raises(ValueError, match=r"'first_kernel' parameter of PixelCNN must be odd"):
        ood.PixelCNN(first_kernel=4)


def test_validation_set_equal_to_test_set_warns() -> None:
    a = _toy(5)
    with pytest.warns(UserWarning, match=r"validation OOD set equals the test OOD set"):
        assert ood.warn_if_same_set(a, a.copy())
    assert not ood.warn_if_same_set(a, _toy(5, seed=1))


def test_compressed_bits_orders_complexity() -> None:
    flat = np.zeros((1, 28, 28), dtype=np.uint8)
    noise = np.random.default_rng(0).integers(0, 256, size=(1, 28, 28))
    assert ood.compressed_bits(flat)[0] < ood.compressed_bits(noise)[0]
    assert ood.compressed_bits(noise)[0] > 8 * 784 * 0.95  # random bytes do not compress
    with pytest.raises(
        ValueError, match=r"'images' parameter of compressed_bits must hold integer pixel levels"
    ):
        ood.compressed_bits(np.full((1, 4, 4), 0.5))
