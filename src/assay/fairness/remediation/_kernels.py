r"""Kernel arithmetic of the MinDiff losses: pure-PyTorch kernels and the compiled bridges.

Two halves, one per implementation of the named (Gaussian, Laplacian) kernels:

* **PyTorch.** Distances, the floored exponential, and :func:`named_block`, one block of
  rows of the kernel matrix with what its gradient needs; the fallback used wherever the
  compiled kernels do not apply (several prediction columns, an accelerator, half
  precision, or ``assay._native`` switched off).
* **Compiled.** :func:`native_supports` says whether the compiled kernels of
  ``assay/_native/_pairwise.c`` take a tensor; :func:`native_kernel_sums`,
  :func:`native_quadratic`, :func:`native_adjusted` and :func:`native_correlation` call
  them on tensors (the C entry points take raw pointers; these functions are the only
  place that passes them).

With :math:`\ell` the kernel length, the compiled kernels take the scale of the distance in
the exponent (:math:`1/\ell^2` Gaussian, :math:`1/\ell` Laplacian) and the factor
:math:`\alpha` of the gradient (:math:`-2/\ell^2` Gaussian, :math:`-1/\ell` Laplacian).
"""

from __future__ import annotations

import math
from types import ModuleType

import torch
from torch import Tensor

from assay import _native

__all__ = [
    "NATIVE_DTYPES",
    "distances",
    "exp_floor",
    "exp_neg",
    "gradient_factor",
    "kernel_scale",
    "laplacian_r",
    "mat_cols",
    "named_block",
    "native_adjusted",
    "native_correlation",
    "native_kernel_sums",
    "native_quadratic",
    "native_supports",
    "pair",
    "squared_distances",
]


# --------------------------------------------------------------------------- PyTorch


def pair(x: Tensor, y: Tensor | None) -> tuple[Tensor, Tensor]:
    """``(x, y)`` as 2-D tensors (``y`` defaults to ``x``; a 1-D tensor is one column)."""
    if y is None:
        y = x
    if x.ndim == 1:
        x = x.unsqueeze(1)
    if y.ndim == 1:
        y = y.unsqueeze(1)
    return x, y


def squared_distances(x: Tensor, y: Tensor) -> Tensor:
    """Exact :math:`\\|x_i - y_j\\|^2` (differences, not the expanded-norm shortcut)."""
    if x.shape[1] == 1:
        return (x - y.T).square()
    return (x.unsqueeze(1) - y.unsqueeze(0)).square().sum(dim=-1)


def distances(x: Tensor, y: Tensor) -> Tensor:
    """:math:`\\|x_i - y_j\\|` with a zero (not NaN) gradient where the distance is 0."""
    if x.shape[1] == 1:
        return (x - y.T).abs()
    sq = squared_distances(x, y)
    positive = sq > 0
    return torch.where(positive, torch.where(positive, sq, 1.0).sqrt(), 0.0)


_EXP_FLOORS: dict[torch.dtype, float] = {}


def exp_floor(dtype: torch.dtype) -> float:
    """``log(tiny) + 20`` of ``dtype``: the floor of every kernel exponent (see :func:`exp_neg`)."""
    floor = _EXP_FLOORS.get(dtype)
    if floor is None:
        floor = _EXP_FLOORS[dtype] = math.log(torch.finfo(dtype).tiny) + 20.0
    return floor


def exp_neg(arg: Tensor) -> Tensor:
    r"""``exp(arg)`` for ``arg <= 0``, with ``arg`` floored at ``log(tiny) + 20`` of its dtype.

    Without the floor, far-apart predictions give kernel values in the subnormal range
    (below about 1e-38 in float32), and subnormal arithmetic is one to two orders of
    magnitude slower on most CPUs, in the kernel and in every product downstream. The floor
    (about -67 in float32, -688 in float64) changes a kernel value by less than
    :math:`e^{-67} \approx 8 \times 10^{-30}` (float32).
    """
    return torch.exp(arg.clamp_min(exp_floor(arg.dtype)))


def mat_cols(k: Tensor, m: Tensor) -> Tensor:
    """``k @ m`` for a thin ``m``: matrix-vector products beat a skinny GEMM on CPU."""
    if m.shape[1] == 1:
        return torch.mv(k, m[:, 0]).unsqueeze(1)
    if m.shape[1] <= 4:
        return torch.stack([torch.mv(k, m[:, j]) for j in range(m.shape[1])], dim=1)
    return k @ m


def named_block(
    x_rows: Tensor, x_all: Tensor, gaussian: bool, length: float, grad_aux: bool = True
) -> tuple[Tensor, Tensor | None]:
    r"""Kernel block ``K`` (rows x N) and what its gradient needs besides ``K``.

    The second item is ``None`` for the Gaussian (or when ``grad_aux`` is false),
    :math:`K_{ij} \operatorname{sign}(x_i - x_j)` for the Laplacian of one column, and the
    distances for the Laplacian of several columns. Computed in place where possible: this is
    the hot loop of MinDiff, and every fresh ``N x N`` buffer costs page faults.
    """
    floor = exp_floor(x_rows.dtype)
    one_column = x_rows.shape[1] == 1
    if one_column:
        buf = x_rows - x_all.T
    else:
        buf = (x_rows.unsqueeze(1) - x_all.unsqueeze(0)).square_().sum(dim=-1)
    if gaussian:
        if one_column:
            buf.square_()
        return buf.mul_(-1.0 / (length * length)).clamp_(min=floor).exp_(), None
    if one_column:
        k = buf.abs().mul_(-1.0 / length).clamp_(min=floor).exp_()
        return k, (buf.sign_().mul_(k) if grad_aux else None)
    dist = buf.sqrt_()
    return torch.mul(dist, -1.0 / length).clamp_(min=floor).exp_(), (dist if grad_aux else None)


def laplacian_r(k: Tensor, aux: Tensor, one_column: bool) -> Tensor:
    """``K * sign(x_i - x_j)`` (one column: ``aux`` itself) or ``K / dist``, 0 at distance 0."""
    if one_column:
        return aux
    positive = aux > 0
    return torch.where(positive, k / torch.where(positive, aux, 1.0), 0.0)


# --------------------------------------------------------------------------- compiled

#: The dtypes the compiled kernels take.
NATIVE_DTYPES = (torch.float32, torch.float64)


def native_supports(p: Tensor) -> bool:
    """Whether the compiled kernels take ``p`` (one column, CPU, float32/float64)."""
    return p.shape[1] == 1 and p.is_cpu and p.dtype in NATIVE_DTYPES and _native.available()


def kernel_scale(gaussian: bool, length: float) -> float:
    r"""The scale of the distance in the exponent: :math:`1/\ell^2` (Gaussian), :math:`1/\ell`."""
    return 1.0 / (length * length) if gaussian else 1.0 / length


def gradient_factor(gaussian: bool, length: float) -> float:
    r""":math:`\alpha` of the kernel's gradient: :math:`-2/\ell^2` (Gaussian), :math:`-1/\ell`."""
    return -2.0 / (length * length) if gaussian else -1.0 / length


def _pairwise() -> ModuleType:
    kernels = _native.pairwise()
    assert kernels is not None, "the compiled kernels are not available"
    return kernels


def _is_double(x: Tensor) -> bool:
    return x.dtype == torch.float64


def native_kernel_sums(
    x: Tensor, c: Tensor, u: Tensor, v: Tensor, *, gaussian: bool, length: float
) -> None:
    r"""Fill :math:`U_{li} = \sum_j K_{ij} C_{jl}` and :math:`V_{li} = \sum_j K_{ij} C_{jl} g_{ij}`.

    ``x`` is ``(N,)``, ``c``, ``u`` and ``v`` are ``(m, N)`` (the columns of :math:`C` as
    rows), all contiguous, of ``x``'s dtype; :math:`g_{ij} = x_i - x_j` (Gaussian) or
    :math:`\operatorname{sign}(x_i - x_j)` (Laplacian).
    """
    _pairwise().kernel_sums(
        x.data_ptr(), c.data_ptr(), u.data_ptr(), v.data_ptr(), x.shape[0], c.shape[0],
        not gaussian, kernel_scale(gaussian, length), exp_floor(x.dtype), _is_double(x),
    )  # fmt: skip


def native_quadratic(
    x: Tensor,
    c: Tensor,
    loss: Tensor,
    gx: Tensor,
    uc: Tensor | None,
    *,
    gaussian: bool,
    length: float,
    weight: float,
) -> None:
    r"""Fill ``loss`` with ``weight`` :math:`c^\top K c`, ``gx`` and ``uc`` with its gradients.

    ``x`` is ``(N, 1)`` and ``gx`` like it, ``c`` and ``uc`` (optional: ``None`` skips the
    gradient with respect to ``c``) are ``(N,)``, ``loss`` is 0-d; all contiguous.
    """
    _pairwise().quadratic(
        x.data_ptr(), c.data_ptr(), loss.data_ptr(), gx.data_ptr(),
        0 if uc is None else uc.data_ptr(), x.shape[0], not gaussian,
        kernel_scale(gaussian, length), exp_floor(x.dtype), gradient_factor(gaussian, length),
        weight, _is_double(x),
    )  # fmt: skip


def native_adjusted(
    x: Tensor,
    a: Tensor,
    b: Tensor,
    loss: Tensor,
    gx: Tensor,
    *,
    gaussian: bool,
    length: float,
    epsilon: float,
    scale: float,
) -> None:
    """Fill ``loss`` with ``scale`` times the adjusted MMD and ``gx`` with its gradient.

    ``x`` is ``(N, 1)`` and ``gx`` like it, ``a`` and ``b`` the ``(N,)`` within-group weights,
    ``epsilon`` the constant added to the variance; all contiguous.
    """
    _pairwise().adjusted(
        x.data_ptr(), a.data_ptr(), b.data_ptr(), loss.data_ptr(), gx.data_ptr(),
        x.shape[0], not gaussian, kernel_scale(gaussian, length), exp_floor(x.dtype),
        gradient_factor(gaussian, length), epsilon, scale, _is_double(x),
    )  # fmt: skip


def native_correlation(
    x: Tensor,
    s: Tensor,
    w: Tensor | None,
    loss: Tensor,
    gx: Tensor,
    *,
    epsilon: float,
    scale: float,
) -> None:
    """Fill ``loss`` with ``scale`` times the absolute correlation and ``gx`` with its gradient.

    ``x`` is ``(N, 1)`` and ``gx`` like it, ``s`` the ``(N,)`` membership, ``w`` the
    ``(N,)`` weights or ``None``; all contiguous.
    """
    _pairwise().correlation(
        x.data_ptr(), s.data_ptr(), 0 if w is None else w.data_ptr(),
        loss.data_ptr(), gx.data_ptr(), x.shape[0], epsilon, scale, _is_double(x),
    )  # fmt: skip
