"""Array conversion and checks shared by the detectors (NumPy arrays or torch tensors in)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


def as_float_array(x: Any, name: str, *, func: str, ndim: int | tuple[int, ...] = 2) -> F64:
    """``x`` (array-like or torch tensor) as a finite float64 array with ``ndim`` axes."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch tensor, without importing torch
        x = x.detach().cpu().numpy()
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"The '{name}' parameter of {func} must be a numeric array or tensor. "
            f"Got {type(x).__name__} instead."
        ) from exc
    dims = (ndim,) if isinstance(ndim, int) else ndim
    if a.ndim not in dims:
        want = " or ".join(str(d) for d in dims)
        raise ValueError(
            f"The '{name}' parameter of {func} must have {want} dimensions. "
            f"Got shape {a.shape} instead."
        )
    if a.shape[0] == 0:
        raise ValueError(
            f"The '{name}' parameter of {func} must not be empty. Got shape {a.shape}."
        )
    if not np.all(np.isfinite(a)):
        bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
        raise ValueError(
            f"The '{name}' parameter of {func} must be finite. Got {bad} NaN or infinite value(s)."
        )
    return a


def check_width(x: F64, expected: int, name: str, *, func: str) -> None:
    """Raise when ``x`` has another number of columns than at fit."""
    if x.shape[1] != expected:
        raise ValueError(
            f"The '{name}' parameter of {func} must have {expected} columns (as at fit). "
            f"Got {x.shape[1]} instead."
        )


class NotFittedError(ValueError, AttributeError):
    """A detector was scored before ``fit`` (a ``ValueError``, as in scikit-learn)."""


def check_fitted(obj: Any, attr: str) -> None:
    """Raise :class:`NotFittedError` when ``obj`` has not been fitted (``attr`` is missing)."""
    if not hasattr(obj, attr):
        name = type(obj).__name__
        raise NotFittedError(f"This {name} is not fitted yet; call {name}.fit(...) before score().")


def logsumexp(a: F64, axis: int = -1) -> F64:
    m = np.max(a, axis=axis, keepdims=True)
    out: F64 = np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(a - m), axis=axis))
    return out


def softmax(a: F64, axis: int = -1) -> F64:
    z = a - np.max(a, axis=axis, keepdims=True)
    e = np.exp(z)
    out: F64 = e / np.sum(e, axis=axis, keepdims=True)
    return out


def compressed_bits(images: Any, *, level: int = 9) -> F64:
    """Length in bits of each image compressed with deflate (zlib, ``level``) over its raw
    ``uint8`` bytes in raster order: the complexity ``L(x)`` of Serra et al. (2020)."""
    import zlib

    a = np.asarray(images.detach().cpu().numpy() if hasattr(images, "detach") else images)
    if a.ndim < 2 or a.shape[0] == 0:
        raise ValueError(
            "The 'images' parameter of compressed_bits must be a non-empty batch of images. "
            f"Got shape {a.shape} instead."
        )
    if a.min() < 0 or a.max() > 255 or not np.all(a == np.round(a)):
        raise ValueError(
            "The 'images' parameter of compressed_bits must hold integer pixel levels in [0, 255]."
        )
    b = a.astype(np.uint8)
    return np.array([8.0 * len(zlib.compress(x.tobytes(), level)) for x in b])


def check_temperature(temperature: Any, func: str) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, int | float):
        raise TypeError(
            f"The 'temperature' parameter of {func} must be a positive float. "
            f"Got {temperature!r} of type {type(temperature).__name__} instead."
        )
    if not temperature > 0 or not np.isfinite(temperature):
        raise ValueError(
            f"The 'temperature' parameter of {func} must be a positive float. "
            f"Got {temperature!r} instead."
        )
    return float(temperature)
