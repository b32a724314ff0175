"""A tiny real Lightning fit with the MinDiff LightningModule, on CPU."""

from __future__ import annotations

import logging
import warnings

import pytest

torch = pytest.importorskip("torch")
L = pytest.importorskip("lightning")
from torch import nn  # noqa: E402

from assay.fairness.remediation import (  # noqa: E402
    MinDiffLoader,
    build_mindiff_sets,
    make_mlp,
    mmd_loss,
)
from assay.fairness.remediation.lightning import MinDiffLightningModule  # noqa: E402


def bce(out, y):
    return nn.functional.binary_cross_entropy_with_logits(out[:, 0], y)


def _data(n: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    group = (torch.rand(n, generator=g) < 0.4).float()
    x = torch.randn(n, 6, generator=g)
    x[:, 0] += 2.0 * group
    logit = x[:, 1] + x[:, 2] + 3.0 * group - 1.5
    y = (torch.rand(n, generator=g) < torch.sigmoid(2 * logit)).float()
    return x, y, group


def _fit(loss_weight: float, epochs: int = 1):
    x, y, group = _data(800, 0)
    sets = build_mindiff_sets((x, y), group, label_value=0)
    loader = MinDiffLoader((x, y), sets, batch_size=64, seed=0)
    net = make_mlp(6, (16,), seed=0)
    module = MinDiffLightningModule(
        net, bce, loss="mmd", loss_weight=loss_weight, predictions_transform=torch.sigmoid, lr=0.01
    )
    trainer = L.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        deterministic=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Lightning's advice on workers / log frequency
        trainer.fit(module, train_dataloaders=loader)
    return module, trainer, net


@pytest.fixture(autouse=True)
def _quiet_lightning():
    logger = logging.getLogger("lightning")
    level = logger.level
    logger.setLevel(logging.ERROR)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
    logger.setLevel(level)


def test_lightning_fit_runs_logs_and_reduces_mmd():
    module, trainer, net = _fit(1.5, epochs=3)
    assert trainer.current_epoch == 3
    metrics = trainer.callback_metrics
    for key in ("train_loss", "train_task_loss", "train_mindiff_loss"):
        assert key in metrics and torch.isfinite(metrics[key])
    assert module.model is net
    _, _, plain_net = _fit(0.0, epochs=3)
    xt, yt, gt = _data(1500, 1)
    neg = yt == 0
    with torch.no_grad():
        gap_md = float(mmd_loss(torch.sigmoid(net(xt)[neg, 0]), gt[neg]))
        gap_plain = float(mmd_loss(torch.sigmoid(plain_net(xt)[neg, 0]), gt[neg]))
    assert gap_md < 0.6 * gap_plain


def test_lightning_fit_is_reproducible_and_predicts():
    _, _, a = _fit(1.0)
    _, _, b = _fit(1.0)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    module = MinDiffLightningModule(
        a, bce, optimizer=lambda params: torch.optim.SGD(params, lr=0.1)
    )
    assert isinstance(module.configure_optimizers(), torch.optim.SGD)
    x = torch.zeros(3, 6)
    with torch.no_grad():
        torch.testing.assert_close(module(x), a(x))
        torch.testing.assert_close(module.predict_step((x,), 0), a(x))
