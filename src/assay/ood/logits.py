"""Detectors on classifier logits: maximum softmax probability, entropy, max logit, energy
and ensemble disagreement.

Every score is an outlier score: **larger means more out-of-distribution**. The functions
take logits of shape ``(n, classes)`` (NumPy arrays or torch tensors) and return a float64
array of ``n`` scores. The classes are thin wrappers with the common detector API
(``fit`` returns ``self``; nothing is learned).

References: Hendrycks & Gimpel (2017) for the maximum softmax probability; Liu et al. (2020)
for the energy score; Hendrycks et al. (2022) for the max logit; Lakshminarayanan et al.
(2017) for ensembles.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ._common import F64, as_float_array, check_temperature, logsumexp, softmax


def msp_score(logits: Any, temperature: float = 1.0) -> F64:
    """Negative maximum softmax probability, ``-max_k softmax(logits / T)_k``."""
    t = check_temperature(temperature, "msp_score")
    z = as_float_array(logits, "logits", func="msp_score")
    out: F64 = -np.max(softmax(z / t), axis=1)
    return out


def entropy_score(logits: Any) -> F64:
    """Entropy (nats) of the softmax distribution, ``-sum_k p_k log p_k``."""
    z = as_float_array(logits, "logits", func="entropy_score")
    logp = z - logsumexp(z)[:, None]
    out: F64 = -np.sum(np.exp(logp) * logp, axis=1)
    return out


def max_logit_score(logits: Any) -> F64:
    """Negative maximum logit, ``-max_k logits_k``."""
    z = as_float_array(logits, "logits", func="max_logit_score")
    out: F64 = -np.max(z, axis=1)
    return out


def energy_score(logits: Any, temperature: float = 1.0) -> F64:
    """Free energy ``-T logsumexp(logits / T)`` (Liu et al. 2020); larger = more OOD."""
    t = check_temperature(temperature, "energy_score")
    z = as_float_array(logits, "logits", func="energy_score")
    out: F64 = -t * logsumexp(z / t)
    return out


def ensemble_disagreement_score(
    logits: Any, kind: Literal["mutual_information", "entropy", "variance"] = "mutual_information"
) -> F64:
    """Disagreement of an ensemble from its members' logits, shape ``(members, n, classes)``.

    ``"mutual_information"``: entropy of the mean prediction minus the mean of the members'
    entropies (the mean KL divergence of each member from the ensemble mean);
    ``"entropy"``: entropy of the mean prediction; ``"variance"``: the variance across
    members of the probability of the ensemble's predicted class.
    """
    func = "ensemble_disagreement_score"
    if isinstance(logits, list | tuple):
        logits = np.stack([as_float_array(m, "logits", func=func) for m in logits])
    z = as_float_array(logits, "logits", func=func, ndim=3)
    if kind not in ("mutual_information", "entropy", "variance"):
        raise ValueError(
            f"The 'kind' parameter of {func} must be one of {{'mutual_information', "
            f"'entropy', 'variance'}}. Got {kind!r} instead."
        )
    p = softmax(z, axis=2)
    mean = p.mean(axis=0)
    h_mean = -np.sum(mean * np.log(np.clip(mean, 1e-300, None)), axis=1)
    if kind == "entropy":
        return h_mean
    if kind == "variance":
        top = np.argmax(mean, axis=1)
        pt = p[:, np.arange(p.shape[1]), top]
        out_v: F64 = pt.var(axis=0)
        return out_v
    logp = z - logsumexp(z, axis=2)[..., None]
    h_members = -np.sum(p * logp, axis=2).mean(axis=0)
    out: F64 = np.maximum(h_mean - h_members, 0.0)
    return out


class _LogitDetector:
    """Common API of the fit-free logit detectors."""

    def fit(self, logits: Any = None, labels: Any = None) -> _LogitDetector:
        """Nothing to learn; returns ``self`` for the common detector API."""
        return self

    def score(self, logits: Any) -> F64:  # pragma: no cover - overridden
        raise NotImplementedError

    def score_model(self, model: Any, loader: Any, *, device: Any = None) -> F64:
        """Scores of the inputs of ``loader`` through ``model`` (a torch module)."""
        from .torch_utils import collect

        return self.score(collect(model, loader, device=device).logits)


class MSP(_LogitDetector):
    """Maximum softmax probability detector (:func:`msp_score`)."""

    def __init__(self, temperature: float = 1.0) -> None:
        self.temperature = temperature

    def score(self, logits: Any) -> F64:
        return msp_score(logits, self.temperature)


class Entropy(_LogitDetector):
    """Softmax entropy detector (:func:`entropy_score`)."""

    def score(self, logits: Any) -> F64:
        return entropy_score(logits)


class MaxLogit(_LogitDetector):
    """Max logit detector (:func:`max_logit_score`)."""

    def score(self, logits: Any) -> F64:
        return max_logit_score(logits)


class Energy(_LogitDetector):
    """Energy detector (:func:`energy_score`)."""

    def __init__(self, temperature: float = 1.0) -> None:
        self.temperature = temperature

    def score(self, logits: Any) -> F64:
        return energy_score(logits, self.temperature)


class EnsembleDisagreement:
    """Ensemble detector: ``score`` takes the members' logits ``(members, n, classes)``
    (:func:`ensemble_disagreement_score`)."""

    def __init__(
        self, kind: Literal["mutual_information", "entropy", "variance"] = "mutual_information"
    ) -> None:
        self.kind = kind

    def fit(self, logits: Any = None, labels: Any = None) -> EnsembleDisagreement:
        return self

    def score(self, logits: Any) -> F64:
        return ensemble_disagreement_score(logits, self.kind)

    def score_models(self, models: Any, loader: Any, *, device: Any = None) -> F64:
        """Scores of the inputs of ``loader`` through each of ``models``."""
        from .torch_utils import collect

        return self.score(np.stack([collect(m, loader, device=device).logits for m in models]))
