"""Small autoregressive PixelCNNs over discrete pixel levels (``assay[torch]``).

Both models factor ``p(x) = prod_i p(x_i | x_<i)`` over the pixels of a grey-scale image in
raster order.

* The plain PixelCNN (van den Oord et al. 2016, "Pixel Recurrent Neural Networks",
  ``PixelCNN(..., gated=False)``, the default): a masked ``first_kernel x first_kernel``
  convolution of type A (a pixel does not see itself), ``n_layers`` residual blocks of masked
  3x3 convolutions of type B, two 1x1 convolutions to the outputs. It has the blind spot
  above-right of each pixel (a narrower context).
* The gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN
  Decoders", ``gated=True``): a vertical stack (the rows above, through ``(k//2+1) x k``
  convolutions whose output is shifted down one row before it reaches the horizontal stack)
  and a horizontal stack (the pixels to the left in the same row, ``1 x (k//2+1)``
  convolutions), gated units ``tanh(a) * sigmoid(b)``, residual connections on the horizontal
  stack: **no blind spot**. This is the network family of the model Ren et al. (2019) used
  (the PixelCNN++ of TensorFlow Probability, whose layers are the same two gated stacks).

Each conditional is either a softmax over ``n_levels`` levels (``n_mix=0``) or, with
``n_mix >= 1`` (gated model only), a mixture of ``n_mix`` discretised logistics (Salimans et
al. 2017, PixelCNN++; Ren et al. used one component): the level ``x`` of ``0..L-1`` is mapped
to ``2x/(L-1) - 1`` and gets the logistic mass of the bin of half-width ``1/(L-1)`` around
it, the two end bins the tails. Tests check causality by gradients and normalization by
brute force for every variant.

Importing this module imports torch (it is imported lazily by :mod:`assay.ood`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._util.files import atomic_path
from .._util.optional import require
from .._util.progress import Progress

torch: Any = require("torch", purpose="the PixelCNN of the likelihood-ratio detector")
nn: Any = torch.nn
F: Any = torch.nn.functional

__all__ = [
    "GatedLayer",
    "MaskedConv2d",
    "PixelCNN",
    "TrainLog",
    "check_images",
    "log_prob_pixels",
    "mutate",
    "train_pixelcnn",
]


def _check_int(value: Any, name: str, lo: int, func: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < lo:
        raise ValueError(
            f"The '{name}' parameter of {func} must be an int >= {lo}. Got {value!r} instead."
        )
    return int(value)


class MaskedConv2d(nn.Conv2d):
    """2-d convolution whose kernel sees only the pixels before the centre in raster order
    (type ``"A"``) or those and the centre (type ``"B"``)."""

    def __init__(
        self, mask_type: str, in_channels: int, out_channels: int, kernel_size: int
    ) -> None:
        if mask_type not in ("A", "B"):
            raise ValueError(
                "The 'mask_type' parameter of MaskedConv2d must be 'A' or 'B'. "
                f"Got {mask_type!r} instead."
            )
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        k = kernel_size
        c = k // 2
        mask = torch.ones(1, 1, k, k)
        mask[..., c, c + (1 if mask_type == "B" else 0) :] = 0
        mask[..., c + 1 :, :] = 0
        self.register_buffer("mask", mask)

    def forward(self, x: Any) -> Any:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class _Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = MaskedConv2d("B", channels, channels, 3)
        self.out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: Any) -> Any:
        return x + self.out(F.relu(self.conv(F.relu(x))))


class GatedLayer(nn.Module):
    """One layer of the gated PixelCNN: a vertical and a horizontal stack (van den Oord et
    al. 2016, Figure 2).

    The vertical output at row ``r`` sees the input rows ``<= r`` (all columns within reach);
    it reaches the horizontal stack shifted down one row, so there it carries rows ``< r``
    only. The horizontal output at ``(r, c)`` sees columns ``<= c`` of its input row (``< c``
    in the ``first`` layer, whose input is the image itself). Gated units
    ``tanh(a) * sigmoid(b)``; a residual connection on the horizontal stack (not in the first
    layer)."""

    def __init__(self, in_channels: int, channels: int, kernel: int, first: bool) -> None:
        super().__init__()
        self.first = bool(first)
        self.p = kernel // 2
        c = channels
        self.v = nn.Conv2d(in_channels, 2 * c, (self.p + 1, kernel))
        self.h = nn.Conv2d(in_channels, 2 * c, (1, self.p + 1))
        self.v2h = nn.Conv2d(2 * c, 2 * c, 1)
        self.h_out = nn.Conv2d(c, c, 1)

    @staticmethod
    def _gate(x: Any) -> Any:
        a, b = x.chunk(2, dim=1)
        return torch.tanh(a) * torch.sigmoid(b)

    def forward(self, v: Any, h: Any) -> tuple[Any, Any]:
        p = self.p
        vv = self.v(F.pad(v, (p, p, p, 0)))  # row r: input rows r-p..r
        shifted = F.pad(vv, (0, 0, 1, 0))[:, :, :-1]  # row r: rows < r only
        if self.first:  # strictly left of the pixel
            hh = self.h(F.pad(h, (p + 1, 0, 0, 0))[..., :-1])
        else:  # left of the pixel and the pixel (its features, not its value)
            hh = self.h(F.pad(h, (p, 0, 0, 0)))
        hh = hh + self.v2h(shifted)
        h_new = self.h_out(self._gate(hh))
        return self._gate(vv), (h_new if self.first else h + h_new)


class PixelCNN(nn.Module):
    """Autoregressive density over ``(n, H, W)`` integer images with levels
    ``0..n_levels-1``.

    ``gated=False``: the plain PixelCNN (blind spot); ``gated=True``: the gated PixelCNN with
    vertical and horizontal stacks (no blind spot), ``n_layers`` gated layers after the first
    (``first_kernel`` wide) one. ``n_mix=0``: a softmax over the levels; ``n_mix >= 1`` (gated
    only): a mixture of ``n_mix`` discretised logistics per pixel.

    ``forward(x)`` returns the output parameters ``(n, n_levels or 3 n_mix, H, W)`` (the
    softmax logits, or mixture logits, locations and log scales); :meth:`log_prob_pixels`
    the log probability of each pixel given the pixels before it (nats), :meth:`log_prob`
    their sum. ``config`` holds the constructor arguments (for saving and loading).
    """

    def __init__(
        self,
        n_levels: int = 256,
        channels: int = 32,
        n_layers: int = 4,
        first_kernel: int = 7,
        *,
        gated: bool = False,
        n_mix: int = 0,
    ) -> None:
        super().__init__()
        _check_int(n_levels, "n_levels", 2, "PixelCNN")
        _check_int(channels, "channels", 1, "PixelCNN")
        _check_int(n_layers, "n_layers", 0, "PixelCNN")
        _check_int(first_kernel, "first_kernel", 1, "PixelCNN")
        _check_int(n_mix, "n_mix", 0, "PixelCNN")
        if first_kernel % 2 == 0:
            raise ValueError(
                f"The 'first_kernel' parameter of PixelCNN must be odd. Got {first_kernel!r}."
            )
        if not isinstance(gated, bool):
            raise TypeError(f"The 'gated' parameter of PixelCNN must be a bool. Got {gated!r}.")
        if n_mix and not gated:
            raise ValueError(
                "The 'n_mix' parameter of PixelCNN (a discretised logistic mixture) needs "
                f"gated=True. Got n_mix={n_mix!r} with gated=False."
            )
        self.config = {
            "n_levels": int(n_levels),
            "channels": int(channels),
            "n_layers": int(n_layers),
            "first_kernel": int(first_kernel),
            "gated": bool(gated),
            "n_mix": int(n_mix),
        }
        self.n_levels = int(n_levels)
        self.gated = bool(gated)
        self.n_mix = int(n_mix)
        n_out = 3 * self.n_mix if self.n_mix else self.n_levels
        if self.gated:
            self.layers = nn.ModuleList(
                [GatedLayer(1, channels, first_kernel, True)]
                + [GatedLayer(channels, channels, 3, False) for _ in range(n_layers)]
            )
        else:
            self.first = MaskedConv2d("A", 1, channels, first_kernel)
            self.blocks = nn.Sequential(*[_Residual(channels) for _ in range(n_layers)])
        self.head1 = nn.Conv2d(channels, channels, 1)
        self.head2 = nn.Conv2d(channels, n_out, 1)

    def _scaled(self, x: Any) -> Any:
        return x.unsqueeze(1).to(self.head2.weight.dtype) * (2.0 / (self.n_levels - 1)) - 1.0

    def forward(self, x: Any) -> Any:
        xs = self._scaled(x)
        if self.gated:
            v, h = xs, xs
            for layer in self.layers:
                v, h = layer(v, h)
        else:
            h = self.blocks(self.first(xs))
        return self.head2(F.relu(self.head1(F.relu(h))))

    def log_prob_pixels(self, x: Any) -> Any:
        """``(n, H, W)`` log p(x_i | x_<i) in nats."""
        out = self(x)
        if not self.n_mix:
            logp = F.log_softmax(out, dim=1)
            return logp.gather(1, x.long().unsqueeze(1)).squeeze(1)
        k = self.n_mix
        logit_pi, loc, log_s = out[:, :k], out[:, k : 2 * k], out[:, 2 * k :]
        inv_s = torch.exp(-log_s.clamp(-7.0, 7.0))
        half = 1.0 / (self.n_levels - 1)
        centred = self._scaled(x) - loc
        upper = inv_s * (centred + half)  # logit of the CDF at the bin's upper edge
        lower = inv_s * (centred - half)
        log_cdf_upper = F.logsigmoid(upper)
        log_sf_lower = F.logsigmoid(-lower)
        # log(sigmoid(u) - sigmoid(l)) = logsig(u) + logsig(-l) + log(1 - exp(l - u)), l < u
        log_mid = log_cdf_upper + log_sf_lower + torch.log(-torch.expm1(lower - upper))
        xl = x.long().unsqueeze(1)
        log_bin = torch.where(
            xl == 0, log_cdf_upper, torch.where(xl == self.n_levels - 1, log_sf_lower, log_mid)
        )
        return torch.logsumexp(F.log_softmax(logit_pi, dim=1) + log_bin, dim=1)

    def log_prob(self, x: Any) -> Any:
        """``(n,)`` log p(x) in nats."""
        return self.log_prob_pixels(x).flatten(1).sum(1)


def check_images(
    images: Any, n_levels: int, name: str = "images", *, func: str
) -> NDArray[np.int64]:
    """``images`` as ``(n, H, W)`` int64 levels in ``[0, n_levels)``; ``(n, 1, H, W)`` is
    accepted. Floats must be whole numbers (levels), not intensities in [0, 1]."""
    if hasattr(images, "detach"):
        images = images.detach().cpu().numpy()
    a = np.asarray(images)
    if a.ndim == 4 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 3 or a.shape[0] == 0:
        raise ValueError(
            f"The '{name}' parameter of {func} must be grey-scale images of shape (n, H, W) or "
            f"(n, 1, H, W). Got shape {a.shape} instead."
        )
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise TypeError(
            f"The '{name}' parameter of {func} must hold integer pixel levels. "
            f"Got dtype {a.dtype} instead."
        )
    if np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(a) & (a == np.round(a))):
        raise ValueError(
            f"The '{name}' parameter of {func} must hold integer pixel levels 0..{n_levels - 1} "
            "(for example uint8 images), not intensities scaled to [0, 1] or NaN."
        )
    lo, hi = a.min(), a.max()
    if lo < 0 or hi > n_levels - 1:
        raise ValueError(
            f"The '{name}' parameter of {func} must hold pixel levels in [0, {n_levels - 1}]. "
            f"Got values in [{lo}, {hi}] instead."
        )
    return a.astype(np.int64)


def mutate(x: Any, rate: float, n_levels: int, generator: Any = None) -> Any:
    """Ren et al.'s perturbation: each pixel is replaced, with probability ``rate``, by a
    level drawn uniformly from ``0..n_levels-1`` (a tensor in, a new tensor out). A
    replaced pixel may draw its own level again (probability ``1 / n_levels``)."""
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise ValueError(
            f"The 'rate' parameter of mutate must be a float in [0, 1]. Got {rate!r} instead."
        )
    if rate == 0:
        return x.clone()
    hit = torch.rand(x.shape, generator=generator) < rate
    noise = torch.randint(0, n_levels, x.shape, generator=generator, dtype=x.dtype)
    return torch.where(hit, noise, x)


@dataclass
class TrainLog:
    """Training history: step, seconds and mean training NLL (bits per pixel) per logged
    step; ``stopped`` says why training ended (``"steps"`` or ``"time budget"``)."""

    steps: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    bits_per_pixel: list[float] = field(default_factory=list)
    stopped: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": list(self.steps),
            "seconds": list(self.seconds),
            "bits_per_pixel": list(self.bits_per_pixel),
            "stopped": self.stopped,
        }


def train_pixelcnn(
    model: PixelCNN,
    images: Any,
    *,
    steps: int = 1000,
    batch_size: int = 64,
    lr: float = 1e-3,
    mutation_rate: float = 0.0,
    l2: float = 0.0,
    seed: int = 0,
    max_seconds: float | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 100,
    progress: bool = False,
    log_every: int = 25,
    desc: str = "PixelCNN",
) -> TrainLog:
    """Fit ``model`` by maximum likelihood with Adam for ``steps`` mini-batches.

    Each batch is perturbed afresh (:func:`mutate`, rate ``mutation_rate``) for a background
    model. The loss is the mean NLL per pixel (nats) plus ``l2`` times the sum of squared
    weights (biases excluded). Training stops early after ``max_seconds`` of this call.
    With ``checkpoint`` (a file path), the model, optimizer, data order, random state and
    log are saved every ``checkpoint_every`` steps and at the end, and a run whose
    checkpoint exists resumes from it (same seed: the same result as an uninterrupted run).
    """
    func = "train_pixelcnn"
    total = _check_int(steps, "steps", 1, func)
    bs = _check_int(batch_size, "batch_size", 1, func)
    every = _check_int(checkpoint_every, "checkpoint_every", 1, func)
    if isinstance(l2, bool) or not isinstance(l2, int | float) or not l2 >= 0:
        raise ValueError(f"The 'l2' parameter of {func} must be a float >= 0. Got {l2!r}.")
    x_all = torch.as_tensor(check_images(images, model.n_levels, func=func))
    n = x_all.shape[0]
    g = torch.Generator().manual_seed(int(seed))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    log = TrainLog()
    step, pos = 0, 0
    perm = torch.randperm(n, generator=g)
    ckpt = None if checkpoint is None else Path(checkpoint)
    if ckpt is not None and ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step, pos, perm = state["step"], state["pos"], state["perm"]
        g.set_state(state["generator"])
        log = TrainLog(**state["log"])

    def save() -> None:
        if ckpt is None:
            return
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(ckpt) as tmp:
            torch.save(
                {
                    "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    "step": step,
                    "pos": pos,
                    "perm": perm,
                    "generator": g.get_state(),
                    "log": log.to_dict(),
                },
                tmp,
            )

    model.train()
    start = time.perf_counter()
    offset = log.seconds[-1] if log.seconds else 0.0
    acc, acc_n = 0.0, 0
    log.stopped = "steps"
    with Progress(total, desc=desc, unit="steps", enabled=progress) as bar:
        bar.update(position=step)
        while step < total:
            if max_seconds is not None and time.perf_counter() - start >= max_seconds:
                log.stopped = "time budget"
                break
            if pos >= n:
                perm, pos = torch.randperm(n, generator=g), 0
            idx = perm[pos : pos + bs]
            pos += bs
            xb = mutate(x_all[idx], mutation_rate, model.n_levels, g)
            nll = -model.log_prob_pixels(xb).mean()
            loss = nll + l2 * sum((w * w).sum() for w in weights) if l2 else nll
            opt.zero_grad()
            loss.backward()
            opt.step()
            acc += float(nll.detach()) / math.log(2)
            acc_n += 1
            step += 1
            bar.update(1)
            if step % log_every == 0 or step == total:
                log.steps.append(step)
                log.seconds.append(offset + time.perf_counter() - start)
                log.bits_per_pixel.append(acc / acc_n)
                acc, acc_n = 0.0, 0
            if step % every == 0:
                save()
    save()
    model.eval()
    return log


def log_prob_pixels(model: PixelCNN, images: Any, *, batch_size: int = 256) -> NDArray[np.float64]:
    """``(n, H, W)`` per-pixel log probabilities (nats) of ``images`` (integer levels)."""
    x = torch.as_tensor(check_images(images, model.n_levels, func="log_prob_pixels"))
    was = model.training
    model.eval()
    out = []
    dev = next(model.parameters()).device
    try:
        with torch.no_grad():
            for i in range(0, x.shape[0], batch_size):
                out.append(model.log_prob_pixels(x[i : i + batch_size].to(dev)).double().cpu())
    finally:
        model.train(was)
    return torch.cat(out).numpy()
