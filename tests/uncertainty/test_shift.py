"""Corruptions: identities, closed forms, seeds, the stacked sets as slices."""

from __future__ import annotations

import numpy as np
import pytest

from assay.uncertainty import shift as S


def _imgs(n: int = 6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 16, 16), np.uint8)
    x[:, 4:12, 5:11] = rng.integers(80, 255, (n, 8, 6))
    return x


def test_severity_zero_and_errors() -> None:
    x = _imgs()
    for k in S.CORRUPTIONS:
        assert np.array_equal(S.corrupt(x, k, 0), x)
    with pytest.raises(ValueError, match="'kind' parameter of corrupt must be one of"):
        S.corrupt(x, "fog", 1)
    with pytest.raises(ValueError, match=r"'severity' parameter of corrupt must be an int in 0..5. Got 6"):
        S.corrupt(x, "rotation", 6)
    with pytest.raises(ValueError, match=r"shape \(n, H, W\)"):
        S.corrupt(x[0], "rotation", 1)
    with pytest.raises(ValueError, match=r"floats in \[0, 1\]"):
        S.corrupt(x.astype(float), "contrast", 1)


def test_every_corruption_keeps_shape_dtype_and_is_seeded() -> None:
    x = _imgs()
    for k in S.CORRUPTIONS:
        for sev in (1, 5):
            a = S.corrupt(x, k, sev, seed=1)
            assert a.shape == x.shape and a.dtype == np.uint8, k
            assert np.array_equal(a, S.corrupt(x, k, sev, seed=1)), k
            assert not np.array_equal(a, x), (k, sev)
    assert not np.array_equal(S.corrupt(x, "shot_noise", 3, seed=1), S.corrupt(x, "shot_noise", 3, seed=2))
    # a higher severity moves the image further
    d1 = np.abs(S.corrupt(x, "gaussian_blur", 1).astype(float) - x).mean()
    d5 = np.abs(S.corrupt(x, "gaussian_blur", 5).astype(float) - x).mean()
    assert d5 > d1


def test_rotation_and_translation_closed_forms() -> None:
    x = _imgs().astype(np.float64) / 255
    assert np.allclose(S.rotate_images(x, 90.0), np.rot90(x, k=1, axes=(1, 2)), atol=1e-12)
    assert np.allclose(S.rotate_images(x, 180.0), x[:, ::-1, ::-1], atol=1e-12)
    t = S.translate_images(x, [[2.0, -3.0]])
    want = np.zeros_like(x)
    want[:, 2:, :-3] = x[:, :-2, 3:]
    assert np.allclose(t, want)
    # the seeded translation moves every image by exactly the severity's pixels
    d = np.zeros((4, 16, 16), np.uint8)
    d[:, 8, 8] = 255
    moved = S.corrupt(d, "translation", 3, seed=0)
    for i in range(4):
        (r, c), = np.argwhere(moved[i] == 255)
        assert abs(r - 8) + abs(c - 8) == 3


def test_blur_contrast_pixelate_noise_closed_forms() -> None:
    d = np.zeros((1, 21, 21))
    d[0, 10, 10] = 1.0
    b = S.gaussian_blur(d, 1.0)
    g = np.exp(-0.5 * np.arange(-3, 4) ** 2)
    g /= g.sum()
    assert np.allclose(b[0, 7:14, 7:14], np.outer(g, g))
    assert b.sum() == pytest.approx(1.0)
    x = np.random.default_rng(0).uniform(0.3, 0.7, (3, 8, 8))
    c = S.corrupt(x, "contrast", 2)  # factor 0.5, no clipping needed
    assert np.allclose(c.mean(axis=(1, 2)), x.mean(axis=(1, 2)))
    assert np.allclose(c.std(axis=(1, 2)), 0.5 * x.std(axis=(1, 2)))
    p = S.corrupt(x, "pixelate", 3)  # half resolution: 4 x 4 blocks of 2 x 2
    assert np.allclose(p[:, ::2, ::2], x.reshape(3, 4, 2, 4, 2).mean(axis=(2, 4)))
    assert np.allclose(p[:, 1::2, 1::2], p[:, ::2, ::2])
    big = np.full((1, 64, 64), 0.5)
    noisy = S.corrupt(big, "shot_noise", 1, seed=0)
    assert noisy.mean() == pytest.approx(0.5, abs=0.02)
    assert noisy.std() == pytest.approx(np.sqrt(0.5 * 60) / 60, rel=0.1)  # Poisson: var = rate


def test_corrupted_sets_are_slices_of_one_evaluation() -> None:
    x = _imgs(5)
    y = np.arange(5) % 2
    xs, ys, shift, sev = S.corrupted_sets(x, y, ["contrast", "rotation"], [1, 3])
    assert xs.shape == (25, 16, 16) and ys.tolist() == y.tolist() * 5
    assert shift[:5].tolist() == ["clean"] * 5 and sev[:5].tolist() == [0] * 5
    assert sorted(set(zip(shift.tolist(), sev.tolist(), strict=True))) == [
        ("clean", 0), ("contrast", 1), ("contrast", 3), ("rotation", 1), ("rotation", 3)
    ]
    assert np.array_equal(xs[5:10], S.corrupt(x, "contrast", 1, seed=1))
