"""The likelihood-ratio detector of Ren et al. (NeurIPS 2019) (``assay[torch]``).

Two PixelCNNs (:mod:`assay.ood.pixelcnn`) of the same class: the *model* is fitted to the
in-distribution images; the *background* model to the same images perturbed afresh each
batch (each pixel replaced with probability ``mutation_rate`` by a uniformly drawn level)
with an L2 penalty ``l2`` on its weights, so that it learns the population-level background
statistics but not the semantic content. The likelihood ratio is
``LLR(x) = log p_model(x) - log p_background(x)`` and the outlier score is
``score(x) = -LLR(x)`` (larger = more OOD). :meth:`LikelihoodRatio.likelihood_score` is the
plain negative log-likelihood, the baseline the paper shows failing.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._util.files import atomic_path
from ._common import F64, check_fitted, compressed_bits
from .pixelcnn import PixelCNN, TrainLog, check_images, log_prob_pixels, torch, train_pixelcnn

__all__ = ["LikelihoodRatio", "warn_if_same_set"]


class LikelihoodRatio:
    """Likelihood-ratio OOD detector with PixelCNN model and background.

    Parameters
    ----------
    mutation_rate : float, default=0.15
        Perturbation rate ``mu`` of the background's training images (the paper uses
        0.1-0.2 for Fashion-MNIST).
    l2 : float, default=1e-4
        L2 coefficient ``lambda`` on the background's weights (the model has none). The
        training loss is the mean NLL *per pixel* (nats), so a weight ``w`` on the NLL of a
        whole ``H x W`` image (the scale of Ren et al.'s ``reg_weight``, grid {0, 10, 100})
        is ``l2 = w / (H W)`` here (10 -> 0.0128, 100 -> 0.128 for 28 x 28).
    n_levels, channels, n_layers, first_kernel, gated, n_mix
        The PixelCNN architecture (:class:`~assay.ood.pixelcnn.PixelCNN`), the same for both:
        ``gated=True`` for the gated PixelCNN (vertical and horizontal stacks, no blind
        spot), ``n_mix >= 1`` (gated only) for a mixture of ``n_mix`` discretised logistics
        per pixel instead of the softmax over ``n_levels`` levels. Ren et al.'s released
        code uses a gated network (the PixelCNN++ of TensorFlow Probability) with 32
        filters, 5 layers and one logistic component.
    steps, batch_size, lr : training schedule of each model (Adam).
    max_seconds : float or None
        Wall-clock budget of each model's training (stop early).
    checkpoint_dir : path or None
        Resumable checkpoints ``model.pt`` and ``background.pt`` in this folder.
    seed : int
        Seeds the initial weights, the data order and the perturbations.
    progress : bool
        Show a progress bar while training.

    Attributes
    ----------
    model_, background_ : PixelCNN
    log_model_, log_background_ : TrainLog
    image_shape_ : (H, W)
    """

    def __init__(
        self,
        mutation_rate: float = 0.15,
        l2: float = 1e-4,
        *,
        n_levels: int = 256,
        channels: int = 32,
        n_layers: int = 4,
        first_kernel: int = 7,
        gated: bool = False,
        n_mix: int = 0,
        steps: int = 1000,
        batch_size: int = 64,
        lr: float = 1e-3,
        max_seconds: float | None = None,
        checkpoint_dir: str | Path | None = None,
        seed: int = 0,
        progress: bool = False,
    ) -> None:
        self.mutation_rate = mutation_rate
        self.l2 = l2
        self.n_levels = n_levels
        self.channels = channels
        self.n_layers = n_layers
        self.first_kernel = first_kernel
        self.gated = gated
        self.n_mix = n_mix
        self.steps = steps
        self.batch_size = batch_size
        self.lr = lr
        self.max_seconds = max_seconds
        self.checkpoint_dir = checkpoint_dir
        self.seed = seed
        self.progress = progress

    def _new_model(self, seed: int) -> PixelCNN:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return PixelCNN(
                self.n_levels, self.channels, self.n_layers, self.first_kernel,
                gated=self.gated, n_mix=self.n_mix,
            )  # fmt: skip

    def fit(self, images: Any, labels: Any = None) -> LikelihoodRatio:
        """Train the model on ``images`` (integer levels, ``(n, H, W)``) and the background
        on their perturbed copies. ``labels`` are ignored."""
        rate = self.mutation_rate
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= 1:
            raise ValueError(
                "The 'mutation_rate' parameter of LikelihoodRatio must be a float in (0, 1]. "
                f"Got {rate!r} instead."
            )
        x = check_images(images, self.n_levels, func="LikelihoodRatio.fit")
        ck = None if self.checkpoint_dir is None else Path(self.checkpoint_dir)
        common: dict[str, Any] = {
            "steps": self.steps,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "max_seconds": self.max_seconds,
            "progress": self.progress,
        }
        model = self._new_model(self.seed)
        log_m = train_pixelcnn(
            model, x, seed=self.seed, desc="model", **common,
            checkpoint=None if ck is None else ck / "model.pt",
        )  # fmt: skip
        background = self._new_model(self.seed + 1)
        log_b = train_pixelcnn(
            background, x, seed=self.seed + 1, mutation_rate=float(rate), l2=self.l2,
            desc="background", **common,
            checkpoint=None if ck is None else ck / "background.pt",
        )  # fmt: skip
        self.model_, self.background_ = model, background
        self.log_model_, self.log_background_ = log_m, log_b
        self.image_shape_ = tuple(x.shape[1:])
        return self

    def _check(self, images: Any, func: str) -> NDArray[np.int64]:
        check_fitted(self, "model_")
        x = check_images(images, self.n_levels, func=func)
        if tuple(x.shape[1:]) != self.image_shape_:
            raise ValueError(
                f"The 'images' parameter of {func} must be images of shape {self.image_shape_} "
                f"(as at fit). Got {tuple(x.shape[1:])} instead."
            )
        return x

    def pixel_llr(self, images: Any) -> F64:
        """``(n, H, W)`` per-pixel ``log p_model(x_i | x_<i) - log p_background(x_i | x_<i)``
        (nats): which pixels carry the ratio. ``score`` is minus its sum over pixels."""
        x = self._check(images, "LikelihoodRatio.pixel_llr")
        out: F64 = log_prob_pixels(self.model_, x) - log_prob_pixels(self.background_, x)
        return out

    def log_likelihood(self, images: Any) -> F64:
        """``(n,)`` log p_model(x) in nats."""
        x = self._check(images, "LikelihoodRatio.log_likelihood")
        out: F64 = log_prob_pixels(self.model_, x).reshape(x.shape[0], -1).sum(axis=1)
        return out

    def likelihood_score(self, images: Any) -> F64:
        """The plain likelihood baseline as an outlier score: ``-log p_model(x)``."""
        return -self.log_likelihood(images)

    def score(self, images: Any) -> F64:
        """Outlier score ``-(log p_model(x) - log p_background(x))`` (larger = more OOD)."""
        x = self._check(images, "LikelihoodRatio.score")
        lp = log_prob_pixels(self.model_, x).reshape(x.shape[0], -1).sum(axis=1)
        lb = log_prob_pixels(self.background_, x).reshape(x.shape[0], -1).sum(axis=1)
        out: F64 = -(lp - lb)
        return out

    def complexity_score(self, images: Any) -> F64:
        """Input-complexity correction (Serra et al. 2020), a background that needs no
        training: the likelihood ratio against a universal compressor ``p_0(x) =
        2^-L(x)``, ``L`` the deflate length in bits (:func:`compressed_bits`). Outlier score
        ``-(log2 p_model(x) + L(x))`` (larger = more OOD)."""
        x = self._check(images, "LikelihoodRatio.complexity_score")
        lp = log_prob_pixels(self.model_, x).reshape(x.shape[0], -1).sum(axis=1)
        out: F64 = -(lp / np.log(2.0) + compressed_bits(x))
        return out

    def save(self, path: str | Path) -> None:
        """Save the fitted detector (configuration, both models, logs) to one file."""
        check_fitted(self, "model_")
        state = {
            "params": {k: v for k, v in vars(self).items() if not k.endswith("_")},
            "model": self.model_.state_dict(),
            "background": self.background_.state_dict(),
            "log_model": self.log_model_.to_dict(),
            "log_background": self.log_background_.to_dict(),
            "image_shape": list(self.image_shape_),
        }
        state["params"]["checkpoint_dir"] = (
            None if self.checkpoint_dir is None else str(self.checkpoint_dir)
        )
        with atomic_path(path) as tmp:
            torch.save(state, tmp)

    @classmethod
    def load(cls, path: str | Path) -> LikelihoodRatio:
        """A detector saved by :meth:`save`."""
        state = torch.load(Path(path), weights_only=False)
        det = cls(**state["params"])
        det.model_ = det._new_model(0)
        det.model_.load_state_dict(state["model"])
        det.background_ = det._new_model(0)
        det.background_.load_state_dict(state["background"])
        det.model_.eval()
        det.background_.eval()
        det.log_model_ = TrainLog(**state["log_model"])
        det.log_background_ = TrainLog(**state["log_background"])
        det.image_shape_ = tuple(state["image_shape"])
        return det


def warn_if_same_set(validation: Any, test: Any, *, what: str = "OOD") -> bool:
    """Warn (and return True) when a validation set used to choose hyperparameters (for
    the likelihood ratio: ``mutation_rate`` and ``l2``) is the test set: choose on another
    OOD set (the paper chooses on notMNIST and tests on MNIST)."""
    a, b = np.asarray(validation), np.asarray(test)
    same = a.shape == b.shape and bool(np.array_equal(a, b))
    if same:
        warnings.warn(
            f"The validation {what} set equals the test {what} set: hyperparameters chosen on "
            "it overstate the test performance; choose them on another set.",
            UserWarning,
            stacklevel=2,
        )
    return same
