"""Deep ensembles (Lakshminarayanan et al. 2017) and MC dropout (Gal & Ghahramani 2016)
around the user's own PyTorch model.

Both give member (or sample) probabilities ``(M, n, K)``; the predictive distribution is
their mean and the uncertainty scores (:func:`uncertainty_scores`) are **larger = more
uncertain**, so each serves as an out-of-distribution score (``assay.evaluate(...,
task="ood")``).

Requires PyTorch (``pip install 'assay[torch]'``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._util.optional import require
from .._util.progress import Progress
from .metrics import disagreement, expected_entropy, mutual_information, predictive_entropy

require("torch", "torch", purpose="assay.uncertainty ensembles and MC dropout")

import torch  # noqa: E402
from torch import nn  # noqa: E402

F64 = NDArray[np.float64]

#: Names of the scores :func:`uncertainty_scores` returns.
SCORES = ("predictive_entropy", "mutual_information", "expected_entropy", "disagreement",
          "one_minus_max_prob")  # fmt: skip


def uncertainty_scores(member_probs: Any) -> dict[str, F64]:
    """Per-row uncertainty scores from member probabilities ``(M, n, K)``, all larger = more
    uncertain: predictive entropy of the mean (total), mutual information (epistemic),
    expected entropy (aleatoric), disagreement with the ensemble's arg-max, and
    ``1 - max_k mean_m p_mk``."""
    a = member_probs.detach().cpu().numpy() if hasattr(member_probs, "detach") else member_probs
    a = np.asarray(a, dtype=np.float64)
    mean = a.mean(axis=0) if a.ndim == 3 else a
    return {
        "predictive_entropy": predictive_entropy(mean),
        "mutual_information": mutual_information(a),
        "expected_entropy": expected_entropy(a),
        "disagreement": disagreement(a),
        "one_minus_max_prob": 1.0 - mean.max(axis=1),
    }


def _batches(x: Any, batch_size: int | None) -> list[Any]:
    if batch_size is None:
        return [x]
    return [x[i : i + batch_size] for i in range(0, x.shape[0], batch_size)]


def _probs(out: Any, output: str) -> Any:
    if output == "logits":
        return torch.softmax(out, dim=-1)
    return out


def _check_output(output: str, func: str) -> None:
    if output not in ("logits", "probs"):
        raise ValueError(
            f"The 'output' parameter of {func} must be 'logits' or 'probs'. Got {output!r} instead."
        )


@torch.no_grad()
def predict_member_probs(
    models: Sequence[Any], x: Any, *, output: str = "logits", batch_size: int | None = None
) -> F64:
    """``(M, n, K)`` class probabilities of each model (in eval mode) on ``x``."""
    _check_output(output, "predict_member_probs")
    out = []
    for mdl in models:
        was = mdl.training
        mdl.eval()
        out.append(torch.cat([_probs(mdl(b), output) for b in _batches(x, batch_size)]))
        mdl.train(was)
    res: F64 = torch.stack(out).double().cpu().numpy()
    return res


class DeepEnsemble:
    """``n_members`` copies of a model, each initialised and trained with its own seed.

    ``factory()`` builds a fresh ``nn.Module`` (called under ``torch.manual_seed(seed)``, so
    its initialisation differs per member); ``train_fn(model, seed, *args, **kwargs)`` trains
    it in place (or returns the trained model), also under that seed (shuffling, dropout).
    Seeds are ``seed, seed + 1, ...`` unless ``seeds`` is given. The global torch RNG is
    restored afterwards. Members: ``members_``.
    """

    def __init__(
        self,
        factory: Callable[[], Any],
        train_fn: Callable[..., Any] | None = None,
        n_members: int = 5,
        *,
        seed: int = 0,
        seeds: Sequence[int] | None = None,
        output: str = "logits",
        progress: bool = False,
    ) -> None:
        if isinstance(n_members, bool) or not isinstance(n_members, int) or n_members < 1:
            raise ValueError(f"The 'n_members' parameter of DeepEnsemble must be an int >= 1. Got {n_members!r} instead.")
        if seeds is not None and len(seeds) != n_members:
            raise ValueError(
                f"The 'seeds' parameter of DeepEnsemble must list one seed per member "
                f"({n_members}). Got {len(seeds)} seeds instead."
            )
        _check_output(output, "DeepEnsemble")
        self.factory = factory
        self.train_fn = train_fn
        self.n_members = n_members
        self.seed = seed
        self.seeds = seeds
        self.output = output
        self.progress = progress

    def fit(self, *args: Any, **kwargs: Any) -> DeepEnsemble:
        """Build and train every member (``train_fn(model, seed, *args, **kwargs)``)."""
        seeds = list(self.seeds) if self.seeds is not None else [self.seed + i for i in range(self.n_members)]
        members = []
        with Progress(len(seeds), desc="ensemble members", unit="members", enabled=self.progress) as bar:
            for s in seeds:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(int(s))
                    model = self.factory()
                    if self.train_fn is not None:
                        ret = self.train_fn(model, int(s), *args, **kwargs)
                        model = model if ret is None else ret
                members.append(model)
                bar.update()
        self.members_ = members
        self.seeds_ = seeds
        return self

    def member_probs(self, x: Any, *, batch_size: int | None = None) -> F64:
        """``(M, n, K)`` probabilities of each member."""
        if not hasattr(self, "members_"):
            raise RuntimeError("DeepEnsemble: not fitted; call fit first.")
        return predict_member_probs(self.members_, x, output=self.output, batch_size=batch_size)

    def predict_proba(self, x: Any, *, batch_size: int | None = None) -> F64:
        """The ensemble's predictive distribution: the members' mean probabilities."""
        out: F64 = self.member_probs(x, batch_size=batch_size).mean(axis=0)
        return out

    def uncertainty(self, x: Any, *, batch_size: int | None = None) -> dict[str, F64]:
        """:func:`uncertainty_scores` of the members on ``x``."""
        return uncertainty_scores(self.member_probs(x, batch_size=batch_size))


_DROPOUT = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout,
            nn.FeatureAlphaDropout)  # fmt: skip


def dropout_modules(model: Any) -> list[Any]:
    """The dropout layers of ``model``."""
    return [m for m in model.modules() if isinstance(m, _DROPOUT)]


@torch.no_grad()
def mc_dropout_probs(
    model: Any,
    x: Any,
    n_samples: int = 10,
    *,
    seed: int = 0,
    output: str = "logits",
    batch_size: int | None = None,
    require_dropout: bool = True,
) -> F64:
    """MC dropout: ``(n_samples, n, K)`` probabilities with the model in eval mode except its
    dropout layers, which stay active (batch norm and the rest keep their eval behaviour).

    Seeded (``seed``; the global torch RNG is restored) and reproducible; the model's
    training flags are restored afterwards. Without any dropout layer it raises unless
    ``require_dropout=False`` (then every sample is the same).
    """
    func = "mc_dropout_probs"
    _check_output(output, func)
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"The 'n_samples' parameter of {func} must be an int >= 1. Got {n_samples!r} instead.")
    drops = dropout_modules(model)
    if not drops and require_dropout:
        raise ValueError(
            f"The 'model' passed to {func} has no dropout layer (nn.Dropout and variants), so "
            "MC dropout would repeat one deterministic prediction. Add dropout, or pass "
            "require_dropout=False."
        )
    flags = {m: m.training for m in model.modules()}
    try:
        model.eval()
        for d in drops:
            d.train()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            out = [
                torch.cat([_probs(model(b), output) for b in _batches(x, batch_size)])
                for _ in range(n_samples)
            ]
    finally:
        for m, f in flags.items():
            m.training = f
    res: F64 = torch.stack(out).double().cpu().numpy()
    return res


class MCDropout:
    """A thin class over :func:`mc_dropout_probs` with the ensemble's interface."""

    def __init__(self, model: Any, n_samples: int = 10, *, seed: int = 0, output: str = "logits") -> None:
        self.model = model
        self.n_samples = n_samples
        self.seed = seed
        self.output = output

    def member_probs(self, x: Any, *, batch_size: int | None = None) -> F64:
        return mc_dropout_probs(self.model, x, self.n_samples, seed=self.seed, output=self.output,
                                batch_size=batch_size)  # fmt: skip

    def predict_proba(self, x: Any, *, batch_size: int | None = None) -> F64:
        out: F64 = self.member_probs(x, batch_size=batch_size).mean(axis=0)
        return out

    def uncertainty(self, x: Any, *, batch_size: int | None = None) -> dict[str, F64]:
        return uncertainty_scores(self.member_probs(x, batch_size=batch_size))
