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
import weakref
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from assay import _native
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


_EXP_FLOORS: dict[torch.dtype, float] = {}


def _exp_floor(dtype: torch.dtype) -> float:
    floor = _EXP_FLOORS.get(dtype)
    if floor is None:
        floor = _EXP_FLOORS[dtype] = math.log(torch.finfo(dtype).tiny) + 20.0
    return floor


def _exp_neg(arg: Tensor) -> Tensor:
    """``exp(arg)`` for ``arg <= 0``, with ``arg`` floored at ``log(tiny) + 20`` of its dtype.

    Without the floor, far-apart predictions give kernel values in the subnormal range
    (below about 1e-38 in float32), and subnormal arithmetic is one to two orders of
    magnitude slower on most CPUs, in the kernel and in every product downstream. The floor
    (about -67 in float32, -688 in float64) changes a kernel value by less than
    :math:`e^{-67} \approx 8 \times 10^{-30}` (float32).
    """
    return torch.exp(arg.clamp_min(_exp_floor(arg.dtype)))


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


def _transform(
    predictions: Tensor, predictions_transform: PredictionsTransform | None, func: str
) -> Tensor:
    if predictions_transform is not None:
        if not callable(predictions_transform):
            raise param_type_error(
                "predictions_transform", "a callable or None", predictions_transform, func=func
            )
        predictions = predictions_transform(predictions)
    p = as_2d(predictions, param="predictions", func=func)
    if p.dtype in (torch.float16, torch.bfloat16):
        p = p.float()
    return p


def _inputs(
    predictions: Tensor,
    membership: Any,
    weights: Any,
    predictions_transform: PredictionsTransform | None,
    policy: EmptyGroup,
    *,
    func: str,
    check_inputs: bool,
    memo: _MembershipMemo | None = None,
) -> tuple[Tensor, Tensor, Tensor | None, _Groups]:
    """Transform and check the inputs; return ``(p (N, D), s (N,), w (N,) or None, groups)``."""
    p = _transform(predictions, predictions_transform, func)
    n = p.shape[0]
    if memo is not None and weights is None:
        hit = memo.lookup(membership, n, p.dtype, p.device, policy, check_inputs)
        if hit is not None:
            return p, hit[0], None, hit[1]
    s = as_vector(membership, n, param="membership", func=func, like=p, what="0/1 values")
    w = None
    if weights is not None:
        w = as_vector(weights, n, param="weights", func=func, like=p, what="weights")
    if check_inputs:
        check_membership(s, func=func)
        if w is not None:
            check_weights(w, func=func)
    groups = _groups(s, w, policy, func=func, host=check_inputs)
    if memo is not None and w is None:
        memo.store(membership, n, p.dtype, p.device, policy, check_inputs, s, groups)
    return p, s, w, groups


class _MembershipMemo:
    """The checked group weights of the last membership tensor a loss module saw.

    :class:`~assay.fairness.remediation.MinDiffLoader` passes the same membership tensor in
    every batch (the groups' sizes do not change), so a module can skip re-checking it and
    re-deriving the group weights. The tensor is held by weak reference and matched by
    identity and version counter (an in-place change invalidates the entry).
    """

    __slots__ = ("_key", "_ref", "_value", "_version")

    def __init__(self) -> None:
        self._ref: weakref.ref[Tensor] | None = None
        self._version = -1
        self._key: tuple[Any, ...] = ()
        self._value: tuple[Tensor, _Groups] | None = None

    def lookup(
        self, membership: Any, n: int, dtype: torch.dtype, device: torch.device, *key: Any
    ) -> tuple[Tensor, _Groups] | None:
        if self._ref is None or not isinstance(membership, Tensor):
            return None
        if self._ref() is not membership:
            return None
        if membership._version != self._version or self._key != (n, dtype, device, *key):
            return None
        return self._value

    def store(
        self,
        membership: Any,
        n: int,
        dtype: torch.dtype,
        device: torch.device,
        policy: EmptyGroup,
        check_inputs: bool,
        s: Tensor,
        groups: _Groups,
    ) -> None:
        if not isinstance(membership, Tensor) or membership.requires_grad:
            return
        self._ref = weakref.ref(membership)
        self._version = membership._version
        self._key = (n, dtype, device, policy, check_inputs)
        self._value = (s, groups)


class _Groups:
    """Within-group weights and whether both groups are present.

    ``a`` (sensitive) and ``b`` (other) each sum to one over their group (all zero for an
    empty group); ``c = a - b``. ``valid`` is a Python bool when it was decided on the host
    (the inputs were checked anyway, which synchronises), else a boolean tensor (no
    synchronisation).
    """

    __slots__ = ("_a", "_b", "_c", "_inv", "_s", "valid")

    def __init__(
        self,
        valid: bool | Tensor,
        *,
        a: Tensor | None = None,
        b: Tensor | None = None,
        s: Tensor | None = None,
        inv: tuple[float, float] = (0.0, 0.0),
    ) -> None:
        self.valid = valid
        self._a, self._b, self._s, self._inv = a, b, s, inv
        self._c: Tensor | None = None

    @property
    def a(self) -> Tensor:
        if self._a is None:
            assert self._s is not None
            self._a = self._s * self._inv[0]
        return self._a

    @property
    def b(self) -> Tensor:
        if self._b is None:
            assert self._s is not None
            self._b = (1.0 - self._s) * self._inv[1]
        return self._b

    @property
    def c(self) -> Tensor:
        if self._c is None:
            if self._s is not None:  # unweighted: c_i = s_i (1/n_S + 1/n_T) - 1/n_T
                inv_s, inv_t = self._inv
                self._c = (self._s * (inv_s + inv_t)).sub_(inv_t)
            else:
                self._c = self.a - self.b
        return self._c


def _groups(s: Tensor, w: Tensor | None, policy: EmptyGroup, *, func: str, host: bool) -> _Groups:
    tiny = torch.finfo(s.dtype).tiny
    if w is None and host:
        # Unweighted, inputs already synchronised by the checks: counts on the host.
        n_s = float(s.sum())
        n_t = s.shape[0] - n_s
        if policy == "raise":
            raise_if_group_empty(n_s, n_t, func=func)
        if n_s <= 0 or n_t <= 0:
            zero = torch.zeros_like(s)
            return _Groups(False, a=zero, b=zero)
        return _Groups(True, s=s, inv=(1.0 / n_s, 1.0 / n_t))
    ws = s if w is None else w * s
    wt = (1.0 - s) if w is None else w - ws
    total_s, total_t = ws.sum(), wt.sum()
    if policy == "raise":
        raise_if_group_empty(float(total_s), float(total_t), func=func)
    a = ws / total_s.clamp_min(tiny)
    b = wt / total_t.clamp_min(tiny)
    return _Groups(torch.minimum(total_s, total_t) > 0, a=a, b=b)


def _zero_loss(p: Tensor) -> Tensor:
    """A zero scalar in ``p``'s graph, with a zero gradient (NaN-safe)."""
    return p.masked_fill(torch.ones_like(p, dtype=torch.bool), 0.0).sum()


def _select(valid: bool | Tensor, loss: Tensor) -> Tensor:
    if isinstance(valid, bool):
        return loss
    return torch.where(valid, loss, loss.new_zeros(()))


# --------------------------------------------------------------------------- kernel Gram


def _rows_per_chunk(n: int, d: int, chunk_size: Any, func: str) -> int:
    if chunk_size is None:
        return max(1, DEFAULT_MAX_KERNEL_ELEMENTS // max(1, n * d))
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int):
        raise param_type_error("chunk_size", "an int >= 1 or None", chunk_size, func=func)
    if chunk_size < 1:
        raise param_error("chunk_size", "an int >= 1 or None", chunk_size, func=func)
    return chunk_size


def _mat_cols(k: Tensor, m: Tensor) -> Tensor:
    """``k @ m`` for a thin ``m``: matrix-vector products beat a skinny GEMM on CPU."""
    if m.shape[1] == 1:
        return torch.mv(k, m[:, 0]).unsqueeze(1)
    if m.shape[1] <= 4:
        return torch.stack([torch.mv(k, m[:, j]) for j in range(m.shape[1])], dim=1)
    return k @ m


def _named_block(
    x_rows: Tensor, x_all: Tensor, gaussian: bool, length: float, grad_aux: bool = True
) -> tuple[Tensor, Tensor | None]:
    r"""Kernel block ``K`` (rows x N) and what its gradient needs besides ``K``.

    The second item is ``None`` for the Gaussian (or when ``grad_aux`` is false),
    :math:`K_{ij} \operatorname{sign}(x_i - x_j)` for the Laplacian of one column, and the
    distances for the Laplacian of several columns. Computed in place where possible: this is
    the hot loop of MinDiff, and every fresh ``N x N`` buffer costs page faults.
    """
    floor = _exp_floor(x_rows.dtype)
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


def _laplacian_r(k: Tensor, aux: Tensor, one_column: bool) -> Tensor:
    """``K * sign(x_i - x_j)`` (one column: ``aux`` itself) or ``K / dist``, 0 at distance 0."""
    if one_column:
        return aux
    positive = aux > 0
    return torch.where(positive, k / torch.where(positive, aux, 1.0), 0.0)


class _NamedKernelGram(torch.autograd.Function):
    r""":math:`G = C^\top K C` for the Gaussian or Laplacian kernel, with a closed-form backward.

    ``c`` is either ``(N, m)`` (returns the ``m x m`` Gram matrix) or ``(N,)`` (returns the
    scalar quadratic form :math:`c^\top K c`, the MMD's fast path).

    Forward: :math:`U = K C`, :math:`G = C^\top U`. Backward, with
    :math:`H = \bar G + \bar G^\top` and :math:`P = \alpha C H`:

    * :math:`\bar C = U H` (the kernel matrix is symmetric);
    * :math:`\bar x_i = \sum_l P_{il} \sum_j R_{ij} C_{jl} (x_i - x_j)
      = \sum_l P_{il} \big(x_i (R C)_{il} - (R (C_{:l} \odot x))_i\big)`,
      because :math:`\partial k(x_i, x_j) / \partial x_i = \alpha R_{ij} (x_i - x_j)` with,
      for the Gaussian, :math:`R = K`, :math:`\alpha = -2/\ell^2`, and for the Laplacian
      :math:`R_{ij} = K_{ij} / \|x_i - x_j\|` (0 where the distance is 0),
      :math:`\alpha = -1/\ell`; for one column the Laplacian's sum is
      :math:`((K \odot \operatorname{sign}(x_i - x_j)) C)_{il}`.

    So the backward of the Gaussian needs no elementwise pass over the kernel matrix, only
    matrix-vector products. Dense (``rows >= N``) it keeps :math:`K` from the forward;
    chunked, it recomputes one block of rows at a time and never holds :math:`N \times N`.
    Not twice differentiable.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, c: Tensor, gaussian: bool, length: float, rows: int) -> Tensor:
        n = x.shape[0]
        vector = c.ndim == 1
        saved: list[Tensor] = []
        if rows >= n:
            k, aux = _named_block(x, x, gaussian, length, x.requires_grad)
            u = torch.mv(k, c) if vector else _mat_cols(k, c)
            saved.append(k)
            if aux is not None:
                saved.append(aux)
        else:
            parts = []
            for start in range(0, n, rows):
                kb, _ = _named_block(x[start : start + rows], x, gaussian, length, False)
                parts.append(torch.mv(kb, c) if vector else _mat_cols(kb, c))
            u = torch.cat(parts)
        ctx.gaussian, ctx.length, ctx.rows, ctx.vector = gaussian, length, rows, vector
        ctx.save_for_backward(x, c, u, *saved)
        return torch.dot(c, u) if vector else c.T @ u

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None, None, None]:
        if torch.is_grad_enabled():  # create_graph=True: this backward is not differentiable
            raise RuntimeError(
                "The MinDiff MMD losses with a named kernel are differentiable once, not twice; "
                "for higher derivatives pass the kernel as a function, e.g. "
                "kernel=assay.fairness.remediation.gaussian_kernel."
            )
        x, c, u, *dense = ctx.saved_tensors
        gaussian, length, rows, vector = ctx.gaussian, ctx.length, ctx.rows, ctx.vector
        n, d = x.shape
        alpha = -2.0 / (length * length) if gaussian else -1.0 / length
        grad_c = None
        if ctx.needs_input_grad[1]:
            grad_c = u * (2.0 * grad) if vector else u @ (grad + grad.T)
        if not ctx.needs_input_grad[0]:
            return None, grad_c, None, None, None
        if n == 0:
            return torch.zeros_like(x), grad_c, None, None, None
        if vector and d == 1 and dense:  # the MMD of one prediction column: a few vector ops
            k = dense[0]
            if gaussian:  # 2g alpha c (x u - K (c x))
                xv = x[:, 0]
                t = torch.addcmul(torch.mv(k, c * xv), xv, u, value=-1.0)
                t.mul_(c).mul_(grad * (-2.0 * alpha))
            else:  # 2g alpha c ((K sign(D)) c)
                t = torch.mv(_laplacian_r(k, dense[1], True), c).mul_(c).mul_(grad * (2.0 * alpha))
            return t.unsqueeze(1), grad_c, None, None, None
        c2 = c.unsqueeze(1) if vector else c
        u2 = u.unsqueeze(1) if vector else u
        m = c2.shape[1]
        h = grad.reshape(1, 1) * 2.0 if vector else grad + grad.T
        p = (c2 @ h).mul_(alpha)  # (N, m)
        sign_form = not gaussian and d == 1
        # column l * d + e holds C_l * x_e
        cx = None if sign_form else (c2.unsqueeze(2) * x.unsqueeze(1)).reshape(n, m * d)
        parts = []
        for start in range(0, n, rows):
            stop = min(n, start + rows)
            if dense:  # one block: all rows
                k, aux = dense[0], (dense[1] if len(dense) > 1 else None)
            else:
                k, aux = _named_block(x[start:stop], x, gaussian, length)
            if sign_form:  # sum_j K_ij sign(x_i - x_j) C_jl
                assert aux is not None
                term = _mat_cols(_laplacian_r(k, aux, True), c2).unsqueeze(2)  # (rows, m, 1)
            else:
                if gaussian:
                    r, rc = k, u2[start:stop]
                else:
                    assert aux is not None
                    r = _laplacian_r(k, aux, False)
                    rc = _mat_cols(r, c2)
                assert cx is not None
                term = x[start:stop].unsqueeze(1) * rc.unsqueeze(2)
                term = term - _mat_cols(r, cx).reshape(stop - start, m, d)
            parts.append((p[start:stop].unsqueeze(2) * term).sum(dim=1))
        grad_x = parts[0] if len(parts) == 1 else torch.cat(parts)
        return grad_x, grad_c, None, None, None


class _NativeKernelGram(torch.autograd.Function):
    r""":math:`G = C^\top K C` for one prediction column, by the compiled kernel.

    The compiled kernel (``assay/_native/_pairwise.c``) makes one pass over the upper
    triangle of the kernel matrix without storing it and returns, per column :math:`l`,
    :math:`U_{il} = \sum_j K_{ij} C_{jl}` and :math:`V_{il} = \sum_j K_{ij} C_{jl} g_{ij}`
    with :math:`g_{ij} = x_i - x_j` (Gaussian) or :math:`\operatorname{sign}(x_i - x_j)`
    (Laplacian). Then :math:`G = C^\top U` and, as in :class:`_NamedKernelGram`, with
    :math:`H = \bar G + \bar G^\top`: :math:`\bar C = U H` and
    :math:`\bar x_i = \alpha \sum_l (C H)_{il} V_{il}`. Memory is :math:`O(N)`;
    ``c`` is ``(N,)`` (scalar result) or ``(N, m)``.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, c: Tensor, gaussian: bool, length: float) -> Tensor:
        n = x.shape[0]
        vector = c.ndim == 1
        cm = (c.reshape(1, n) if vector else c.T).contiguous()
        xv = x.reshape(n).contiguous()
        u = torch.empty_like(cm)
        v = torch.empty_like(cm)
        scale = 1.0 / (length * length) if gaussian else 1.0 / length
        kernels = _native.pairwise()
        assert kernels is not None
        kernels.kernel_sums(
            xv.data_ptr(), cm.data_ptr(), u.data_ptr(), v.data_ptr(), n, cm.shape[0],
            not gaussian, scale, _exp_floor(x.dtype), x.dtype == torch.float64,
        )  # fmt: skip
        ctx.alpha = -2.0 / (length * length) if gaussian else -1.0 / length
        ctx.vector = vector
        ctx.save_for_backward(cm, u, v)
        return torch.dot(cm[0], u[0]) if vector else cm @ u.T

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None, None]:
        if torch.is_grad_enabled():
            raise RuntimeError(
                "The MinDiff MMD losses with a named kernel are differentiable once, not twice; "
                "for higher derivatives pass the kernel as a function, e.g. "
                "kernel=assay.fairness.remediation.gaussian_kernel."
            )
        cm, u, v = ctx.saved_tensors
        grad_x = grad_c = None
        if ctx.vector:
            h = grad * 2.0
            if ctx.needs_input_grad[0]:
                grad_x = (cm[0] * v[0]).mul_(h * ctx.alpha).unsqueeze(1)
            if ctx.needs_input_grad[1]:
                grad_c = u[0] * h
            return grad_x, grad_c, None, None
        h = grad + grad.T
        if ctx.needs_input_grad[0]:
            grad_x = ((h @ cm).mul_(v).sum(dim=0) * ctx.alpha).unsqueeze(1)
        if ctx.needs_input_grad[1]:
            grad_c = (h @ u).T
        return grad_x, grad_c, None, None


class _NativeQuadratic(torch.autograd.Function):
    r"""``weight * c^T K c`` for one prediction column and a vector ``c``: the MMD's fast path.

    One call of the compiled kernel returns the value and both gradients
    (:math:`\bar x_i = 2\alpha\, c_i V_i`, :math:`\bar c = 2 U`, see
    :class:`_NativeKernelGram`), so the backward pass is a single multiplication.
    """

    @staticmethod
    def forward(
        ctx: Any, x: Tensor, c: Tensor, gaussian: bool, length: float, weight: float
    ) -> Tensor:
        n = x.shape[0]
        gx = torch.empty_like(x)
        loss = x.new_empty(())
        uc = torch.empty_like(c) if ctx.needs_input_grad[1] else None
        kernels = _native.pairwise()
        assert kernels is not None
        kernels.quadratic(
            x.data_ptr(), c.data_ptr(), loss.data_ptr(), gx.data_ptr(),
            0 if uc is None else uc.data_ptr(), n, not gaussian,
            1.0 / (length * length) if gaussian else 1.0 / length, _exp_floor(x.dtype),
            -2.0 / (length * length) if gaussian else -1.0 / length, weight,
            x.dtype == torch.float64,
        )  # fmt: skip
        ctx.save_for_backward(gx, uc)
        return loss

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None, None, None]:
        if torch.is_grad_enabled():
            raise RuntimeError(
                "The MinDiff MMD losses with a named kernel are differentiable once, not twice; "
                "for higher derivatives pass the kernel as a function, e.g. "
                "kernel=assay.fairness.remediation.gaussian_kernel."
            )
        gx, uc = ctx.saved_tensors
        grad_x = gx * grad if ctx.needs_input_grad[0] else None
        grad_c = uc * grad if uc is not None else None
        return grad_x, grad_c, None, None, None


class _NativeScalar(torch.autograd.Function):
    """A scalar loss of ``x`` whose value and gradient one compiled call writes.

    ``compute(loss, gx)`` fills the 0-d ``loss`` and ``gx`` (shaped like ``x``); the backward
    pass is ``grad * gx``. Used by the adjusted MMD and the absolute correlation loss, for
    which only the predictions receive a gradient. Differentiable once.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, compute: Callable[[Tensor, Tensor], None]) -> Tensor:
        gx = torch.empty_like(x)
        loss = x.new_empty(())
        compute(loss, gx)
        ctx.save_for_backward(gx)
        return loss

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        if torch.is_grad_enabled():
            raise RuntimeError(
                "This MinDiff loss is computed by a compiled kernel and is differentiable once, "
                "not twice; for higher derivatives switch the kernel off with "
                "`with assay._native.use_native(False):` (or ASSAY_NATIVE=0)."
            )
        (gx,) = ctx.saved_tensors
        return gx * grad, None


_NATIVE_DTYPES = (torch.float32, torch.float64)


def _use_native(p: Tensor) -> bool:
    """Whether the compiled kernels take ``p`` (one column, CPU, float32/float64)."""
    return p.shape[1] == 1 and p.is_cpu and p.dtype in _NATIVE_DTYPES and _native.available()


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
    block of rows at a time (the named kernels by :class:`_NamedKernelGram`, a custom kernel
    under activation checkpointing), so that neither the forward nor the backward pass holds
    the full :math:`N \times N` matrix; the value and the gradient are the same up to
    rounding.
    """
    n, d = p.shape
    rows = _rows_per_chunk(n, d, chunk_size, func)
    if named is not None:
        if _use_native(p):
            out: Tensor = _NativeKernelGram.apply(p, c, named == "gaussian", length)
        else:
            out = _NamedKernelGram.apply(p, c, named == "gaussian", length, rows)
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
    _memo: _MembershipMemo | None = None,
    _scale: float = 1.0,
) -> Tensor:
    func = "absolute_correlation_loss"
    policy = check_empty_group(empty_group, func=func)
    p, s, w, groups = _inputs(
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
        return _zero_loss(p)
    x = p[:, 0]
    if x.shape[0] == 0:
        return _zero_loss(p)
    if _use_native(p) and (w is None or not w.requires_grad):
        kernels = _native.pairwise()
        assert kernels is not None
        xc = p if p.is_contiguous() else p.contiguous()
        sc = s.contiguous()
        wc = None if w is None else w.contiguous()

        def compute(loss_out: Tensor, gx: Tensor) -> None:
            kernels.correlation(
                xc.data_ptr(), sc.data_ptr(), 0 if wc is None else wc.data_ptr(),
                loss_out.data_ptr(), gx.data_ptr(), xc.shape[0], CORRELATION_EPSILON, _scale,
                xc.dtype == torch.float64,
            )  # fmt: skip

        native: Tensor = _NativeScalar.apply(xc, compute)
        return _select(groups.valid, native)
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
    return _select(groups.valid, loss)


_ResolvedKernel = tuple[KernelFn, str | None, float]


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
    memo: _MembershipMemo | None,
    resolved: _ResolvedKernel | None = None,
) -> tuple[Tensor, _Groups, KernelFn, str | None, float]:
    policy = check_empty_group(empty_group, func=func)
    kfn, named, length = (
        resolved if resolved is not None else _resolve_kernel(kernel, kernel_length, func)
    )
    p, _, _, groups = _inputs(
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
    _memo: _MembershipMemo | None = None,
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
        return _zero_loss(p)
    if named is not None and _use_native(p):
        if chunk_size is not None:  # validated, but not needed: the kernel holds O(N) memory
            _rows_per_chunk(p.shape[0], 1, chunk_size, func)
        c = groups.c
        loss: Tensor = _NativeQuadratic.apply(
            p if p.is_contiguous() else p.contiguous(),
            c if c.is_contiguous() else c.contiguous(),
            named == "gaussian",
            length,
            _scale,
        )
        return _select(groups.valid, loss)
    loss = _kernel_gram(p, groups.c, kfn, named, length, chunk_size, func)
    if _scale != 1.0:
        loss = loss * _scale
    return _select(groups.valid, loss)


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
    _memo: _MembershipMemo | None = None,
    _resolved: _ResolvedKernel | None = None,
    _scale: float = 1.0,
) -> Tensor:
    func = "adjusted_mmd_loss"
    p, groups, kfn, named, length = _mmd_inputs(
        func, predictions, membership, weights, kernel, kernel_length,
        predictions_transform, empty_group, check_inputs, _memo, _resolved,
    )  # fmt: skip
    if groups.valid is False:
        return _zero_loss(p)
    a, b = groups.a, groups.b
    if named is not None and _use_native(p) and not (a.requires_grad or b.requires_grad):
        if chunk_size is not None:
            _rows_per_chunk(p.shape[0], 1, chunk_size, func)
        kernels = _native.pairwise()
        assert kernels is not None
        x = p if p.is_contiguous() else p.contiguous()
        a, b = a.contiguous(), b.contiguous()
        gaussian = named == "gaussian"

        def compute(loss: Tensor, gx: Tensor) -> None:
            kernels.adjusted(
                x.data_ptr(), a.data_ptr(), b.data_ptr(), loss.data_ptr(), gx.data_ptr(),
                x.shape[0], not gaussian,
                1.0 / (length * length) if gaussian else 1.0 / length, _exp_floor(x.dtype),
                -2.0 / (length * length) if gaussian else -1.0 / length,
                ADJUSTED_MMD_EPSILON, _scale, x.dtype == torch.float64,
            )  # fmt: skip

        native: Tensor = _NativeScalar.apply(x, compute)
        return _select(groups.valid, native)
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
    return _select(groups.valid, adjusted)


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
        self._memo = _MembershipMemo()

    def forward(self, predictions: Tensor, membership: Any, weights: Any = None) -> Tensor:
        """Compute the loss; see :func:`absolute_correlation_loss`."""
        return self._weighted(predictions, membership, weights, 1.0)

    def _weighted(
        self, predictions: Tensor, membership: Any, weights: Any, scale: float
    ) -> Tensor:
        """``scale * forward(...)``, with the scale fused into the kernel where it can be."""
        return _absolute_correlation(
            predictions,
            membership,
            weights,
            predictions_transform=self.predictions_transform,
            empty_group=self.empty_group,
            check_inputs=self.check_inputs,
            _memo=self._memo,
            _scale=scale,
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
        Check membership and weight values. The module remembers (by weak reference and
        version counter) the checked group weights of the last unweighted membership tensor,
        so a membership vector reused between steps, as :class:`~assay.fairness.remediation.MinDiffLoader` does, is
        checked once.

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
        self._memo = _MembershipMemo()
        self._resolved_cache: tuple[tuple[Any, float], _ResolvedKernel] | None = None

    def forward(self, predictions: Tensor, membership: Any, weights: Any = None) -> Tensor:
        """Compute the loss; see :func:`mmd_loss`."""
        return self._weighted(predictions, membership, weights, 1.0)

    def _resolved(self) -> _ResolvedKernel:
        """The kernel function, name and length, resolved once per (kernel, kernel_length)."""
        key = (self.kernel, self.kernel_length)
        cached = self._resolved_cache
        if cached is None or cached[0] != key:
            cached = (key, _resolve_kernel(self.kernel, self.kernel_length, self._func))
            self._resolved_cache = cached
        return cached[1]

    def _weighted(
        self, predictions: Tensor, membership: Any, weights: Any, scale: float
    ) -> Tensor:
        """``scale * forward(...)``, with the scale fused into the kernel where it can be."""
        return _mmd(
            predictions,
            membership,
            weights,
            kernel=self.kernel,
            kernel_length=self.kernel_length,
            predictions_transform=self.predictions_transform,
            chunk_size=self.chunk_size,
            empty_group=self.empty_group,
            check_inputs=self.check_inputs,
            _memo=self._memo,
            _resolved=self._resolved(),
            _scale=scale,
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
        return self._weighted(predictions, membership, weights, 1.0)

    def _weighted(
        self, predictions: Tensor, membership: Any, weights: Any, scale: float
    ) -> Tensor:
        return _adjusted_mmd(
            predictions,
            membership,
            weights,
            kernel=self.kernel,
            kernel_length=self.kernel_length,
            predictions_transform=self.predictions_transform,
            chunk_size=self.chunk_size,
            empty_group=self.empty_group,
            check_inputs=self.check_inputs,
            _memo=self._memo,
            _resolved=self._resolved(),
            _scale=scale,
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
