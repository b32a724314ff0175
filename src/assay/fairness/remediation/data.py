"""MinDiff data: the two group sets, and a loader pairing task batches with MinDiff batches.

MinDiff compares the model's predictions on two sets of examples that *should* be treated
alike: usually the examples of one label value, split by the sensitive attribute. To close
a false-positive-rate gap, compare the groups' predictions on negatives (``label_value=0``);
to close a false-negative-rate gap, on positives (``label_value=1``).

Everything random here takes an explicit ``torch.Generator`` (or a seed to make one); no
global random state is read or changed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from assay._util.validation import check_int, param_error, param_type_error

from ._checks import check_weights, shown

__all__ = [
    "MinDiffBatch",
    "MinDiffLoader",
    "MinDiffSets",
    "build_mindiff_sets",
    "pack_mindiff_batch",
    "to_tensor",
]


class MinDiffBatch(NamedTuple):
    """One MinDiff batch: sensitive-group examples followed by the other group's.

    Attributes
    ----------
    inputs : Tensor (or tuple / dict of tensors)
        Model inputs, shape ``(M, ...)``.
    membership : Tensor
        Shape ``(M,)``, 1.0 for the sensitive group and 0.0 for the other.
    weights : Tensor, optional
        Non-negative MinDiff example weights, shape ``(M,)``.
    """

    inputs: Any
    membership: Tensor
    weights: Tensor | None = None


class MinDiffSets(NamedTuple):
    """The two MinDiff example sets, each a ``TensorDataset`` of ``(inputs,)`` or ``(inputs, weights)``."""

    sensitive: TensorDataset
    nonsensitive: TensorDataset


def to_tensor(
    x: Any, *, dtype: torch.dtype = torch.float32, param: str = "x", func: str = "to_tensor"
) -> Tensor:
    """Return ``x`` as a tensor: tensors unchanged, NumPy / array-likes converted.

    Floating-point arrays become ``dtype`` (float32 by default, as model parameters usually
    are); integer and boolean arrays keep their kind.
    """
    if isinstance(x, Tensor):
        return x
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:  # pragma: no cover - exotic inputs
        raise param_type_error(param, "a tensor or an array-like", x, func=func) from exc
    if arr.dtype.kind == "f":
        return torch.as_tensor(arr, dtype=dtype)
    if arr.dtype.kind in "biu":
        return torch.as_tensor(arr)
    raise param_type_error(param, "a numeric tensor or array", x, func=func)


def _as_tensors(data: Any, *, func: str, param: str, dtype: torch.dtype) -> tuple[Tensor, ...]:
    if isinstance(data, TensorDataset):
        tensors = tuple(data.tensors)
    elif isinstance(data, Tensor | np.ndarray):
        tensors = (to_tensor(data, dtype=dtype, param=param, func=func),)
    elif isinstance(data, Sequence) and not isinstance(data, str) and len(data) > 0:
        tensors = tuple(to_tensor(t, dtype=dtype, param=param, func=func) for t in data)
    else:
        raise param_type_error(
            param,
            "a TensorDataset, a tensor / array, or a tuple of tensors / arrays",
            data,
            func=func,
        )
    n = tensors[0].shape[0] if tensors[0].ndim else -1
    for t in tensors:
        if t.ndim == 0 or t.shape[0] != n:
            raise param_error(
                param,
                "tensors with the same number of rows",
                shown("shapes " + ", ".join(str(tuple(u.shape)) for u in tensors)),
                func=func,
            )
    return tensors


def _group_mask(values: np.ndarray, chosen: Any) -> np.ndarray:
    if isinstance(chosen, Sequence | np.ndarray) and not isinstance(chosen, str | bytes):
        return np.isin(values, list(chosen))
    return np.asarray(values == chosen, dtype=bool)


def build_mindiff_sets(
    data: Any,
    sensitive: Any,
    *,
    labels: Any = None,
    label_value: Any = 0,
    sensitive_value: Any = None,
    nonsensitive_value: Any = None,
    weights: Any = None,
    dtype: torch.dtype = torch.float32,
) -> MinDiffSets:
    """Split a data set into the sensitive-group and the other-group MinDiff sets.

    Parameters
    ----------
    data : TensorDataset, tensor / array, or tuple of tensors / arrays
        The task data. Its first tensor is the model input; when ``labels`` is not given its
        second tensor is the label.
    sensitive : int or array-like of shape (N,)
        The sensitive attribute: an index into the columns of the (2-D) input, or a
        separate array (booleans, 0/1, or group values such as strings).
    labels : array-like of shape (N,), optional
        Labels to condition on; by default ``data``'s second tensor.
    label_value : scalar or None, default 0
        Keep only examples with this label: 0 (negatives) to close a false-positive-rate
        gap, 1 (positives) for a false-negative-rate gap; ``None`` keeps every example.
    sensitive_value : scalar or sequence, optional
        The value(s) of ``sensitive`` that mark the sensitive group. Without it
        ``sensitive`` must be boolean or 0/1, and 1 / ``True`` is the sensitive group.
    nonsensitive_value : scalar or sequence, optional
        The value(s) that make up the comparison group (e.g. ``"Caucasian"``); by default
        every example not in the sensitive group.
    weights : array-like of shape (N,), optional
        Non-negative MinDiff weights, carried as the sets' second tensor.
    dtype : torch.dtype, default torch.float32
        Dtype for floating-point NumPy inputs.

    Returns
    -------
    MinDiffSets
        ``(sensitive, nonsensitive)`` ``TensorDataset``s of ``(inputs,)`` or
        ``(inputs, weights)``.

    Raises
    ------
    ValueError
        If the lengths disagree, ``sensitive`` is not 0/1 without ``sensitive_value``, or
        either set is empty.
    """
    func = "build_mindiff_sets"
    tensors = _as_tensors(data, func=func, param="data", dtype=dtype)
    x = tensors[0]
    n = int(x.shape[0])

    if isinstance(sensitive, int | np.integer) and not isinstance(sensitive, bool):
        if x.ndim != 2 or not -x.shape[1] <= int(sensitive) < x.shape[1]:
            raise param_error(
                "sensitive",
                "a column index of the 2-D input or an array with one value per example",
                sensitive,
                func=func,
            )
        groups = x[:, int(sensitive)].detach().cpu().numpy()
    else:
        groups = (
            sensitive.detach().cpu().numpy()
            if isinstance(sensitive, Tensor)
            else np.asarray(sensitive)
        )
        if groups.ndim == 2 and groups.shape[1] == 1:
            groups = groups[:, 0]
        if groups.ndim != 1 or groups.shape[0] != n:
            raise param_error(
                "sensitive",
                f"an array with one value per example ({n})",
                shown(f"shape {groups.shape}"),
                func=func,
            )

    if sensitive_value is None:
        if groups.dtype.kind not in "biuf" or not np.all((groups == 0) | (groups == 1)):
            raise param_error(
                "sensitive",
                "boolean or 0/1 (or give sensitive_value)",
                shown(f"values {np.unique(groups)[:5].tolist()}"),
                func=func,
            )
        in_sensitive = groups == 1
    else:
        in_sensitive = _group_mask(groups, sensitive_value)
    in_other = (
        ~in_sensitive
        if nonsensitive_value is None
        else _group_mask(groups, nonsensitive_value) & ~in_sensitive
    )

    keep = np.ones(n, dtype=bool)
    if label_value is not None:
        if labels is None:
            if len(tensors) < 2:
                raise param_error(
                    "labels", "given when 'data' has no label tensor", None, func=func
                )
            y = tensors[1]
        else:
            y = to_tensor(labels, dtype=dtype, param="labels", func=func)
        y_np = y.detach().cpu().numpy()
        if y_np.ndim == 2 and y_np.shape[1] == 1:
            y_np = y_np[:, 0]
        if y_np.ndim != 1 or y_np.shape[0] != n:
            raise param_error(
                "labels",
                f"an array with one label per example ({n})",
                shown(f"shape {y_np.shape}"),
                func=func,
            )
        keep = y_np == label_value

    extra: tuple[Tensor, ...] = ()
    if weights is not None:
        w = to_tensor(weights, dtype=dtype, param="weights", func=func)
        if w.ndim != 1 or w.shape[0] != n:
            raise param_error(
                "weights",
                f"an array with one weight per example ({n})",
                shown(f"shape {tuple(w.shape)}"),
                func=func,
            )
        check_weights(w, func=func)
        extra = (w,)

    sets = []
    for name, mask in (("sensitive", in_sensitive & keep), ("nonsensitive", in_other & keep)):
        idx = torch.as_tensor(np.flatnonzero(mask), device=x.device)
        if idx.numel() == 0:
            raise param_error(
                "data",
                f"data with at least one {name}-group example"
                + ("" if label_value is None else f" with label {label_value!r}"),
                shown("none"),
                func=func,
            )
        sets.append(
            TensorDataset(
                x.index_select(0, idx), *(e.index_select(0, idx.to(e.device)) for e in extra)
            )
        )
    return MinDiffSets(sets[0], sets[1])


def pack_mindiff_batch(
    sensitive_inputs: Tensor, nonsensitive_inputs: Tensor, weights: Tensor | None = None
) -> MinDiffBatch:
    """Concatenate the two groups' inputs and build the membership vector (1s, then 0s)."""
    n_s, n_t = int(sensitive_inputs.shape[0]), int(nonsensitive_inputs.shape[0])
    inputs = torch.cat([sensitive_inputs, nonsensitive_inputs], dim=0)
    dtype = inputs.dtype if inputs.is_floating_point() else torch.float32
    membership = torch.cat(
        [
            torch.ones(n_s, dtype=dtype, device=inputs.device),
            torch.zeros(n_t, dtype=dtype, device=inputs.device),
        ]
    )
    return MinDiffBatch(inputs, membership, weights)


class _Cycler:
    """An endless stream of indices into ``n`` examples: a fresh permutation per pass."""

    def __init__(self, n: int, shuffle: bool, generator: torch.Generator) -> None:
        self.n = n
        self.shuffle = shuffle
        self.generator = generator
        self.order = self._new_order()
        self.pos = 0

    def _new_order(self) -> Tensor:
        if self.shuffle:
            return torch.randperm(self.n, generator=self.generator)
        return torch.arange(self.n)

    def take(self, k: int) -> Tensor:
        parts = []
        while k > 0:
            if self.pos >= self.n:
                self.order = self._new_order()
                self.pos = 0
            step = min(k, self.n - self.pos)
            parts.append(self.order[self.pos : self.pos + step])
            self.pos += step
            k -= step
        return parts[0] if len(parts) == 1 else torch.cat(parts)


class MinDiffLoader:
    """Yield ``(task_batch, mindiff_batch)`` pairs for MinDiff training.

    One pass over the task data is one epoch; the two MinDiff sets are drawn from endlessly,
    each reshuffled whenever it runs out (so the smaller sets are cycled). Batches are built
    by indexing whole tensors, which is much faster than a ``DataLoader`` collating single
    examples. Every MinDiff batch shares one membership tensor (the group sizes are fixed),
    which the loss modules check once; do not modify it in place.

    Parameters
    ----------
    task : TensorDataset, tensor / array, or tuple of tensors / arrays
        The task data, e.g. ``(x, y)`` or ``(x, y, sample_weight)``.
    mindiff : MinDiffSets
        From :func:`build_mindiff_sets`.
    batch_size : int
        Task examples per batch.
    mindiff_batch_size : int or (int, int), optional
        MinDiff examples per batch: a total split evenly between the groups (the sensitive
        group gets the odd one), or ``(sensitive, nonsensitive)``. Defaults to
        ``batch_size``.
    shuffle : bool, default True
        Shuffle the task data each epoch and the MinDiff sets each pass.
    drop_last : bool, default False
        Drop the last, smaller task batch.
    generator : torch.Generator, optional
        The source of randomness; by default a new CPU generator seeded with ``seed``. Its
        state advances across epochs, so a new loader with the same seed replays the same
        sequence of epochs.
    seed : int, default 0
        Seed of the default generator.
    dtype : torch.dtype, default torch.float32
        Dtype for floating-point NumPy inputs.

    Examples
    --------
    >>> import torch
    >>> x, y = torch.randn(10, 3, generator=torch.Generator().manual_seed(0)), torch.arange(10) % 2
    >>> sets = build_mindiff_sets((x, y), sensitive=(torch.arange(10) < 5), label_value=0)
    >>> loader = MinDiffLoader((x, y), sets, batch_size=4)
    >>> (xb, yb), md = next(iter(loader))
    >>> xb.shape, md.inputs.shape, md.membership.tolist()
    (torch.Size([4, 3]), torch.Size([4, 3]), [1.0, 1.0, 0.0, 0.0])
    """

    def __init__(
        self,
        task: Any,
        mindiff: MinDiffSets,
        *,
        batch_size: int,
        mindiff_batch_size: int | tuple[int, int] | None = None,
        shuffle: bool = True,
        drop_last: bool = False,
        generator: torch.Generator | None = None,
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        func = "MinDiffLoader"
        self.task = _as_tensors(task, func=func, param="task", dtype=dtype)
        if not isinstance(mindiff, tuple) or len(mindiff) != 2:
            raise param_type_error(
                "mindiff", "a MinDiffSets from build_mindiff_sets", mindiff, func=func
            )
        self.sensitive = _as_tensors(mindiff[0], func=func, param="mindiff", dtype=dtype)
        self.nonsensitive = _as_tensors(mindiff[1], func=func, param="mindiff", dtype=dtype)
        for t in (self.sensitive, self.nonsensitive):
            if t[0].shape[0] == 0:
                raise param_error("mindiff", "two non-empty sets", shown("an empty set"), func=func)
        self.batch_size = check_int("batch_size", batch_size, minimum=1, func=func)
        if mindiff_batch_size is None:
            mindiff_batch_size = self.batch_size
        if isinstance(mindiff_batch_size, tuple):
            if len(mindiff_batch_size) != 2:
                raise param_error(
                    "mindiff_batch_size", "an int or a pair of ints", mindiff_batch_size, func=func
                )
            n_s = check_int("mindiff_batch_size", mindiff_batch_size[0], minimum=1, func=func)
            n_t = check_int("mindiff_batch_size", mindiff_batch_size[1], minimum=1, func=func)
        else:
            total = check_int("mindiff_batch_size", mindiff_batch_size, minimum=2, func=func)
            n_s, n_t = total - total // 2, total // 2
        self.group_batch_sizes = (n_s, n_t)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        if generator is None:
            generator = torch.Generator().manual_seed(check_int("seed", seed, func=func))
        elif not isinstance(generator, torch.Generator):
            raise param_type_error("generator", "a torch.Generator or None", generator, func=func)
        self.generator = generator
        self._cyclers = (
            _Cycler(int(self.sensitive[0].shape[0]), self.shuffle, generator),
            _Cycler(int(self.nonsensitive[0].shape[0]), self.shuffle, generator),
        )
        # One membership vector for every batch (the group sizes never change); the loss
        # modules recognise it and skip re-checking it. Do not modify it in place.
        x_s = self.sensitive[0]
        dtype = x_s.dtype if x_s.is_floating_point() else torch.float32
        self._membership = torch.cat(
            [
                torch.ones(n_s, dtype=dtype, device=x_s.device),
                torch.zeros(n_t, dtype=dtype, device=x_s.device),
            ]
        )

    @property
    def num_examples(self) -> int:
        """Number of task examples."""
        return int(self.task[0].shape[0])

    def __len__(self) -> int:
        n, b = self.num_examples, self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def _mindiff_batch(self, task_rows: Tensor | None = None) -> tuple[Tensor | None, MinDiffBatch]:
        """Draw a MinDiff batch; with ``task_rows``, also gather the task inputs.

        When the task inputs and the MinDiff inputs have one dtype, device and row shape,
        the task rows, the sensitive rows and the other rows are gathered into consecutive
        parts of one buffer: the task inputs and the MinDiff inputs are then adjacent views,
        which :class:`~assay.fairness.remediation.MinDiffModel` joins for its fused forward
        pass without copying them again.
        """
        idx = [cycler.take(k) for cycler, k in zip(self._cyclers, self.group_batch_sizes, strict=True)]
        sources = (self.sensitive, self.nonsensitive)
        inputs = [self.task[0]] if task_rows is not None else []
        inputs += [src[0] for src in sources]
        rows = ([task_rows] if task_rows is not None else []) + idx
        first = inputs[0]
        if all(
            t.dtype == first.dtype and t.device == first.device and t.shape[1:] == first.shape[1:]
            for t in inputs
        ):
            sizes = [int(r.shape[0]) for r in rows]
            joint = first.new_empty((sum(sizes), *first.shape[1:]))
            parts = list(torch.split(joint, sizes))
            for t, r, out in zip(inputs, rows, parts, strict=True):
                torch.index_select(t, 0, r.to(t.device), out=out)
            task_x = parts[0] if task_rows is not None else None
            md_inputs = joint[sizes[0] :] if task_rows is not None else joint
        else:
            task_x = self.task[0][task_rows.to(self.task[0].device)] if task_rows is not None else None
            gathered = [src[0][r.to(src[0].device)] for src, r in zip(sources, idx, strict=True)]
            md_inputs = torch.cat(gathered, dim=0)
        weights = None
        if len(self.sensitive) > 1 and len(self.nonsensitive) > 1:
            weights = torch.cat(
                [src[1][r.to(src[1].device)] for src, r in zip(sources, idx, strict=True)]
            )
        return task_x, MinDiffBatch(md_inputs, self._membership, weights)

    def __iter__(self) -> Iterator[tuple[tuple[Tensor, ...], MinDiffBatch]]:
        n = self.num_examples
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator)
        else:
            order = torch.arange(n)
        for i in range(len(self)):
            idx = order[i * self.batch_size : (i + 1) * self.batch_size]
            task_x, md = self._mindiff_batch(idx)
            assert task_x is not None
            rest = tuple(t[idx.to(t.device)] for t in self.task[1:])
            yield (task_x, *rest), md
