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

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable
from torch.utils.checkpoint import checkpoint

from assay._util.validation import param_error, param_type_error

from ._checks import (
    EmptyGroup,
    as_2d,
    as_vector,
    check_empty_group,
    check_membership,
    check_positive_float,
    check_weights,
    raise_if_group_empty,
    shown,
)

__all__ = [
    "MINDIFF_LOSSES",
    "AbsoluteCorrelationLoss",
    "AdjustedMMDLoss",
    "KernelFn",
    "MMDLoss",
    "MinDiffLossFn",
    "PredictionsTransform",
    "absolute_correlation_loss",
    "adjusted_mmd_loss",
    "gaussian_kernel",
    "get_mindiff_loss",
    "laplacian_kernel",
    "mmd_loss",
]

KernelFn = Callable[[Tensor, Tensor], Tensor]
"""A kernel: ``k(x, y)`` maps ``(n, D)`` and ``(m, D)`` tensors to the ``(n, m)`` kernel matrix."""

PredictionsTransform = Callable[[Tensor], Tensor]
"""A function applied to the predictions before a loss is computed (e.g. ``torch.sigmoid``)."""

MinDiffLossFn = Callable[[Tensor, Tensor, Tensor | None], Tensor]
"""Any ``loss(predictions, membership, weights) -> scalar`` (the modules below qualify)."""

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


def _pair(x: Tensor, y: Tensor | None) -> tuple[Tensor, Tensor]:
    if y is None:
        y = x
    if x.ndim == 1:
        x = x.unsqueeze(1)
    if y.ndim == 1:
        y = y.unsqueeze(1)
    return x, y


def _squared_distances(x: Tensor, y: Tensor) -> Tensor:
    """Exact :math:`\\|x_i - y_j\\|^2` (differences, not the expanded-norm shortcut)."""
    if x.shape[1] == 1:
        return (x - y.T).square()
    return (x.unsqueeze(1) - y.unsqueeze(0)).square().sum(dim=-1)


def _distances(x: Tensor, y: Tensor) -> Tensor:
    """:math:`\\|x_i - y_j\\|` with a zero (not NaN) gradient where the distance is 0."""
    if x.shape[1] == 1:
        return (x - y.T).abs()
    sq = _squared_distances(x, y)
    positive = sq > 0
    return torch.where(positive, torch.where(positive, sq, 1.0).sqrt(), 0.0)


def _exp_neg(arg: Tensor) -> Tensor:
    """``exp(arg)`` for ``arg <= 0``, with ``arg`` floored at ``log(tiny) + 20`` of its dtype.

    Without the floor, far-apart predictions give kernel values in the subnormal range
    (below about 1e-38 in float32), and subnormal arithmetic is one to two orders of
    magnitude slower on most CPUs, in the kernel and in every product downstream. The floor
    (about -67 in float32, -688 in float64) changes a kernel value by less than
    :math:`e^{-67} \approx 8 \times 10^{-30}` (float32).
    """
    floor = math.log(torch.finfo(arg.dtype).tiny) + 20.0
    return torch.exp(arg.clamp_min(floor))


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
    x, y = _pair(x, y)
    return _exp_neg(_squared_distances(x, y) * (-1.0 / (kernel_length * kernel_length)))


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
    x, y = _pair(x, y)
    return _exp_neg(_distances(x, y) * (-1.0 / kernel_length))


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


# --------------------------------------------------------------------------- inputs


def _prepare(
    predictions: Tensor,
    membership: Any,
    weights: Any,
    predictions_transform: PredictionsTransform | None,
    *,
    func: str,
    check_inputs: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    """Transform, shape-check and value-check the inputs; return ``(p (N, D), s (N,), w (N,))``."""
    if predictions_transform is not None:
        if not callable(predictions_transform):
            raise param_type_error(
                "predictions_transform", "a callable or None", predictions_transform, func=func
            )
        predictions = predictions_transform(predictions)
    p = as_2d(predictions, param="predictions", func=func)
    if p.dtype in (torch.float16, torch.bfloat16):
        p = p.float()
    n = p.shape[0]
    s = as_vector(membership, n, param="membership", func=func, like=p, what="0/1 values")
    if weights is None:
        w = torch.ones_like(s)
    else:
        w = as_vector(weights, n, param="weights", func=func, like=p, what="weights")
    if check_inputs:
        check_membership(s, func=func)
        if weights is not None:
            check_weights(w, func=func)
    return p, s, w


def _group_weights(s: Tensor, w: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Return the within-group weights ``a``, ``b`` (each (N,), summing to one, or all zero
    for an empty group) and the two groups' total weights."""
    ws = w * s
    wt = w - ws
    total_s = ws.sum()
    total_t = wt.sum()
    tiny = torch.finfo(w.dtype).tiny
    return ws / total_s.clamp_min(tiny), wt / total_t.clamp_min(tiny), total_s, total_t


def _rows_per_chunk(n: int, d: int, chunk_size: Any, func: str) -> int:
    if chunk_size is None:
        return max(1, DEFAULT_MAX_KERNEL_ELEMENTS // max(1, n * d))
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int):
        raise param_type_error("chunk_size", "an int >= 1 or None", chunk_size, func=func)
    if chunk_size < 1:
        raise param_error("chunk_size", "an int >= 1 or None", chunk_size, func=func)
    return chunk_size


def _mat_cols(k: Tensor, m: Tensor) -> Tensor:
    """``k @ m`` for a thin ``m``: matrix-vector products are much faster than a skinny GEMM."""
    if m.shape[1] <= 4:
        return torch.stack([torch.mv(k, m[:, j]) for j in range(m.shape[1])], dim=1)
    return k @ m


def _named_block(
    x_rows: Tensor, x_all: Tensor, gaussian: bool, length: float
) -> tuple[Tensor, Tensor | None]:
    """Kernel block ``K`` (rows x N) and, for the Laplacian, the distances (for the gradient).

    Computed in place on one buffer where possible: this is the hot loop of MinDiff.
    """
    floor = math.log(torch.finfo(x_rows.dtype).tiny) + 20.0
    if x_rows.shape[1] == 1:
        buf = x_rows - x_all.T
    else:
        buf = (x_rows.unsqueeze(1) - x_all.unsqueeze(0)).square_().sum(dim=-1)
    if gaussian:
        if x_rows.shape[1] == 1:
            buf.square_()
        return buf.mul_(-1.0 / (length * length)).clamp_(min=floor).exp_(), None
    dist = buf.abs_() if x_rows.shape[1] == 1 else buf.sqrt_()
    return torch.mul(dist, -1.0 / length).clamp_(min=floor).exp_(), dist


class _NamedKernelGram(torch.autograd.Function):
    r""":math:`G = C^\top K C` for the Gaussian or Laplacian kernel, with a closed-form backward.

    Forward: :math:`U = K C` (``N x m``), :math:`G = C^\top U`. Backward, with
    :math:`H = \bar G + \bar G^\top` and :math:`P = C H`:

    * :math:`\bar C = U H` (the kernel matrix is symmetric);
    * :math:`\bar x_i = \alpha \sum_l P_{il} \big(x_i (R C)_{il} - (R (C_{:l} \odot x))_i\big)`,
      where :math:`\sum_j R_{ij} (x_i - x_j) = \partial_1` of the kernel row up to
      :math:`\alpha`: for the Gaussian :math:`R = K`, :math:`\alpha = -2/\ell^2`; for the
      Laplacian :math:`R_{ij} = K_{ij} / \|x_i - x_j\|` (0 where the distance is 0),
      :math:`\alpha = -1/\ell`.

    So the backward needs no elementwise pass over the Gaussian kernel matrix, only
    matrix-vector products. Dense (``rows >= N``) it keeps :math:`K` from the forward;
    chunked, it recomputes one block of rows at a time and never holds :math:`N \times N`.
    Not twice differentiable.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, c: Tensor, gaussian: bool, length: float, rows: int) -> Tensor:
        n = x.shape[0]
        k: Tensor | None = None
        dist: Tensor | None = None
        if rows >= n:
            k, dist = _named_block(x, x, gaussian, length)
            u = _mat_cols(k, c)
        else:
            parts = []
            for start in range(0, n, rows):
                kb, _ = _named_block(x[start : start + rows], x, gaussian, length)
                parts.append(_mat_cols(kb, c))
            u = torch.cat(parts)
        ctx.gaussian, ctx.length, ctx.rows = gaussian, length, rows
        saved = [x, c, u]
        if k is not None:
            saved.append(k)
        if dist is not None:
            saved.append(dist)
        ctx.save_for_backward(*saved)
        return c.T @ u

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None, None, None]:
        x, c, u, *dense = ctx.saved_tensors
        gaussian, length, rows = ctx.gaussian, ctx.length, ctx.rows
        h = grad + grad.T
        grad_c = u @ h if ctx.needs_input_grad[1] else None
        grad_x = None
        if ctx.needs_input_grad[0]:
            n, d = x.shape
            m = c.shape[1]
            p = c @ h  # (N, m)
            # column l * d + e holds C_l * x_e
            cx = (c.unsqueeze(2) * x.unsqueeze(1)).reshape(n, m * d)
            parts = []
            for start in range(0, n, rows):
                stop = min(n, start + rows)
                if dense:  # one block: all rows
                    k, dist = dense[0], (dense[1] if len(dense) > 1 else None)
                else:
                    k, dist = _named_block(x[start:stop], x, gaussian, length)
                if gaussian:
                    r, rc = k, u[start:stop]
                else:
                    assert dist is not None
                    positive = dist > 0
                    r = torch.where(positive, k / torch.where(positive, dist, 1.0), 0.0)
                    rc = _mat_cols(r, c)
                rcx = _mat_cols(r, cx).reshape(stop - start, m, d)
                term = x[start:stop].unsqueeze(1) * rc.unsqueeze(2) - rcx  # (rows, m, d)
                parts.append((p[start:stop].unsqueeze(2) * term).sum(dim=1))
            alpha = -2.0 / (length * length) if gaussian else -1.0 / length
            grad_x = torch.cat(parts) * alpha if parts else torch.zeros_like(x)
        return grad_x, grad_c, None, None, None


def _kernel_gram(
    p: Tensor,
    c: Tensor,
    kernel: KernelFn,
    named: str | None,
    length: float,
    chunk_size: int | None,
    func: str,
) -> Tensor:
    r"""Return :math:`G = C^\top K C` (``m x m``) for :math:`K_{ij} = k(p_i, p_j)`.

    With ``C = [a, b]``, ``G[0, 0]``, ``G[1, 1]`` and ``G[0, 1]`` are the weighted mean kernel
    values within the sensitive group, within the other group, and across the groups; with
    ``C = a - b``, ``G`` is the MMD. Beyond ``chunk_size`` rows the kernel is computed one
    block of rows at a time (the named kernels by :class:`_NamedKernelGram`, a custom kernel
    under activation checkpointing), so that neither the forward nor the backward pass holds
    the full :math:`N \times N` matrix; the value and the gradient are the same up to
    rounding.
    """
    n, d = p.shape
    rows = _rows_per_chunk(n, d, chunk_size, func)
    if named is not None:
        out: Tensor = _NamedKernelGram.apply(p, c, named == "gaussian", length, rows)
        return out
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


def _finish(loss: Tensor, ws: Tensor, wt: Tensor, empty_group: EmptyGroup, func: str) -> Tensor:
    if empty_group == "raise":
        raise_if_group_empty(ws, wt, func=func)
        return loss
    both = (ws > 0) & (wt > 0)
    return torch.where(both, loss, loss.new_zeros(()))


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
    func = "absolute_correlation_loss"
    empty_group = check_empty_group(empty_group, func=func)
    p, s, w = _prepare(
        predictions,
        membership,
        weights,
        predictions_transform,
        func=func,
        check_inputs=check_inputs,
    )
    if p.shape[1] != 1:
        raise param_error(
            "predictions",
            "a tensor of shape (N,) or (N, 1) (one prediction per example)",
            shown(f"shape {tuple(p.shape)}"),
            func=func,
        )
    x = p[:, 0]
    total = w.sum()
    w_hat = w / total.clamp_min(torch.finfo(w.dtype).tiny)
    s_c = s - (w_hat * s).sum()
    x_c = x - (w_hat * x).sum()
    cov = (w_hat * s_c * x_c).sum()
    var_s = (w_hat * s_c.square()).sum()
    var_p = (w_hat * x_c.square()).sum()
    loss = cov.abs() / (
        torch.sqrt(var_s + CORRELATION_EPSILON) * torch.sqrt(var_p + CORRELATION_EPSILON)
    )
    ws = (w * s).sum()
    return _finish(loss, ws, total - ws, empty_group, func)


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
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, EmptyGroup, KernelFn, str | None, float]:
    policy = check_empty_group(empty_group, func=func)
    kfn, named, length = _resolve_kernel(kernel, kernel_length, func)
    p, s, w = _prepare(
        predictions,
        membership,
        weights,
        predictions_transform,
        func=func,
        check_inputs=check_inputs,
    )
    a, b, ws, wt = _group_weights(s, w)
    return p, a, b, ws, wt, policy, kfn, named, length


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
        chunks of that many entries beyond, with activation checkpointing so that the
        backward pass does not hold the full matrix either. Same value and gradient.
    empty_group : {"zero", "raise"}, default "zero"
        When a group has no examples or zero total weight: return 0 or raise ``ValueError``.
    check_inputs : bool, default True
        Check that membership is 0/1 and weights are non-negative (one device sync each).

    Returns
    -------
    Tensor
        A non-negative scalar (up to rounding).
    """
    func = "mmd_loss"
    p, a, b, ws, wt, policy, kfn, named, length = _mmd_inputs(
        func, predictions, membership, weights, kernel, kernel_length,
        predictions_transform, empty_group, check_inputs,
    )  # fmt: skip
    c = (a - b).unsqueeze(1)
    loss = _kernel_gram(p, c, kfn, named, length, chunk_size, func)[0, 0]
    return _finish(loss, ws, wt, policy, func)


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
    func = "adjusted_mmd_loss"
    p, a, b, ws, wt, policy, kfn, named, length = _mmd_inputs(
        func, predictions, membership, weights, kernel, kernel_length,
        predictions_transform, empty_group, check_inputs,
    )  # fmt: skip
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
    return _finish(adjusted, ws, wt, policy, func)


def _kernel_diagonal(kernel: KernelFn, p: Tensor, block: int = 256) -> Tensor:
    """:math:`k(p_i, p_i)` for every row, from diagonal blocks (1 for the named kernels)."""
    parts = [
        torch.diagonal(kernel(p[i : i + block], p[i : i + block]))
        for i in range(0, p.shape[0], block)
    ]
    return torch.cat(parts) if parts else p.new_zeros((0,))


# --------------------------------------------------------------------------- modules


class AbsoluteCorrelationLoss(nn.Module):
    """Module form of :func:`absolute_correlation_loss`.

    Parameters
    ----------
    predictions_transform : callable, optional
        Applied to the predictions first (e.g. ``torch.sigmoid`` on logits).
    empty_group : {"zero", "raise"}, default "zero"
        Behaviour when a group is empty; see :func:`absolute_correlation_loss`.
    check_inputs : bool, default True
        Check membership and weight values on every call.

    Examples
    --------
    >>> import torch
    >>> loss = AbsoluteCorrelationLoss()
    >>> float(loss(torch.tensor([0.9, 0.8, 0.2, 0.1]), torch.tensor([1, 1, 0, 0])))  # doctest: +ELLIPSIS
    0.98...
    """

    def __init__(
        self,
        predictions_transform: PredictionsTransform | None = None,
        *,
        empty_group: EmptyGroup = "zero",
        check_inputs: bool = True,
    ) -> None:
        super().__init__()
        self.predictions_transform = predictions_transform
        self.empty_group: EmptyGroup = check_empty_group(
            empty_group, func="AbsoluteCorrelationLoss"
        )
        self.check_inputs = check_inputs

    def forward(self, predictions: Tensor, membership: Any, weights: Any = None) -> Tensor:
        """Compute the loss; see :func:`absolute_correlation_loss`."""
        return absolute_correlation_loss(
            predictions,
            membership,
            weights,
            predictions_transform=self.predictions_transform,
            empty_group=self.empty_group,
            check_inputs=self.check_inputs,
        )

    def extra_repr(self) -> str:
        return f"empty_group={self.empty_group!r}"


class MMDLoss(nn.Module):
    """Module form of :func:`mmd_loss`.

    Parameters
    ----------
    kernel : {"gaussian", "laplacian"} or callable, default "gaussian"
        The kernel; see :func:`mmd_loss`.
    kernel_length : float, default 0.1
        The kernel length of the named kernels.
    predictions_transform : callable, optional
        Applied to the predictions first (e.g. ``torch.sigmoid`` on logits).
    chunk_size : int, optional
        Rows of the kernel matrix computed at once; see :func:`mmd_loss`.
    empty_group : {"zero", "raise"}, default "zero"
        Behaviour when a group is empty.
    check_inputs : bool, default True
        Check membership and weight values on every call.

    Examples
    --------
    >>> import torch
    >>> loss = MMDLoss("laplacian", kernel_length=0.5)
    >>> round(float(loss(torch.tensor([0.9, 0.8, 0.2, 0.1]), torch.tensor([1, 1, 0, 0]))), 4)
    1.3206
    """

    _func = "MMDLoss"

    def __init__(
        self,
        kernel: str | KernelFn = "gaussian",
        kernel_length: float = DEFAULT_KERNEL_LENGTH,
        predictions_transform: PredictionsTransform | None = None,
        *,
        chunk_size: int | None = None,
        empty_group: EmptyGroup = "zero",
        check_inputs: bool = True,
    ) -> None:
        super().__init__()
        _resolve_kernel(kernel, kernel_length, self._func)  # validate eagerly
        self.kernel = kernel
        self.kernel_length = float(kernel_length)
        self.predictions_transform = predictions_transform
        self.chunk_size = chunk_size
        self.empty_group: EmptyGroup = check_empty_group(empty_group, func=self._func)
        self.check_inputs = check_inputs

    def forward(self, predictions: Tensor, membership: Any, weights: Any = None) -> Tensor:
        """Compute the loss; see :func:`mmd_loss`."""
        return mmd_loss(
            predictions,
            membership,
            weights,
            kernel=self.kernel,
            kernel_length=self.kernel_length,
            predictions_transform=self.predictions_transform,
            chunk_size=self.chunk_size,
            empty_group=self.empty_group,
            check_inputs=self.check_inputs,
        )

    def extra_repr(self) -> str:
        kernel = (
            self.kernel
            if isinstance(self.kernel, str)
            else getattr(self.kernel, "__name__", "custom")
        )
        return f"kernel={kernel!r}, kernel_length={self.kernel_length}"


class AdjustedMMDLoss(MMDLoss):
    """Module form of :func:`adjusted_mmd_loss`; same parameters as :class:`MMDLoss`."""

    _func = "AdjustedMMDLoss"

    def forward(self, predictions: Tensor, membership: Any, weights: Any = None) -> Tensor:
        """Compute the loss; see :func:`adjusted_mmd_loss`."""
        return adjusted_mmd_loss(
            predictions,
            membership,
            weights,
            kernel=self.kernel,
            kernel_length=self.kernel_length,
            predictions_transform=self.predictions_transform,
            chunk_size=self.chunk_size,
            empty_group=self.empty_group,
            check_inputs=self.check_inputs,
        )


MINDIFF_LOSSES: dict[str, Callable[..., nn.Module]] = {
    "mmd": lambda **kw: MMDLoss("gaussian", **kw),
    "gaussian_mmd": lambda **kw: MMDLoss("gaussian", **kw),
    "laplacian_mmd": lambda **kw: MMDLoss("laplacian", **kw),
    "adjusted_mmd": lambda **kw: AdjustedMMDLoss("gaussian", **kw),
    "adjusted_laplacian_mmd": lambda **kw: AdjustedMMDLoss("laplacian", **kw),
    "absolute_correlation": lambda **kw: AbsoluteCorrelationLoss(**kw),
}
"""Loss names accepted wherever a MinDiff loss is asked for, and their constructors."""


def get_mindiff_loss(loss: str | MinDiffLossFn | nn.Module, **kwargs: Any) -> MinDiffLossFn:
    """Return a MinDiff loss from a name in :data:`MINDIFF_LOSSES`, or ``loss`` itself.

    Parameters
    ----------
    loss : str or callable
        ``"mmd"`` (Gaussian kernel), ``"gaussian_mmd"``, ``"laplacian_mmd"``,
        ``"adjusted_mmd"``, ``"adjusted_laplacian_mmd"``, ``"absolute_correlation"``, or any
        callable ``loss(predictions, membership, weights) -> scalar`` (returned unchanged).
    **kwargs
        Passed to the named loss's constructor (e.g. ``kernel_length=0.2``,
        ``predictions_transform=torch.sigmoid``); not allowed with a callable.
    """
    func = "get_mindiff_loss"
    if isinstance(loss, str):
        if loss not in MINDIFF_LOSSES:
            listed = ", ".join(repr(k) for k in MINDIFF_LOSSES)
            raise param_error("loss", f"one of {{{listed}}} or a callable", loss, func=func)
        return MINDIFF_LOSSES[loss](**kwargs)
    if callable(loss):
        if kwargs:
            raise param_error(
                "kwargs", "empty when 'loss' is a callable", shown(str(sorted(kwargs))), func=func
            )
        return loss
    listed = ", ".join(repr(k) for k in MINDIFF_LOSSES)
    raise param_type_error("loss", f"one of {{{listed}}} or a callable", loss, func=func)
