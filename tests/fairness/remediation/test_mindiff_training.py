"""MinDiff training integration: the wrapper, the step function, and a behavioural check."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from assay.fairness.remediation import (  # noqa: E402
    MinDiffBatch,
    MinDiffLoader,
    MinDiffModel,
    build_mindiff_sets,
    fit_mindiff,
    make_mlp,
    mindiff_train_step,
    mmd_loss,
)

BCE = nn.BCEWithLogitsLoss()


@pytest.fixture(autouse=True)
def _one_thread():
    # Tiny models: intra-op threads only add synchronisation (and the test runner may run
    # several workers); restore the setting afterwards.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def bce(out, y):
    return BCE(out[:, 0], y)


def _batch(seed: int = 0, n: int = 12, m: int = 10):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=g)
    y = (torch.rand(n, generator=g) < 0.5).float()
    md = MinDiffBatch(
        torch.randn(m, 5, generator=g), torch.tensor([1.0] * (m // 2) + [0.0] * (m - m // 2))
    )
    return x, y, md


def test_make_mlp_is_seeded_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    a, b, c = make_mlp(5, (7, 3), seed=1), make_mlp(5, (7, 3), seed=1), make_mlp(5, (7, 3), seed=2)
    assert torch.equal(torch.random.get_rng_state(), state)
    pa, pb, pc = (torch.cat([p.flatten() for p in m.parameters()]) for m in (a, b, c))
    assert torch.equal(pa, pb) and not torch.equal(pa, pc)
    assert [type(m).__name__ for m in a] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert float(a[0].weight.detach().abs().max()) <= 1 / 5**0.5


def test_wrapper_penalty_matches_direct_loss_and_fused_equals_unfused():
    x, y, md = _batch()
    results = []
    for fuse in (True, False):
        net = make_mlp(5, (8,), seed=0)
        model = MinDiffModel(
            net, "mmd", 2.5, predictions_transform=torch.sigmoid, fuse_forward=fuse
        )
        out, penalty = model(x, md)
        with torch.no_grad():
            want = 2.5 * mmd_loss(torch.sigmoid(net(md.inputs)), md.membership)
            torch.testing.assert_close(out, net(x))
        torch.testing.assert_close(penalty.detach(), want)
        losses = model.compute_loss(x, y, bce, md)
        torch.testing.assert_close(
            losses["loss"].detach(), losses["task_loss"] + losses["mindiff_loss"]
        )
        losses["loss"].backward()
        results.append([p.grad.clone() for p in net.parameters()])
    for g1, g2 in zip(*results, strict=True):
        torch.testing.assert_close(g1, g2)


def test_plain_forward_and_no_mindiff_batch():
    x, y, _ = _batch()
    net = make_mlp(5, (8,), seed=0)
    model = MinDiffModel(net)
    with torch.no_grad():
        torch.testing.assert_close(model(x), net(x))
    losses = model.compute_loss(x, y, bce)
    assert float(losses["mindiff_loss"]) == 0.0
    torch.testing.assert_close(losses["loss"].detach(), bce(net(x), y).detach())


def test_batchnorm_models_are_not_fused_by_default():
    net = nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))
    assert MinDiffModel(net).fuse_forward is False
    assert MinDiffModel(make_mlp(5, (4,))).fuse_forward is True
    assert MinDiffModel(net, fuse_forward=True).fuse_forward is True


def test_structured_inputs_and_outputs():
    class TwoInputs(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = make_mlp(3, (4,), 1, seed=0)
            self.b = make_mlp(2, (4,), 1, seed=1)

        def forward(self, inputs):
            logit = self.a(inputs["num"]) + self.b(inputs["cat"])
            return {"logit": logit, "aux": logit * 2}

    g = torch.Generator().manual_seed(0)
    x = {"num": torch.randn(6, 3, generator=g), "cat": torch.randn(6, 2, generator=g)}
    md_x = {"num": torch.randn(4, 3, generator=g), "cat": torch.randn(4, 2, generator=g)}
    md = MinDiffBatch(md_x, torch.tensor([1.0, 1, 0, 0]))
    net = TwoInputs()
    model = MinDiffModel(net, "absolute_correlation", predictions_transform=lambda o: o["logit"])
    out, penalty = model(x, md)
    assert out["logit"].shape == (6, 1) and out["aux"].shape == (6, 1)
    unfused = MinDiffModel(
        net, "absolute_correlation", predictions_transform=lambda o: o["logit"], fuse_forward=False
    )
    out2, penalty2 = unfused(x, md)
    torch.testing.assert_close(penalty, penalty2)
    torch.testing.assert_close(out["logit"], out2["logit"])


def test_zero_weight_step_equals_plain_training():
    x, y, md = _batch()
    net_a, net_b = make_mlp(5, (8,), seed=3), make_mlp(5, (8,), seed=3)
    model = MinDiffModel(net_a, "mmd", 0.0)
    opt_a = torch.optim.SGD(net_a.parameters(), lr=0.1)
    opt_b = torch.optim.SGD(net_b.parameters(), lr=0.1)
    for _ in range(3):
        mindiff_train_step(model, opt_a, bce, ((x, y), md))
        opt_b.zero_grad()
        bce(net_b(x), y).backward()
        opt_b.step()
    for pa, pb in zip(net_a.parameters(), net_b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb)


def test_train_step_with_sample_weights_and_without_mindiff():
    x, y, md = _batch()
    w = torch.linspace(0.5, 2.0, 12)

    def weighted_bce(out, target, weight):
        return nn.functional.binary_cross_entropy_with_logits(out[:, 0], target, weight=weight)

    model = MinDiffModel(make_mlp(5, (8,)), "mmd", 1.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    out = mindiff_train_step(model, opt, weighted_bce, ((x, y, w), md))
    assert set(out) == {"loss", "task_loss", "mindiff_loss"}
    out = mindiff_train_step(model, opt, bce, (x, y))
    assert float(out["mindiff_loss"]) == 0.0
    with pytest.raises(TypeError, match=re.escape("Expected a task batch (inputs, targets)")):
        mindiff_train_step(model, opt, bce, (x,))


def test_wrapper_bad_arguments():
    with pytest.raises(
        TypeError,
        match=re.escape("The 'model' parameter of MinDiffModel must be a torch.nn.Module."),
    ):
        MinDiffModel(lambda x: x)  # type: ignore[arg-type]
    with pytest.raises(
        ValueError,
        match=re.escape(
            "The 'loss_weight' parameter of MinDiffModel must be a float >= 0. Got -1 instead."
        ),
    ):
        MinDiffModel(make_mlp(2), loss_weight=-1)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "The 'fuse_forward' parameter of MinDiffModel must be one of {'auto', True, False}. "
            "Got 'yes' instead."
        ),
    ):
        MinDiffModel(make_mlp(2), fuse_forward="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=re.escape("The 'loss' parameter of get_mindiff_loss")):
        MinDiffModel(make_mlp(2), loss="wasserstein")


# ----------------------------------------------------------------------------- behaviour


def _synthetic(n: int, seed: int):
    """Group 1 has a proxy feature and a higher base rate, so a plain model separates the
    groups' scores even among negatives."""
    g = torch.Generator().manual_seed(seed)
    group = (torch.rand(n, generator=g) < 0.4).float()
    x = torch.randn(n, 6, generator=g)
    x[:, 0] += 2.0 * group
    logit = x[:, 1] + x[:, 2] + 3.0 * group - 1.5
    y = (torch.rand(n, generator=g) < torch.sigmoid(2 * logit)).float()
    return x, y, group


def _train(loss_weight: float, loss: str = "mmd") -> tuple[float, float]:
    x, y, group = _synthetic(1500, seed=0)
    sets = build_mindiff_sets((x, y), group, label_value=0)
    loader = MinDiffLoader((x, y), sets, batch_size=128, seed=0)
    net = make_mlp(6, (16,), seed=0)
    model = MinDiffModel(net, loss, loss_weight, predictions_transform=torch.sigmoid)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    fit_mindiff(model, loader, bce, opt, epochs=8)
    xt, yt, gt = _synthetic(2000, seed=1)
    with torch.no_grad():
        scores = torch.sigmoid(net(xt)[:, 0])
        neg = yt == 0
        gap = float(mmd_loss(scores[neg], gt[neg]))
        acc = float(((scores > 0.5).float() == yt).float().mean())
    return gap, acc


def test_training_with_mindiff_reduces_the_mmd_between_groups():
    # Held-out MMD between the groups' scores on negatives (the FPR-gap setting).
    gap_plain, acc_plain = _train(0.0)
    gap_mmd, acc_mmd = _train(1.5)
    gap_laplace, _ = _train(1.5, "laplacian_mmd")
    gap_corr, _ = _train(1.0, "absolute_correlation")
    assert gap_plain > 0.02
    assert gap_mmd < 0.4 * gap_plain
    assert gap_laplace < 0.5 * gap_plain
    assert gap_corr < 0.4 * gap_plain
    assert acc_mmd > acc_plain - 0.05  # still about as accurate


def test_training_is_reproducible():
    assert _train(1.0) == _train(1.0)


def test_importing_assay_fairness_does_not_import_torch():
    code = (
        "import sys, assay, assay.fairness; "
        "assert 'torch' not in sys.modules, 'torch imported'; "
        "import assay.fairness.remediation; assert 'lightning' not in sys.modules; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_numpy_end_to_end():
    x, y, group = _synthetic(300, seed=2)
    xn, yn, gn = x.numpy().astype(np.float64), y.numpy(), group.numpy().astype(bool)
    sets = build_mindiff_sets((xn, yn), gn, label_value=1)
    loader = MinDiffLoader((xn, yn), sets, batch_size=64, seed=0)
    model = MinDiffModel(make_mlp(6, (8,)), "laplacian_mmd", predictions_transform=torch.sigmoid)
    hist = fit_mindiff(model, loader, bce, torch.optim.Adam(model.parameters(), lr=0.01), epochs=2)
    assert len(hist) == 2 and all(np.isfinite(list(h.values())).all() for h in hist)


def test_remediation_names_are_exported_lazily_from_assay_fairness():
    import subprocess
    import sys

    code = (
        "import sys, assay.fairness as f; assert 'torch' not in sys.modules; "
        "m = f.MinDiffModel; assert 'torch' in sys.modules; print(m.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "MinDiffModel"
