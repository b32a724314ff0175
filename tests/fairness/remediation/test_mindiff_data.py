"""MinDiff data helpers: building the two group sets and the paired loader."""

from __future__ import annotations

import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch.utils.data import TensorDataset  # noqa: E402

from assay.fairness.remediation import (  # noqa: E402
    MinDiffBatch,
    MinDiffLoader,
    build_mindiff_sets,
    pack_mindiff_batch,
)


def _data(n: int = 20):
    x = torch.arange(n * 3, dtype=torch.float32).reshape(n, 3)
    y = (torch.arange(n) % 2).float()  # odd rows positive
    group = (torch.arange(n) < n // 2).long()  # first half sensitive
    x[:, 2] = group.float()
    return x, y, group


def test_build_sets_negatives_positives_and_all():
    x, y, group = _data()
    sets = build_mindiff_sets((x, y), group, label_value=0)
    sens, other = sets.sensitive.tensors[0], sets.nonsensitive.tensors[0]
    # negatives = even rows; sensitive = rows 0..9
    np.testing.assert_array_equal(sens[:, 0].numpy() / 3, [0, 2, 4, 6, 8])
    np.testing.assert_array_equal(other[:, 0].numpy() / 3, [10, 12, 14, 16, 18])
    sets = build_mindiff_sets(TensorDataset(x, y), group, label_value=1)
    np.testing.assert_array_equal(sets.sensitive.tensors[0][:, 0].numpy() / 3, [1, 3, 5, 7, 9])
    sets = build_mindiff_sets(x, group, label_value=None)
    assert len(sets.sensitive) == 10 and len(sets.nonsensitive) == 10


def test_build_sets_from_feature_column_and_numpy():
    x, y, group = _data()
    by_column = build_mindiff_sets((x.numpy().astype(np.float64), y.numpy()), 2, label_value=0)
    by_array = build_mindiff_sets((x, y), group.numpy().astype(bool), label_value=0)
    assert by_column.sensitive.tensors[0].dtype == torch.float32
    torch.testing.assert_close(by_column.sensitive.tensors[0], by_array.sensitive.tensors[0])
    torch.testing.assert_close(by_column.nonsensitive.tensors[0], by_array.nonsensitive.tensors[0])


def test_build_sets_with_group_values_and_weights():
    x, _, _ = _data(8)
    race = np.array(["A", "B", "C", "A", "B", "C", "A", "B"], dtype=object)
    weights = np.arange(8, dtype=float) + 1
    sets = build_mindiff_sets(
        x,
        race,
        labels=np.zeros(8),
        label_value=0,
        sensitive_value="A",
        nonsensitive_value="B",
        weights=weights,
    )
    np.testing.assert_array_equal(sets.sensitive.tensors[0][:, 0].numpy() / 3, [0, 3, 6])
    np.testing.assert_array_equal(sets.nonsensitive.tensors[0][:, 0].numpy() / 3, [1, 4, 7])
    np.testing.assert_array_equal(sets.sensitive.tensors[1].numpy(), [1, 4, 7])
    both = build_mindiff_sets(x, race, label_value=None, sensitive_value=["A", "C"])
    assert len(both.sensitive) == 5 and len(both.nonsensitive) == 3


def test_build_sets_errors():
    x, y, group = _data()
    with pytest.raises(
        ValueError,
        match=re.escape(
            "The 'sensitive' parameter of build_mindiff_sets must be an array with one value per "
            "example (20). Got shape (19,) instead."
        ),
    ):
        build_mindiff_sets((x, y), group[:19])
    with pytest.raises(
        ValueError,
        match=re.escape(
            "The 'sensitive' parameter of build_mindiff_sets must be boolean or 0/1 (or give "
            "sensitive_value). Got values [0, 1, 2] instead."
        ),
    ):
        build_mindiff_sets((x, y), np.arange(20) % 3)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "The 'data' parameter of build_mindiff_sets must be data with at least one "
            "sensitive-group example with label 5. Got none instead."
        ),
    ):
        build_mindiff_sets((x, y), group, label_value=5)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "The 'data' parameter of build_mindiff_sets must be tensors with the same number of "
            "rows. Got shapes (20, 3), (19,) instead."
        ),
    ):
        build_mindiff_sets((x, y[:19]), group)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "The 'labels' parameter of build_mindiff_sets must be given when 'data' has no label "
            "tensor. Got None instead."
        ),
    ):
        build_mindiff_sets(x, group, label_value=0)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "The 'weights' parameter of build_mindiff_sets must be a tensor of finite, "
            "non-negative weights. Got a tensor containing -1 instead."
        ),
    ):
        build_mindiff_sets((x, y), group, weights=-np.ones(20))


def test_pack_mindiff_batch():
    batch = pack_mindiff_batch(torch.ones(2, 3), torch.zeros(3, 3))
    assert batch.inputs.shape == (5, 3)
    assert batch.membership.tolist() == [1.0, 1.0, 0.0, 0.0, 0.0]
    assert batch.weights is None


def _loader(seed: int = 0, **kw):
    x, y, group = _data(50)
    sets = build_mindiff_sets((x, y), group, label_value=0)  # 13 sensitive, 12 other
    return MinDiffLoader((x, y), sets, seed=seed, **kw), x, sets


def test_loader_batches_cover_the_task_data_once_per_epoch():
    loader, x, _ = _loader(batch_size=16)
    assert len(loader) == 4
    seen = []
    for (xb, yb), md in loader:
        assert isinstance(md, MinDiffBatch)
        assert xb.shape[0] == yb.shape[0] <= 16
        assert md.inputs.shape == (16, 3)
        assert md.membership.tolist() == [1.0] * 8 + [0.0] * 8
        assert md.weights is None
        # membership agrees with the sensitive column of the features
        torch.testing.assert_close(md.inputs[:, 2], md.membership)
        seen.append(xb[:, 0])
    assert sorted(torch.cat(seen).tolist()) == sorted(x[:, 0].tolist())
    loader, _, _ = _loader(batch_size=16, drop_last=True)
    assert len(loader) == 3 and sum(1 for _ in loader) == 3


def test_loader_cycles_the_smaller_sets_with_fresh_permutations():
    # 13 sensitive negatives drawn 5 per batch: every 13 draws are a permutation of the set.
    loader, _, sets = _loader(batch_size=5, mindiff_batch_size=(5, 3))
    drawn = torch.cat([md.inputs[:5, 0] for _, md in loader])
    assert drawn.numel() == 50
    pool = sorted(sets.sensitive.tensors[0][:, 0].tolist())
    for start in range(0, 39, 13):
        assert sorted(drawn[start : start + 13].tolist()) == pool


def test_loader_is_reproducible_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    a = [(xb.clone(), md.inputs.clone()) for (xb, _), md in _loader(seed=7, batch_size=8)[0]]
    b = [(xb.clone(), md.inputs.clone()) for (xb, _), md in _loader(seed=7, batch_size=8)[0]]
    c = [(xb.clone(), md.inputs.clone()) for (xb, _), md in _loader(seed=8, batch_size=8)[0]]
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(
        torch.equal(p[0], q[0]) and torch.equal(p[1], q[1]) for p, q in zip(a, b, strict=True)
    )
    assert not all(torch.equal(p[0], q[0]) for p, q in zip(a, c, strict=True))
    # consecutive epochs differ but a fresh loader replays them
    loader = _loader(seed=7, batch_size=8)[0]
    first = [xb.clone() for (xb, _), _ in loader]
    second = [xb.clone() for (xb, _), _ in loader]
    assert not all(torch.equal(p, q) for p, q in zip(first, second, strict=True))
    gen = torch.Generator().manual_seed(7)
    explicit = MinDiffLoader(
        (_data(50)[0], _data(50)[1]), _loader(batch_size=8)[2], batch_size=8, generator=gen
    )
    assert all(torch.equal(p, xb) for p, ((xb, _), _) in zip(first, explicit, strict=True))


def test_loader_without_shuffle_and_with_weights_and_numpy():
    x, y, group = _data(12)
    sets = build_mindiff_sets(
        (x.numpy(), y.numpy()), group.numpy(), label_value=None, weights=np.arange(12.0)
    )
    loader = MinDiffLoader(
        (x.numpy(), y.numpy()), sets, batch_size=4, mindiff_batch_size=5, shuffle=False
    )
    (xb, _), md = next(iter(loader))
    assert xb.dtype == torch.float32
    np.testing.assert_array_equal(xb[:, 0].numpy() / 3, [0, 1, 2, 3])
    assert md.membership.tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]
    np.testing.assert_array_equal(md.weights.numpy(), [0, 1, 2, 6, 7])


def test_loader_errors():
    x, y, group = _data()
    sets = build_mindiff_sets((x, y), group)
    with pytest.raises(
        TypeError,
        match=re.escape("The 'batch_size' parameter of MinDiffLoader must be an int."),
    ):
        MinDiffLoader((x, y), sets, batch_size=4.0)  # type: ignore[arg-type]
    with pytest.raises(
        ValueError,
        match=re.escape(
            "The 'mindiff_batch_size' parameter of MinDiffLoader must be an int >= 2. Got 1 instead."
        ),
    ):
        MinDiffLoader((x, y), sets, batch_size=4, mindiff_batch_size=1)
    with pytest.raises(
        TypeError,
        match=re.escape("The 'generator' parameter of MinDiffLoader must be a torch.Generator"),
    ):
        MinDiffLoader((x, y), sets, batch_size=4, generator=3)  # type: ignore[arg-type]


def test_loader_gathers_task_and_mindiff_inputs_into_one_buffer():
    # The task rows and the MinDiff rows are adjacent views of one buffer, with the same
    # values as plain indexing; MinDiffModel then joins them without a copy.
    from assay.fairness.remediation._tree import concat_inputs

    loader, x, sets = _loader(batch_size=8, shuffle=False)
    (xb, _), md = next(iter(loader))
    torch.testing.assert_close(xb, x[:8])
    assert xb.untyped_storage().data_ptr() == md.inputs.untyped_storage().data_ptr()
    joined, sizes = concat_inputs([xb, md.inputs], func="test")
    assert sizes == [8, 8]
    assert joined.data_ptr() == xb.data_ptr()  # a view, no copy
    torch.testing.assert_close(joined, torch.cat([xb, md.inputs]))
    s_rows = sets.sensitive.tensors[0]
    t_rows = sets.nonsensitive.tensors[0]
    for row in md.inputs[:4]:
        assert any(torch.equal(row, r) for r in s_rows)
    for row in md.inputs[4:]:
        assert any(torch.equal(row, r) for r in t_rows)


def test_concat_inputs_copies_unless_tensors_are_adjacent_views():
    from assay.fairness.remediation._tree import concat_inputs

    buf = torch.arange(30.0).reshape(10, 3)
    a, b = buf[:4], buf[4:]
    joined, _ = concat_inputs([a, b], func="test")
    assert joined.data_ptr() == buf.data_ptr()
    cases = [
        (buf[:4], buf[5:]),  # a gap
        (buf[4:], buf[:4]),  # wrong order
        (buf[:4, :2], buf[4:, :2]),  # not contiguous
        (buf[:4].clone(), buf[4:]),  # different storage
        (buf[:4].clone().requires_grad_(True), buf[4:]),  # needs its gradient
    ]
    for first, second in cases:
        joined, _ = concat_inputs([first, second], func="test")
        torch.testing.assert_close(joined, torch.cat([first, second]))
        assert joined.data_ptr() != first.data_ptr() or first.data_ptr() != buf.data_ptr()
    leaf = torch.zeros(2, 3, requires_grad=True)
    joined, _ = concat_inputs([leaf, torch.ones(2, 3)], func="test")
    joined.sum().backward()
    torch.testing.assert_close(leaf.grad, torch.ones(2, 3))
