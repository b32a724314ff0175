r"""MinDiff losses: penalties on the difference between two groups' prediction distributions.

The definitions and defaults follow TensorFlow Model Remediation's MinDiff losses
(``tensorflow_model_remediation.min_diff.losses``), re-derived here for PyTorch.

Notation used in every docstring of this module:

* :math:`p_i \in \mathbb{R}^D` -- the prediction for example :math:`i` (after the optional
  ``predictions_transform``, e.g. a sigmoid on logits); a 1-D tensor is one column (:math:`D=1`).
* :math:`s_i \in \{0, 1\}` -- group membership; :math:`s_i = 1` marks the *sensitive* group.
* :math:`w_i \ge 0` -- example weights (all ones when not given). They are normalised to sum
  to one, :math:`\hat w_i = w_i / \sum_j w_j`; every loss here is invariant to a common
  rescaling of the weights.
* Within-group weights :math:`a_i = \hat w_i s_i / \sum_j \hat w_j s_j` (sensitive group)
  and :math:`b_i = \hat w_i (1 - s_i) / \sum_j \hat w_j (1 - s_j)` (the other group); each
  sums to one.

A group with no examples (or zero total weight) has no distribution to compare. By default
(``empty_group="zero"``) every loss is then defined to be ``0`` with a zero gradient, so that
a training step on such a batch is a no-op for the MinDiff term; ``empty_group="raise"``
raises a ``ValueError`` instead. (TF's MMD returns the other group's self-similarity in
that case, which is not a meaningful penalty.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from assay._util.validation import param_error, param_type_error

from ._autograd import NamedKernelGram, NativeKernelGram, NativeQuadratic, NativeScalar
from ._checks import EmptyGroup, check_empty_group, check_positive_float, shown
from ._inputs import Groups, MembershipMemo, loss_inputs, select, zero_loss
from ._kernels import (
    distances,
    exp_neg,
    native_adjusted,
    native_correlation,
    native_supports,
    pair,
    squared_distances,
)

__all__ = [
    "ADJUSTED_MMD_EPSILON",
    "CORRELATION_EPSILON",
    "DEFAULT_KERNEL_LENGTH",
    "DEFAULT_MAX_KERNEL_ELEMENTS",
    "KernelFn",
    "MinDiffLossFn",
    "PredictionsTransform",
    "absolute_correlation_loss",
    "adjusted_mmd_loss",
    "gaussian_kernel",
    "laplacian_kernel",
    "mmd_loss",
]


KernelFn = Callable[[Tensor, Tensor], Tensor]
"""A kernel: ``k(x, y)`` maps ``(n, D)`` and ``(m, D)`` tensors to the ``(n, m)`` kernel matrix."""

PredictionsTransform = Callable[[Tensor], Tensor]
"""A function applied to the predictions before a loss is computed (e.g. ``torch.sigmoid``)."""

MinDiffLossFn = Callable[[Tensor, Tensor, Tensor | None], Tensor]
"""Any ``loss(predictions, membership, weights) -> scalar`` (the losses here and their modules)."""

#: Default kernel length (width), as in TF Model Remediation.
DEFAULT_KERNEL_LENGTH = 0.1
#: Constant added under both square roots of the correlation (TF's ``_EPSILON``).
CORRELATION_EPSILON = 1.0e-7
#: Constant added to the variance of the adjusted MMD (TF's ``_EPSILON``).
ADJUSTED_MMD_EPSILON = 1.0e-2
#: Kernel entries held at once before the MMD is computed in row chunks (16 MiB in float32).
DEFAULT_MAX_KERNEL_ELEMENTS = 1 << 22

_KERNEL_ALIASES = {
    "gaussian": "gaussian",
    "gauss": "gaussian",
    "laplacian": "laplacian",
    "laplace": "laplacian",
}


# --------------------------------------------------------------------------- kernels


def gaussian_kernel(
    x: Tensor, y: Tensor | None = None, kernel_length: float = DEFAULT_KERNEL_LENGTH
) -> Tensor:
    r"""Gaussian kernel matrix :math:`K_{ij} = \exp(-\|x_i - y_j\|^2 / \ell^2)`.

    Parameters
    ----------
    x : Tensor
        Shape ``(n,)`` or ``(n, D)``.
    y : Tensor, optional
        Shape ``(m,)`` or ``(m, D)``; defaults to ``x``.
    kernel_length : float, default 0.1
        The length (width) :math:`\ell`: how far apart two predictions can be and still
        count as similar. A good first guess is the standard deviation of the predictions.

    Returns
    -------
    Tensor
        Shape ``(n, m)``.
    """
    x, y = pair(x, y)
    return exp_neg(squared_distances(x, y) * (-1.0 / (kernel_length * kernel_length)))


def laplacian_kernel(
    x: Tensor, y: Tensor | None = None, kernel_length: float = DEFAULT_KERNEL_LENGTH
) -> Tensor:
    r"""Laplacian kernel matrix :math:`K_{ij} = \exp(-\|x_i - y_j\|_2 / \ell)`.

    The distance is Euclidean (as in TF Model Remediation, not the L1 distance of some other
    libraries); for one prediction column it is :math:`|x_i - y_j|`. Where two predictions
    are equal the gradient of the distance is taken to be 0.

    Parameters
    ----------
    x : Tensor
        Shape ``(n,)`` or ``(n, D)``.
    y : Tensor, optional
        Shape ``(m,)`` or ``(m, D)``; defaults to ``x``.
    kernel_length : float, default 0.1
        The length (width) :math:`\ell`.

    Returns
    -------
    Tensor
        Shape ``(n, m)``.
    """
    x, y = pair(x, y)
    return exp_neg(distances(x, y) * (-1.0 / kernel_length))


_ResolvedKernel = tuple[KernelFn, str | None, float]


def _resolve_kernel(
    kernel: str | KernelFn, kernel_length: float, func: str
) -> tuple[KernelFn, str | None, float]:
    """Return ``(kernel function, canonical name or None, length)``."""
    if isinstance(kernel, str):
        name = _KERNEL_ALIASES.get(kernel)
        if name is None:
            raise param_error(
                "kernel", "one of {'gaussian', 'laplacian'} or a callable", kernel, func=func
            )
        length = check_positive_float("kernel_length", kernel_length, func=func)
        base = gaussian_kernel if name == "gaussian" else laplacian_kernel

        def named(x: Tensor, y: Tensor) -> Tensor:
            return base(x, y, length)

        return named, name, length
    if callable(kernel):
        return kernel, None, float("nan")
    raise param_type_error(
        "kernel", "one of {'gaussian', 'laplacian'} or a callable", kernel, func=func
    )


# --------------------------------------------------------------------------- kernel Gram


def _rows_per_chunk(n: int, d: int, chunk_size: Any, func: str) -> int:
    if chunk_size is None:
        return max(1, DEFAULT_MAX_KERNEL_ELEMENTS // max(1, n * d))
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int):
        raise param_type_error("chunk_size", "an int >= 1 or None", chunk_size, func=func)
    if chunk_size < 1:
        raise param_error("chunk_size", "an int >= 1 or None", chunk_size, func=func)
    return chunk_size


def _kernel_gram(
    p: Tensor,
    c: Tensor,
    kernel: KernelFn,
    named: str | None,
    length: float,
    chunk_size: int | None,
    func: str,
) -> Tensor:
    r"""Return :math:`G = C^\top K C` (``m x m``, or a scalar for a vector ``c``) for
    :math:`K_{ij} = k(p_i, p_j)`.

    With ``C = [a, b]``, ``G[0, 0]``, ``G[1, 1]`` and ``G[0, 1]`` are the weighted mean kernel
    values within the sensitive group, within the other group, and across the groups; with
    ``C = a - b``, ``G`` is the MMD. Beyond ``chunk_size`` rows the kernel is computed one
    block of rows at a time (the named kernels by :class:`NamedKernelGram`, a custom kernel
    under activation checkpointing), so that neither the forward nor the backward pass holds
    the full :math:`N \times N` matrix; the value and the gradient are the same up to
    rounding.
    """
    n, d = p.shape
    rows = _rows_per_chunk(n, d, chunk_size, func)
    if named is not None:
        if native_supports(p):
            out: Tensor = NativeKernelGram.apply(p, c, named == "gaussian", length)
        else:
            out = NamedKernelGram.apply(p, c, named == "gaussian", length, rows)
        return out
    if c.ndim == 1:
        return _kernel_gram(p, c.unsqueeze(1), kernel, None, length, chunk_size, func).reshape(())
    if rows >= n:
        return c.T @ (kernel(p, p) @ c)

    def block(p_rows: Tensor, c_rows: Tensor, p_all: Tensor, c_all: Tensor) -> Tensor:
        return c_rows.T @ (kernel(p_rows, p_all) @ c_all)

    needs_grad = torch.is_grad_enabled() and (p.requires_grad or c.requires_grad)
    total = p.new_zeros((c.shape[1], c.shape[1]))
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        if needs_grad:
            part = checkpoint(block, p[start:stop], c[start:stop], p, c, use_reentrant=False)
        else:
            part = block(p[start:stop], c[start:stop], p, c)
        total = total + part
    return total


def _kernel_diagonal(kernel: KernelFn, p: Tensor, block: int = 256) -> Tensor:
    """:math:`k(p_i, p_i)` for every row, from diagonal blocks (1 for the named kernels)."""
    parts = [
        torch.diagonal(kernel(p[i : i + block], p[i : i + block]))
        for i in range(0, p.shape[0], block)
    ]
    return torch.cat(parts) if parts else p.new_zeros((0,))


# --------------------------------------------------------------------------- losses


def absolute_correlation_loss(
    predictions: Tensor,
    membership: Any,
    weights: Any = None,
    *,
    predictions_transform: PredictionsTransform | None = None,
    empty_group: EmptyGroup = "zero",
    check_inputs: bool = True,
) -> Tensor:
    r"""Absolute weighted Pearson correlation between group membership and predictions.

    .. math::

        \bar s = \sum_i \hat w_i s_i, \qquad \bar p = \sum_i \hat w_i p_i,

        \operatorname{cov} = \sum_i \hat w_i (s_i - \bar s)(p_i - \bar p), \quad
        \operatorname{var}_s = \sum_i \hat w_i (s_i - \bar s)^2, \quad
        \operatorname{var}_p = \sum_i \hat w_i (p_i - \bar p)^2,

        L = \frac{|\operatorname{cov}|}
                 {\sqrt{\operatorname{var}_s + \epsilon}\,\sqrt{\operatorname{var}_p + \epsilon}},
        \qquad \epsilon = 10^{-7}.

    The :math:`\epsilon` (as in TF Model Remediation) keeps the value and the gradient finite
    when all predictions are equal (then :math:`L = 0`). It is 0 if and only if the
    predictions are uncorrelated with membership; it sees only a difference in mean
    predictions, not in the shape of the two distributions (use :func:`mmd_loss` for that).

    Parameters
    ----------
    predictions : Tensor
        Shape ``(N,)`` or ``(N, 1)``: one prediction (score or logit) per example.
    membership : Tensor or array-like
        Shape ``(N,)`` or ``(N, 1)``, values 0/1; 1 marks the sensitive group.
    weights : Tensor or array-like, optional
        Non-negative example weights of shape ``(N,)`` or ``(N, 1)``.
    predictions_transform : callable, optional
        Applied to ``predictions`` first (e.g. ``torch.sigmoid`` on logits).
    empty_group : {"zero", "raise"}, default "zero"
        When a group has no examples or zero total weight: return 0 or raise ``ValueError``.
    check_inputs : bool, default True
        Check that membership is 0/1 and weights are non-negative (one device sync each).

    Returns
    -------
    Tensor
        A scalar in :math:`[0, 1)`.
    """
    return _absolute_correlation(
        predictions,
        membership,
        weights,
        predictions_transform=predictions_transform,
        empty_group=empty_group,
        check_inputs=check_inputs,
        _memo=None,
    )


def _absolute_correlation(
    predictions: Tensor,
    membership: Any,
    weights: Any = None,
    *,
    predictions_transform: PredictionsTransform | None = None,
    empty_group: EmptyGroup = "zero",
    check_inputs: bool = True,
    _memo: MembershipMemo | None = None,
    _scale: float = 1.0,
) -> Tensor:
    func = "absolute_correlation_loss"
    policy = check_empty_group(empty_group, func=func)
    p, s, w, groups = loss_inputs(
        predictions,
        membership,
        weights,
        predictions_transform,
        policy,
        func=func,
        check_inputs=check_inputs,
        memo=_memo,
    )
    if p.shape[1] != 1:
        raise param_error(
            "predictions",
            "a tensor of shape (N,) or (N, 1) (one prediction per example)",
            shown(f"shape {tuple(p.shape)}"),
            func=func,
        )
    if groups.valid is False:
        return zero_loss(p)
    x = p[:, 0]
    if x.shape[0] == 0:
        return zero_loss(p)
    if native_supports(p) and (w is None or not w.requires_grad):
        xc = p if p.is_contiguous() else p.contiguous()
        sc = s.contiguous()
        wc = None if w is None else w.contiguous()

        def compute(loss_out: Tensor, gx: Tensor) -> None:
            native_correlation(xc, sc, wc, loss_out, gx, epsilon=CORRELATION_EPSILON, scale=_scale)

        native: Tensor = NativeScalar.apply(xc, compute)
        return select(groups.valid, native)
    if w is None:
        s_c = s - s.mean()
        x_c = x - x.mean()
        cov = (s_c * x_c).mean()
        var_s = s_c.square().mean()
        var_p = x_c.square().mean()
    else:
        w_hat = w / w.sum().clamp_min(torch.finfo(w.dtype).tiny)
        s_c = s - (w_hat * s).sum()
        x_c = x - (w_hat * x).sum()
        cov = (w_hat * s_c * x_c).sum()
        var_s = (w_hat * s_c.square()).sum()
        var_p = (w_hat * x_c.square()).sum()
    loss = cov.abs() / (
        torch.sqrt(var_s + CORRELATION_EPSILON) * torch.sqrt(var_p + CORRELATION_EPSILON)
    )
    if _scale != 1.0:
        loss = loss * _scale
    return select(groups.valid, loss)


def _mmd_inputs(
    func: str,
    predictions: Tensor,
    membership: Any,
    weights: Any,
    kernel: str | KernelFn,
    kernel_length: float,
    predictions_transform: PredictionsTransform | None,
    empty_group: Any,
    check_inputs: bool,
    memo: MembershipMemo | None,
    resolved: _ResolvedKernel | None = None,
) -> tuple[Tensor, Groups, KernelFn, str | None, float]:
    policy = check_empty_group(empty_group, func=func)
    kfn, named, length = (
        resolved if resolved is not None else _resolve_kernel(kernel, kernel_length, func)
    )
    p, _, _, groups = loss_inputs(
        predictions,
        membership,
        weights,
        predictions_transform,
        policy,
        func=func,
        check_inputs=check_inputs,
        memo=memo,
    )
    return p, groups, kfn, named, length


def mmd_loss(
    predictions: Tensor,
    membership: Any,
    weights: Any = None,
    *,
    kernel: str | KernelFn = "gaussian",
    kernel_length: float = DEFAULT_KERNEL_LENGTH,
    predictions_transform: PredictionsTransform | None = None,
    chunk_size: int | None = None,
    empty_group: EmptyGroup = "zero",
    check_inputs: bool = True,
) -> Tensor:
    r"""Squared maximum mean discrepancy (MMD) between the two groups' predictions.

    With within-group weights :math:`a` (sensitive) and :math:`b` (other group) and the
    kernel matrix :math:`K_{ij} = k(p_i, p_j)`:

    .. math::

        \mu_{SS} = \sum_{ij} a_i a_j K_{ij}, \quad
        \mu_{TT} = \sum_{ij} b_i b_j K_{ij}, \quad
        \mu_{ST} = \sum_{ij} a_i b_j K_{ij},

        L = \mu_{SS} + \mu_{TT} - 2\,\mu_{ST} = (a - b)^\top K (a - b).

    This is the biased (V-statistic) estimate of :math:`\mathrm{MMD}^2`, without a square root
    (whose gradient blows up near 0), exactly as in TF Model Remediation. For a
    characteristic kernel (Gaussian, Laplacian) it is 0 if and only if the two weighted
    empirical distributions are equal. Kernels:

    * ``"gaussian"``: :math:`k(x, y) = \exp(-\|x - y\|^2 / \ell^2)` (see :func:`gaussian_kernel`);
    * ``"laplacian"``: :math:`k(x, y) = \exp(-\|x - y\|_2 / \ell)` (see :func:`laplacian_kernel`);
    * or any callable ``k(x, y)`` returning the ``(n, m)`` kernel matrix.

    Parameters
    ----------
    predictions : Tensor
        Shape ``(N,)`` or ``(N, D)``.
    membership : Tensor or array-like
        Shape ``(N,)`` or ``(N, 1)``, values 0/1; 1 marks the sensitive group. The order of
        the examples does not matter.
    weights : Tensor or array-like, optional
        Non-negative example weights of shape ``(N,)`` or ``(N, 1)``.
    kernel : {"gaussian", "laplacian"} or callable, default "gaussian"
        ``"gauss"`` and ``"laplace"`` are accepted as aliases.
    kernel_length : float, default 0.1
        The kernel length :math:`\ell` of the named kernels (ignored for a callable).
    predictions_transform : callable, optional
        Applied to ``predictions`` first (e.g. ``torch.sigmoid`` on logits).
    chunk_size : int, optional
        Rows of the kernel matrix computed at once. ``None`` picks the dense computation
        up to :math:`2^{22}` kernel entries (:math:`N \le 2048` for one column) and row
        chunks of that many entries beyond; the backward pass then recomputes one block at
        a time, so neither pass holds the full matrix. Same value and gradient. (Validated
        but not needed by the compiled kernel, which holds :math:`O(N)` memory.)
    empty_group : {"zero", "raise"}, default "zero"
        When a group has no examples or zero total weight: return 0 or raise ``ValueError``.
    check_inputs : bool, default True
        Check that membership is 0/1 and weights are non-negative (one device sync each).

    Returns
    -------
    Tensor
        A non-negative scalar (up to rounding).

    Notes
    -----
    For one prediction column on the CPU (float32 or float64) a named kernel runs in a
    compiled C kernel (``assay._native``): one pass over the upper triangle of the kernel
    matrix, never stored, that returns the value and the gradient together. Otherwise the
    gradient is computed in closed form by a custom autograd function: the backward pass
    costs two matrix-vector products instead of a pass through the :math:`N \times N` graph.
    Either way the loss is differentiable once, not twice (a kernel given as a callable,
    e.g. ``kernel=gaussian_kernel``, goes through autograd).
    Kernel arguments are floored at ``log(tiny) + 20`` of the dtype (about -67 in float32)
    to avoid slow subnormal arithmetic, which changes a kernel value by less than
    :math:`10^{-29}`.
    """
    return _mmd(
        predictions,
        membership,
        weights,
        kernel=kernel,
        kernel_length=kernel_length,
        predictions_transform=predictions_transform,
        chunk_size=chunk_size,
        empty_group=empty_group,
        check_inputs=check_inputs,
        _memo=None,
    )


def _mmd(
    predictions: Tensor,
    membership: Any,
    weights: Any = None,
    *,
    kernel: str | KernelFn = "gaussian",
    kernel_length: float = DEFAULT_KERNEL_LENGTH,
    predictions_transform: PredictionsTransform | None = None,
    chunk_size: int | None = None,
    empty_group: EmptyGroup = "zero",
    check_inputs: bool = True,
    _memo: MembershipMemo | None = None,
    _resolved: _ResolvedKernel | None = None,
    _scale: float = 1.0,
) -> Tensor:
    """:func:`mmd_loss` times ``_scale`` (a loss weight, fused into the compiled kernel)."""
    func = "mmd_loss"
    p, groups, kfn, named, length = _mmd_inputs(
        func, predictions, membership, weights, kernel, kernel_length,
        predictions_transform, empty_group, check_inputs, _memo, _resolved,
    )  # fmt: skip
    if groups.valid is False:
        return zero_loss(p)
    if named is not None and native_supports(p):
        if chunk_size is not None:  # validated, but not needed: the kernel holds O(N) memory
            _rows_per_chunk(p.shape[0], 1, chunk_size, func)
        c = groups.c
        loss: Tensor = NativeQuadratic.apply(
            p if p.is_contiguous() else p.contiguous(),
            c if c.is_contiguous() else c.contiguous(),
            named == "gaussian",
            length,
            _scale,
        )
        return select(groups.valid, loss)
    loss = _kernel_gram(p, groups.c, kfn, named, length, chunk_size, func)
    if _scale != 1.0:
        loss = loss * _scale
    return select(groups.valid, loss)


def adjusted_mmd_loss(
    predictions: Tensor,
    membership: Any,
    weights: Any = None,
    *,
    kernel: str | KernelFn = "gaussian",
    kernel_length: float = DEFAULT_KERNEL_LENGTH,
    predictions_transform: PredictionsTransform | None = None,
    chunk_size: int | None = None,
    empty_group: EmptyGroup = "zero",
    check_inputs: bool = True,
) -> Tensor:
    r"""MMD divided by the sampling variance of the two groups' kernel means.

    With :math:`\mu_{SS}, \mu_{TT}, \mu_{ST}` and :math:`L_{\mathrm{MMD}}` as in
    :func:`mmd_loss`:

    .. math::

        v_S = \sum_i a_i K_{ii} - \mu_{SS}, \qquad
        v_T = \sum_i b_i K_{ii} - \mu_{TT},

        \sigma^2 = v_S \sum_i a_i^2 + v_T \sum_i b_i^2, \qquad
        L = \frac{L_{\mathrm{MMD}}}{\operatorname{sg}(\sigma^2) + 10^{-2}}.

    :math:`v_S` is the spread of the sensitive group's predictions as the kernel sees it
    (for the Gaussian and Laplacian kernels :math:`K_{ii} = 1`, so :math:`v_S = 1 - \mu_{SS}`)
    and :math:`\sum_i a_i^2 = \sum_{i \in S} w_i^2 / (\sum_{i \in S} w_i)^2` is one over the
    effective sample size, so :math:`v_S \sum_i a_i^2` is the variance of the group's mean.
    :math:`\operatorname{sg}` stops the gradient: the denominator only rescales the MMD and
    is not itself minimised. This matches TF Model Remediation's ``AdjustedMMDLoss``; if the
    denominator is 0 (only possible with a custom kernel) the loss is 0.

    Parameters
    ----------
    predictions, membership, weights, kernel, kernel_length, predictions_transform, chunk_size, empty_group, check_inputs
        As in :func:`mmd_loss`.

    Returns
    -------
    Tensor
        A non-negative scalar (up to rounding).
    """
    return _adjusted_mmd(
        predictions,
        membership,
        weights,
        kernel=kernel,
        kernel_length=kernel_length,
        predictions_transform=predictions_transform,
        chunk_size=chunk_size,
        empty_group=empty_group,
        check_inputs=check_inputs,
        _memo=None,
    )


def _adjusted_mmd(
    predictions: Tensor,
    membership: Any,
    weights: Any = None,
    *,
    kernel: str | KernelFn = "gaussian",
    kernel_length: float = DEFAULT_KERNEL_LENGTH,
    predictions_transform: PredictionsTransform | None = None,
    chunk_size: int | None = None,
    empty_group: EmptyGroup = "zero",
    check_inputs: bool = True,
    _memo: MembershipMemo | None = None,
    _resolved: _ResolvedKernel | None = None,
    _scale: float = 1.0,
) -> Tensor:
    func = "adjusted_mmd_loss"
    p, groups, kfn, named, length = _mmd_inputs(
        func, predictions, membership, weights, kernel, kernel_length,
        predictions_transform, empty_group, check_inputs, _memo, _resolved,
    )  # fmt: skip
    if groups.valid is False:
        return zero_loss(p)
    a, b = groups.a, groups.b
    if named is not None and native_supports(p) and not (a.requires_grad or b.requires_grad):
        if chunk_size is not None:
            _rows_per_chunk(p.shape[0], 1, chunk_size, func)
        x = p if p.is_contiguous() else p.contiguous()
        a, b = a.contiguous(), b.contiguous()
        gaussian = named == "gaussian"

        def compute(loss: Tensor, gx: Tensor) -> None:
            native_adjusted(
                x, a, b, loss, gx, gaussian=gaussian, length=length,
                epsilon=ADJUSTED_MMD_EPSILON, scale=_scale,
            )  # fmt: skip

        native: Tensor = NativeScalar.apply(x, compute)
        return select(groups.valid, native)
    c = torch.stack((a, b), dim=1)
    gram = _kernel_gram(p, c, kfn, named, length, chunk_size, func)
    loss = gram[0, 0] + gram[1, 1] - 2.0 * gram[0, 1]
    with torch.no_grad():
        diag = p.new_ones(p.shape[0]) if named else _kernel_diagonal(kfn, p.detach())
        self_mean = c.detach().T @ diag  # (2,)
        spread = self_mean - torch.diagonal(gram.detach())
        variance = (spread * c.detach().square().sum(dim=0)).sum() + ADJUSTED_MMD_EPSILON
    safe = torch.where(variance != 0, variance, torch.ones_like(variance))
    adjusted = torch.where(variance != 0, loss / safe, loss.new_zeros(()))
    if _scale != 1.0:
        adjusted = adjusted * _scale
    return select(groups.valid, adjusted)
