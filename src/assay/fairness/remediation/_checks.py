"""Input checks shared by the remediation losses, with the project's standard messages.

Every error follows ``assay._util.validation``: ``The 'x' parameter of f must be ...
Got ... instead.``
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor

from assay._util.validation import check_choice, param_error, param_type_error

EmptyGroup = Literal["zero", "raise"]
EMPTY_GROUP_CHOICES: tuple[str, ...] = ("zero", "raise")


class _Shown(str):
    """A string whose ``repr`` is itself, so that ``Got ... instead.`` reads naturally."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


def shown(text: str) -> _Shown:
    """Wrap a description so that the standard messages print it without quotes."""
    return _Shown(text)


def _fmt(value: float) -> str:
    return f"{value:g}"


def as_2d(predictions: Any, *, param: str, func: str) -> Tensor:
    """Return ``predictions`` as a floating tensor of shape ``(N, D)``.

    A 1-D tensor of shape ``(N,)`` becomes ``(N, 1)``; a 2-D tensor is kept.
    """
    if not isinstance(predictions, Tensor):
        raise param_type_error(param, "a torch.Tensor", predictions, func=func)
    if predictions.ndim == 1:
        predictions = predictions.unsqueeze(1)
    elif predictions.ndim != 2:
        raise param_error(
            param,
            "a tensor of shape (N,) or (N, D)",
            shown(f"shape {tuple(predictions.shape)}"),
            func=func,
        )
    if not predictions.is_floating_point():
        raise param_error(
            param, "a floating-point tensor", shown(f"dtype {predictions.dtype}"), func=func
        )
    return predictions


def as_vector(values: Any, n: int, *, param: str, func: str, like: Tensor, what: str) -> Tensor:
    """Return ``values`` as a 1-D tensor of length ``n`` with ``like``'s dtype and device.

    Accepts shape ``(n,)`` or ``(n, 1)``, and array-likes (converted with ``torch.as_tensor``).
    """
    if not isinstance(values, Tensor):
        try:
            values = torch.as_tensor(values)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise param_type_error(param, f"a tensor of {what}", values, func=func) from exc
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1 or values.shape[0] != n:
        raise param_error(
            param,
            f"a tensor of {what} with one entry per prediction ({n})",
            shown(f"shape {tuple(values.shape)}"),
            func=func,
        )
    return values.to(dtype=like.dtype, device=like.device)


def check_membership(membership: Tensor, *, func: str) -> None:
    """Raise unless every entry of ``membership`` is 0 or 1 (1 = sensitive group)."""
    # 0/1 exactly when casting to bool and back changes nothing (NaN becomes 1, so fails).
    if not torch.equal(membership, membership.bool().to(membership.dtype)):
        bad = (membership != 0) & (membership != 1)
        first = float(membership[bad][0])
        raise param_error(
            "membership",
            "a tensor of 0/1 values (1 = sensitive group)",
            shown(f"a tensor containing {_fmt(first)}"),
            func=func,
        )


def check_weights(weights: Tensor, *, func: str, param: str = "weights") -> None:
    """Raise unless every weight is finite and non-negative."""
    bad = ~torch.isfinite(weights) | (weights < 0)
    if bool(bad.any()):
        first = float(weights[bad][0])
        raise param_error(
            param,
            "a tensor of finite, non-negative weights",
            shown(f"a tensor containing {_fmt(first)}"),
            func=func,
        )


def check_empty_group(empty_group: Any, *, func: str) -> EmptyGroup:
    """Validate the ``empty_group`` policy."""
    return check_choice("empty_group", empty_group, EMPTY_GROUP_CHOICES, func=func)


def raise_if_group_empty(
    sensitive_weight: float | Tensor, nonsensitive_weight: float | Tensor, *, func: str
) -> None:
    """Raise if either group has no examples or zero total weight."""
    s, t = float(sensitive_weight), float(nonsensitive_weight)
    if s <= 0 or t <= 0:
        raise param_error(
            "membership",
            "a tensor with examples of positive total weight in both groups "
            "(or pass empty_group='zero')",
            shown(f"total weight {_fmt(s)} in the sensitive group and {_fmt(t)} in the other"),
            func=func,
        )


def check_positive_float(param: str, value: Any, *, func: str) -> float:
    """Return ``value`` as a float if it is a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise param_type_error(param, "a float > 0", value, func=func)
    if not (float(value) > 0 and float(value) < float("inf")):
        raise param_error(param, "a float > 0", value, func=func)
    return float(value)


def check_nonnegative_float(param: str, value: Any, *, func: str) -> float:
    """Return ``value`` as a float if it is a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise param_type_error(param, "a float >= 0", value, func=func)
    if not (float(value) >= 0 and float(value) < float("inf")):
        raise param_error(param, "a float >= 0", value, func=func)
    return float(value)
