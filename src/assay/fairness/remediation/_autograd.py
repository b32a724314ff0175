r"""The ``torch.autograd.Function`` classes of the MinDiff losses: closed-form backward passes.

* :class:`NamedKernelGram` -- :math:`C^\top K C` for the Gaussian or Laplacian kernel in
  PyTorch (dense, or in row blocks that never hold the :math:`N \times N` matrix);
* :class:`NativeKernelGram` and :class:`NativeQuadratic` -- the same for one prediction
  column, by the compiled kernel;
* :class:`NativeScalar` -- any scalar loss whose value and gradient one compiled call writes
  (the adjusted MMD, the absolute correlation).

Each is differentiable once: the backward pass raises a clear error under
``create_graph=True``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from ._kernels import (
    gradient_factor,
    laplacian_r,
    mat_cols,
    named_block,
    native_kernel_sums,
    native_quadratic,
)

__all__ = ["NamedKernelGram", "NativeKernelGram", "NativeQuadratic", "NativeScalar"]

_NAMED_ONCE = (
    "The MinDiff MMD losses with a named kernel are differentiable once, not twice; "
    "for higher derivatives pass the kernel as a function, e.g. "
    "kernel=assay.fairness.remediation.gaussian_kernel."
)
_COMPILED_ONCE = (
    "This MinDiff loss is computed by a compiled kernel and is differentiable once, "
    "not twice; for higher derivatives switch the kernel off with "
    "`with assay._native.use_native(False):` (or ASSAY_NATIVE=0)."
)


class NamedKernelGram(torch.autograd.Function):
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
            k, aux = named_block(x, x, gaussian, length, x.requires_grad)
            u = torch.mv(k, c) if vector else mat_cols(k, c)
            saved.append(k)
            if aux is not None:
                saved.append(aux)
        else:
            parts = []
            for start in range(0, n, rows):
                kb, _ = named_block(x[start : start + rows], x, gaussian, length, False)
                parts.append(torch.mv(kb, c) if vector else mat_cols(kb, c))
            u = torch.cat(parts)
        ctx.gaussian, ctx.length, ctx.rows, ctx.vector = gaussian, length, rows, vector
        ctx.save_for_backward(x, c, u, *saved)
        return torch.dot(c, u) if vector else c.T @ u

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None, None, None]:
        if torch.is_grad_enabled():  # create_graph=True: this backward is not differentiable
            raise RuntimeError(_NAMED_ONCE)
        x, c, u, *dense = ctx.saved_tensors
        gaussian, length, rows, vector = ctx.gaussian, ctx.length, ctx.rows, ctx.vector
        n, d = x.shape
        alpha = gradient_factor(gaussian, length)
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
                t = torch.mv(laplacian_r(k, dense[1], True), c).mul_(c).mul_(grad * (2.0 * alpha))
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
                k, aux = named_block(x[start:stop], x, gaussian, length)
            if sign_form:  # sum_j K_ij sign(x_i - x_j) C_jl
                assert aux is not None
                term = mat_cols(laplacian_r(k, aux, True), c2).unsqueeze(2)  # (rows, m, 1)
            else:
                if gaussian:
                    r, rc = k, u2[start:stop]
                else:
                    assert aux is not None
                    r = laplacian_r(k, aux, False)
                    rc = mat_cols(r, c2)
                assert cx is not None
                term = x[start:stop].unsqueeze(1) * rc.unsqueeze(2)
                term = term - mat_cols(r, cx).reshape(stop - start, m, d)
            parts.append((p[start:stop].unsqueeze(2) * term).sum(dim=1))
        grad_x = parts[0] if len(parts) == 1 else torch.cat(parts)
        return grad_x, grad_c, None, None, None


class NativeKernelGram(torch.autograd.Function):
    r""":math:`G = C^\top K C` for one prediction column, by the compiled kernel.

    The compiled kernel (``assay/_native/_pairwise.c``) makes one pass over the upper
    triangle of the kernel matrix without storing it and returns, per column :math:`l`,
    :math:`U_{il} = \sum_j K_{ij} C_{jl}` and :math:`V_{il} = \sum_j K_{ij} C_{jl} g_{ij}`
    with :math:`g_{ij} = x_i - x_j` (Gaussian) or :math:`\operatorname{sign}(x_i - x_j)`
    (Laplacian). Then :math:`G = C^\top U` and, as in :class:`NamedKernelGram`, with
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
        native_kernel_sums(xv, cm, u, v, gaussian=gaussian, length=length)
        ctx.alpha = gradient_factor(gaussian, length)
        ctx.vector = vector
        ctx.save_for_backward(cm, u, v)
        return torch.dot(cm[0], u[0]) if vector else cm @ u.T

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None, None]:
        if torch.is_grad_enabled():
            raise RuntimeError(_NAMED_ONCE)
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


class NativeQuadratic(torch.autograd.Function):
    r"""``weight * c^T K c`` for one prediction column and a vector ``c``: the MMD's fast path.

    One call of the compiled kernel returns the value and both gradients
    (:math:`\bar x_i = 2\alpha\, c_i V_i`, :math:`\bar c = 2 U`, see
    :class:`NativeKernelGram`), so the backward pass is a single multiplication.
    """

    @staticmethod
    def forward(
        ctx: Any, x: Tensor, c: Tensor, gaussian: bool, length: float, weight: float
    ) -> Tensor:
        gx = torch.empty_like(x)
        loss = x.new_empty(())
        uc = torch.empty_like(c) if ctx.needs_input_grad[1] else None
        native_quadratic(x, c, loss, gx, uc, gaussian=gaussian, length=length, weight=weight)
        ctx.save_for_backward(gx, uc)
        return loss

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None, None, None]:
        if torch.is_grad_enabled():
            raise RuntimeError(_NAMED_ONCE)
        gx, uc = ctx.saved_tensors
        grad_x = gx * grad if ctx.needs_input_grad[0] else None
        grad_c = uc * grad if uc is not None else None
        return grad_x, grad_c, None, None, None


class NativeScalar(torch.autograd.Function):
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
            raise RuntimeError(_COMPILED_ONCE)
        (gx,) = ctx.saved_tensors
        return gx * grad, None
