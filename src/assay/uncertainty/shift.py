"""Image corruptions generated on the fly, at graded severities, seeded (in the spirit of
MNIST-C and CIFAR-10-C; the parameter tables are this module's own, listed in
:data:`SEVERITIES`), for evaluating calibration under distribution shift.

Images: ``(n, H, W)`` (grey) or ``(n, H, W, C)``, ``uint8`` in 0..255 or floats in [0, 1];
the output has the input's shape and dtype. Severity 0 is the clean image; 1..5 grow.
:func:`corrupted_sets` stacks the clean set and every (corruption, severity) with
``shift`` / ``severity`` columns, so that ``assay.evaluate(..., slices=["shift",
"severity"])`` (or :func:`assay.uncertainty.evaluate_uncertainty` with those slices) gives
every method's metrics by shift and severity as slices of one evaluation.

Pure NumPy (JPEG uses Pillow when it is installed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._util.optional import require

F64 = NDArray[np.float64]

#: Parameter of each corruption at severities 1..5.
SEVERITIES: dict[str, tuple[float, ...]] = {
    "rotation": (10.0, 20.0, 30.0, 45.0, 60.0),          # degrees, random sign per image
    "translation": (1.0, 2.0, 3.0, 4.0, 5.0),            # pixels, random axis-aligned direction
    "shot_noise": (60.0, 25.0, 12.0, 5.0, 3.0),          # Poisson rate at full intensity
    "gaussian_blur": (0.5, 0.75, 1.0, 1.5, 2.0),         # sigma in pixels
    "contrast": (0.75, 0.5, 0.4, 0.3, 0.15),             # factor on the deviation from the mean
    "pixelate": (0.8, 0.6, 0.5, 0.4, 0.3),               # kept share of the resolution
    "jpeg": (80.0, 65.0, 50.0, 30.0, 15.0),              # JPEG quality
}  # fmt: skip
#: The corruptions, in display order.
CORRUPTIONS: tuple[str, ...] = tuple(SEVERITIES)


def _as_unit(images: Any, func: str) -> tuple[F64, Any]:
    a = np.asarray(images)
    if a.ndim not in (3, 4) or a.shape[0] == 0:
        raise ValueError(
            f"The 'images' parameter of {func} must have shape (n, H, W) or (n, H, W, C). "
            f"Got shape {a.shape} instead."
        )
    if a.dtype == np.uint8:
        return a.astype(np.float64) / 255.0, np.uint8
    if not np.issubdtype(a.dtype, np.floating):
        raise TypeError(f"The 'images' parameter of {func} must be uint8 or float. Got {a.dtype} instead.")
    f = a.astype(np.float64)
    if not np.all(np.isfinite(f)) or f.min() < 0 or f.max() > 1:
        raise ValueError(f"The 'images' parameter of {func} must hold floats in [0, 1] (or uint8).")
    return f, a.dtype


def _back(x: F64, dtype: Any) -> NDArray[Any]:
    x = np.clip(x, 0.0, 1.0)
    if dtype == np.uint8:
        return np.rint(x * 255.0).astype(np.uint8)
    return x.astype(dtype)


def _sample_bilinear(img: F64, ys: F64, xs: F64) -> F64:
    """Bilinear sampling of ``img`` (n, H, W, ...) at per-image coordinates ``(n, H, W)``;
    outside the image is 0 (background)."""
    n, h, w = img.shape[:3]
    y0, x0 = np.floor(ys).astype(np.int64), np.floor(xs).astype(np.int64)
    out = np.zeros(img.shape, dtype=np.float64)
    idx = np.arange(n)[:, None, None]
    for dy in (0, 1):
        for dx in (0, 1):
            yy, xx = y0 + dy, x0 + dx
            wgt = (1 - np.abs(ys - yy)) * (1 - np.abs(xs - xx))
            ok = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
            vals = img[idx, np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]
            wk = np.where(ok, wgt, 0.0)
            out += vals * (wk if img.ndim == 3 else wk[..., None])
    return out


def rotate_images(images: Any, degrees: Any) -> NDArray[Any]:
    """Rotate each image about its centre by ``degrees`` (scalar or one per image;
    counter-clockwise as displayed with the first axis pointing down, so 90 degrees is
    ``np.rot90``), bilinear, zero background."""
    x, dt = _as_unit(images, "rotate_images")
    n, h, w = x.shape[:3]
    t = np.deg2rad(np.broadcast_to(np.asarray(degrees, dtype=np.float64), (n,)))[:, None, None]
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    # inverse map: the source of output pixel (y, x)
    dy, dx = yy - cy, xx - cx
    sy = cy + np.cos(t) * dy + np.sin(t) * dx
    sx = cx - np.sin(t) * dy + np.cos(t) * dx
    return _back(_sample_bilinear(x, sy, sx), dt)


def translate_images(images: Any, shifts: Any) -> NDArray[Any]:
    """Shift each image by ``shifts`` ``(n, 2)`` pixels (down, right), zero background."""
    x, dt = _as_unit(images, "translate_images")
    n, h, w = x.shape[:3]
    s = np.broadcast_to(np.asarray(shifts, dtype=np.float64), (n, 2))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    return _back(_sample_bilinear(x, yy[None] - s[:, 0, None, None], xx[None] - s[:, 1, None, None]), dt)


def gaussian_blur(images: Any, sigma: float) -> NDArray[Any]:
    """Separable Gaussian blur (kernel radius ``ceil(3 sigma)``, normalised), zero padding."""
    x, dt = _as_unit(images, "gaussian_blur")
    r = max(1, int(np.ceil(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    for axis in (1, 2):
        pad = [(0, 0)] * x.ndim
        pad[axis] = (r, r)
        xp = np.pad(x, pad)
        size = x.shape[axis]
        acc = np.zeros_like(x)
        for j in range(2 * r + 1):
            acc += k[j] * np.take(xp, np.arange(j, j + size), axis=axis)
        x = acc
    return _back(x, dt)


def _pixelate(x: F64, keep: float) -> F64:
    n, h, w = x.shape[:3]
    bh, bw = max(1, round(h * keep)), max(1, round(w * keep))
    by = np.minimum((np.arange(h) * bh) // h, bh - 1)
    bx = np.minimum((np.arange(w) * bw) // w, bw - 1)
    out = np.empty_like(x)
    for i in range(bh):
        for j in range(bw):
            rows, cols = np.flatnonzero(by == i), np.flatnonzero(bx == j)
            block = x[:, rows][:, :, cols]
            out[np.ix_(np.arange(n), rows, cols)] = block.mean(axis=(1, 2), keepdims=True)
    return out


def _jpeg(x: F64, quality: int) -> F64:
    pil = require("PIL.Image", "pillow", purpose="the jpeg corruption")
    import io

    out = np.empty_like(x)
    for i in range(x.shape[0]):
        img = pil.fromarray(np.rint(np.clip(x[i], 0, 1) * 255).astype(np.uint8))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=int(quality))
        buf.seek(0)
        out[i] = np.asarray(pil.open(buf), dtype=np.float64) / 255.0
    return out


def corrupt(images: Any, kind: str, severity: int, *, seed: int = 0) -> NDArray[Any]:
    """``images`` under corruption ``kind`` (one of :data:`CORRUPTIONS`) at ``severity``
    0..5 (0 = unchanged copy); seeded (``seed``) where random."""
    func = "corrupt"
    if kind not in SEVERITIES:
        raise ValueError(f"The 'kind' parameter of {func} must be one of {list(CORRUPTIONS)}. Got {kind!r} instead.")
    if isinstance(severity, bool) or not isinstance(severity, int | np.integer) or not 0 <= severity <= 5:
        raise ValueError(f"The 'severity' parameter of {func} must be an int in 0..5. Got {severity!r} instead.")
    x, dt = _as_unit(images, func)
    if severity == 0:
        return np.array(images, copy=True)
    v = SEVERITIES[kind][int(severity) - 1]
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    if kind == "rotation":
        return rotate_images(images, v * rng.choice([-1.0, 1.0], n))
    if kind == "translation":
        dirs = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]], dtype=np.float64)
        return translate_images(images, v * dirs[rng.integers(0, 4, n)])
    if kind == "shot_noise":
        out = rng.poisson(x * v) / v
    elif kind == "gaussian_blur":
        return gaussian_blur(images, v)
    elif kind == "contrast":
        axes = tuple(range(1, x.ndim))
        m = x.mean(axis=axes, keepdims=True)
        out = (x - m) * v + m
    elif kind == "pixelate":
        out = _pixelate(x, v)
    else:
        out = _jpeg(x, int(v))
    return _back(out, dt)


def corrupted_sets(
    images: Any,
    labels: Any,
    kinds: Sequence[str] = CORRUPTIONS,
    severities: Sequence[int] = (1, 2, 3, 4, 5),
    *,
    seed: int = 0,
) -> tuple[NDArray[Any], NDArray[Any], NDArray[np.str_], NDArray[np.int64]]:
    """The clean set and every ``(kind, severity)`` stacked: ``(x, y, shift, severity)``,
    with ``shift = "clean"`` / ``severity = 0`` for the clean rows. Each corrupted set uses
    its own seed derived from ``seed``, the kind and the severity."""
    y = np.asarray(labels)
    xs, ys, shift, sev = [np.asarray(images)], [y], [np.full(y.size, "clean")], [np.zeros(y.size, np.int64)]
    for ki, kind in enumerate(kinds):
        for s in severities:
            xs.append(corrupt(images, kind, int(s), seed=seed * 1000 + ki * 10 + int(s)))
            ys.append(y)
            shift.append(np.full(y.size, kind))
            sev.append(np.full(y.size, int(s), np.int64))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(shift), np.concatenate(sev)
