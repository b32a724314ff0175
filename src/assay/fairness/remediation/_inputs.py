"""The inputs of a MinDiff loss: transformed and checked predictions, and the group weights.

:func:`loss_inputs` applies the optional predictions transform, checks the predictions,
membership and weights (with the messages of :mod:`._checks`), and derives the within-group
weights (:class:`Groups`); a loss module remembers them for a reused membership tensor
(:class:`MembershipMemo`). :func:`zero_loss` and :func:`select` give the loss of a batch in
which a group is empty.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from assay._util.validation import param_type_error

from ._checks import (
    EmptyGroup,
    as_2d,
    as_vector,
    check_membership,
    check_weights,
    raise_if_group_empty,
)

__all__ = [
    "Groups",
    "MembershipMemo",
    "group_weights",
    "loss_inputs",
    "select",
    "transform",
    "zero_loss",
]


def transform(
    predictions: Tensor, predictions_transform: Callable[[Tensor], Tensor] | None, func: str
) -> Tensor:
    """Apply ``predictions_transform`` (if any); return the predictions as ``(N, D)``.

    Half precision is computed in float32.
    """
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


def loss_inputs(
    predictions: Tensor,
    membership: Any,
    weights: Any,
    predictions_transform: Callable[[Tensor], Tensor] | None,
    policy: EmptyGroup,
    *,
    func: str,
    check_inputs: bool,
    memo: MembershipMemo | None = None,
) -> tuple[Tensor, Tensor, Tensor | None, Groups]:
    """Transform and check the inputs; return ``(p (N, D), s (N,), w (N,) or None, groups)``."""
    p = transform(predictions, predictions_transform, func)
    n = p.shape[0]
    if check_inputs:
        bad = int((~torch.isfinite(p.detach())).sum())
        if bad:
            raise ValueError(
                f"The 'predictions' argument of {func} must be finite numbers. Got {bad} NaN "
                f"or infinite value(s) among {p.numel()}: check the model's outputs (a "
                "diverged step gives NaN), or pass check_inputs=False to skip the checks "
                "(the loss is then NaN)."
            )
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
    groups = group_weights(s, w, policy, func=func, host=check_inputs)
    if memo is not None and w is None:
        memo.store(membership, n, p.dtype, p.device, policy, check_inputs, s, groups)
    return p, s, w, groups


class MembershipMemo:
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
        self._value: tuple[Tensor, Groups] | None = None

    def lookup(
        self, membership: Any, n: int, dtype: torch.dtype, device: torch.device, *key: Any
    ) -> tuple[Tensor, Groups] | None:
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
        groups: Groups,
    ) -> None:
        if not isinstance(membership, Tensor) or membership.requires_grad:
            return
        self._ref = weakref.ref(membership)
        self._version = membership._version
        self._key = (n, dtype, device, policy, check_inputs)
        self._value = (s, groups)


class Groups:
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


def group_weights(
    s: Tensor, w: Tensor | None, policy: EmptyGroup, *, func: str, host: bool
) -> Groups:
    """The within-group weights of membership ``s`` and weights ``w`` (``None``: all ones).

    ``host``: the inputs were checked (so synchronised), and unweighted group sizes are
    counted on the host.
    """
    tiny = torch.finfo(s.dtype).tiny
    if w is None and host:
        # Unweighted, inputs already synchronised by the checks: counts on the host.
        n_s = float(s.sum())
        n_t = s.shape[0] - n_s
        if policy == "raise":
            raise_if_group_empty(n_s, n_t, func=func)
        if n_s <= 0 or n_t <= 0:
            zero = torch.zeros_like(s)
            return Groups(False, a=zero, b=zero)
        return Groups(True, s=s, inv=(1.0 / n_s, 1.0 / n_t))
    ws = s if w is None else w * s
    wt = (1.0 - s) if w is None else w - ws
    total_s, total_t = ws.sum(), wt.sum()
    if policy == "raise":
        raise_if_group_empty(float(total_s), float(total_t), func=func)
    a = ws / total_s.clamp_min(tiny)
    b = wt / total_t.clamp_min(tiny)
    return Groups(torch.minimum(total_s, total_t) > 0, a=a, b=b)


def zero_loss(p: Tensor) -> Tensor:
    """A zero scalar in ``p``'s graph, with a zero gradient (NaN-safe)."""
    return p.masked_fill(torch.ones_like(p, dtype=torch.bool), 0.0).sum()


def select(valid: bool | Tensor, loss: Tensor) -> Tensor:
    if isinstance(valid, bool):
        return loss
    return torch.where(valid, loss, loss.new_zeros(()))
