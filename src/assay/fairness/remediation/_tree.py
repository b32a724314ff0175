"""Concatenate input batches and split model outputs, for one fused forward pass."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import torch
from torch import Tensor, nn

from assay._util.validation import param_error, param_type_error

FuseForward = bool | Literal["auto"]

_BATCH_NORMS = (nn.modules.batchnorm._BatchNorm, nn.SyncBatchNorm)


def resolve_fuse(fuse: Any, model: Any, *, func: str) -> bool:
    """Decide whether to run the model once on concatenated batches.

    ``"auto"`` fuses unless ``model`` contains batch-norm layers: in training mode their
    batch statistics would mix the task and the MinDiff (or counterfactual) examples.
    """
    if fuse == "auto":
        if isinstance(model, nn.Module):
            return not any(isinstance(m, _BATCH_NORMS) for m in model.modules())
        return True
    if isinstance(fuse, bool):
        return fuse
    raise param_error("fuse_forward", "one of {'auto', True, False}", fuse, func=func)


def batch_size(batch: Any, *, func: str, param: str = "inputs") -> int:
    """Number of examples in a tensor, or in the first tensor of a tuple / list / dict."""
    if isinstance(batch, Tensor):
        if batch.ndim == 0:
            raise param_error(param, "a tensor with a batch dimension", batch, func=func)
        return int(batch.shape[0])
    if isinstance(batch, Mapping) and batch:
        return batch_size(next(iter(batch.values())), func=func, param=param)
    if isinstance(batch, Sequence) and not isinstance(batch, str) and batch:
        return batch_size(batch[0], func=func, param=param)
    raise param_type_error(
        param, "a tensor, or a non-empty tuple, list or dict of tensors", batch, func=func
    )


def concat_inputs(batches: Sequence[Any], *, func: str) -> tuple[Any, list[int]]:
    """Concatenate batches of the same structure along dimension 0; return it and the sizes."""
    sizes = [batch_size(b, func=func) for b in batches]
    first = batches[0]
    if isinstance(first, Tensor):
        tensors = [_tensor(b, func) for b in batches]
        view = _adjacent_views(tensors)
        if view is not None:
            return view, sizes
        return torch.cat(tensors, dim=0), sizes
    if isinstance(first, Mapping):
        keys = list(first.keys())
        joined = {k: torch.cat([_tensor(b[k], func) for b in batches], dim=0) for k in keys}
        return joined, sizes
    if isinstance(first, Sequence) and not isinstance(first, str):
        parts = [
            torch.cat([_tensor(b[i], func) for b in batches], dim=0) for i in range(len(first))
        ]
        return (list(parts) if isinstance(first, list) else tuple(parts)), sizes
    raise param_type_error(
        "inputs", "a tensor, or a tuple, list or dict of tensors", first, func=func
    )


def _adjacent_views(tensors: Sequence[Tensor]) -> Tensor | None:
    """The concatenation of ``tensors`` as a view, if they lie back to back in one storage.

    :class:`~assay.fairness.remediation.MinDiffLoader` gathers the task and MinDiff inputs
    into one buffer, so joining them for the fused forward pass needs no copy. Only for
    tensors that do not require gradients (a view would not route them to each part).
    """
    first = tensors[0]
    if first.requires_grad or not first.is_contiguous():
        return None
    base = first._base
    offset = first.storage_offset() + first.numel()
    total = int(first.shape[0])
    for t in tensors[1:]:
        if (
            t.requires_grad
            or t.dtype != first.dtype
            or t.shape[1:] != first.shape[1:]
            or not t.is_contiguous()
            or t.storage_offset() != offset
        ):
            return None
        # one storage: views of one base (cheap), or else the storages compared
        if (base is None or t._base is not base) and (
            t.device != first.device
            or t.untyped_storage().data_ptr() != first.untyped_storage().data_ptr()
        ):
            return None
        offset += t.numel()
        total += int(t.shape[0])
    if first.ndim == 0 or first.numel() == 0:
        return None
    return first.as_strided((total, *first.shape[1:]), first.stride(), first.storage_offset())


def _tensor(x: Any, func: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise param_type_error("inputs", "tensors of one structure in every batch", x, func=func)
    return x


def split_outputs(outputs: Any, sizes: Sequence[int]) -> list[Any]:
    """Split a model's outputs (tensor, tuple / list / dict of tensors) by ``sizes``."""
    if isinstance(outputs, Tensor):
        return list(torch.split(outputs, list(sizes), dim=0))
    if isinstance(outputs, Mapping):
        pieces = {k: split_outputs(v, sizes) for k, v in outputs.items()}
        return [{k: v[i] for k, v in pieces.items()} for i in range(len(sizes))]
    if isinstance(outputs, Sequence) and not isinstance(outputs, str):
        columns = [split_outputs(v, sizes) for v in outputs]
        return [type(outputs)(col[i] for col in columns) for i in range(len(sizes))]  # type: ignore[call-arg]
    raise TypeError(
        f"Cannot split model outputs of type {type(outputs).__name__}; "
        "return a tensor, or a tuple, list or dict of tensors, or pass fuse_forward=False."
    )
