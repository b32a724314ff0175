"""Logit detectors: sign on a known fixture, values against closed forms (SciPy) and
pytorch-ood on the same logits, and the error messages."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.special import logsumexp, softmax
from scipy.stats import entropy

from assay import ood

RNG = np.random.default_rng(0)
LOGITS = RNG.normal(scale=3.0, size=(64, 5))

#: A confident prediction (in-distribution-like) and a flat one (OOD-like).
CONFIDENT = np.array([[12.0, 0.0, 0.0, 0.0]])
FLAT = np.array([[1.0, 1.0, 1.0, 1.0]])


@pytest.mark.parametrize(
    "func",
    [ood.msp_score, ood.entropy_score, ood.max_logit_score, ood.energy_score],
)
def test_flat_logits_score_higher_than_confident(func: Any) -> None:
    assert func(FLAT)[0] > func(CONFIDENT)[0]


def test_values_against_closed_forms() -> None:
    p = softmax(LOGITS, axis=1)
    np.testing.assert_allclose(ood.msp_score(LOGITS), -p.max(axis=1), rtol=1e-12)
    p_t = softmax(LOGITS / 2.5, axis=1)
    np.testing.assert_allclose(ood.msp_score(LOGITS, temperature=2.5), -p_t.max(axis=1))
    np.testing.assert_allclose(ood.entropy_score(LOGITS), entropy(p, axis=1), rtol=1e-10)
    np.testing.assert_allclose(ood.max_logit_score(LOGITS), -LOGITS.max(axis=1))
    np.testing.assert_allclose(ood.energy_score(LOGITS), -logsumexp(LOGITS, axis=1))
    np.testing.assert_allclose(
        ood.energy_score(LOGITS, temperature=3.0), -3.0 * logsumexp(LOGITS / 3.0, axis=1)
    )


def test_values_against_pytorch_ood(pood: Any) -> None:
    import torch

    z = torch.tensor(LOGITS, dtype=torch.float64)
    pairs = [
        (ood.msp_score(LOGITS), pood.MaxSoftmax(None).predict_logits(z)),
        (ood.msp_score(LOGITS, 2.0), pood.MaxSoftmax(None, t=2.0).predict_logits(z)),
        (ood.entropy_score(LOGITS), pood.Entropy(None).predict_logits(z)),
        (ood.max_logit_score(LOGITS), pood.MaxLogit(None).predict_logits(z)),
        (ood.energy_score(LOGITS), pood.EnergyBased(None).predict_logits(z)),
        (ood.energy_score(LOGITS, 4.0), pood.EnergyBased(None, t=4.0).predict_logits(z)),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-9, atol=1e-12)


def test_tensors_and_arrays_give_the_same_scores() -> None:
    import torch

    t = torch.tensor(LOGITS, dtype=torch.float32, requires_grad=True)
    for func in (ood.msp_score, ood.entropy_score, ood.max_logit_score, ood.energy_score):
        out = func(t)
        assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.shape == (64,)
        np.testing.assert_allclose(out, func(LOGITS.astype(np.float32)), rtol=1e-6)


def test_classes_match_functions() -> None:
    det: Any
    for det, func in [
        (ood.MSP(temperature=2.0), lambda z: ood.msp_score(z, 2.0)),
        (ood.Entropy(), ood.entropy_score),
        (ood.MaxLogit(), ood.max_logit_score),
        (ood.Energy(temperature=0.5), lambda z: ood.energy_score(z, 0.5)),
    ]:
        assert det.fit(LOGITS) is det
        np.testing.assert_array_equal(det.score(LOGITS), func(LOGITS))


def test_energy_is_numerically_stable_for_large_logits() -> None:
    z = np.array([[1000.0, 999.0], [-1000.0, -1000.0]])
    np.testing.assert_allclose(ood.energy_score(z), -logsumexp(z, axis=1))
    np.testing.assert_allclose(ood.msp_score(z), -softmax(z, axis=1).max(axis=1))


def test_ensemble_disagreement_against_closed_form() -> None:
    members = RNG.normal(scale=2.0, size=(4, 30, 3))
    p = softmax(members, axis=2)
    mean = p.mean(axis=0)
    mi = entropy(mean, axis=1) - np.mean([entropy(pm, axis=1) for pm in p], axis=0)
    np.testing.assert_allclose(ood.ensemble_disagreement_score(members), mi, atol=1e-12)
    np.testing.assert_allclose(
        ood.ensemble_disagreement_score(members, kind="entropy"), entropy(mean, axis=1)
    )
    top = mean.argmax(axis=1)
    var = p[:, np.arange(30), top].var(axis=0)
    np.testing.assert_allclose(ood.ensemble_disagreement_score(members, kind="variance"), var)
    # a list of members is the same as the stacked array
    np.testing.assert_allclose(
        ood.EnsembleDisagreement().fit().score(list(members)),
        ood.ensemble_disagreement_score(members),
    )


def test_ensemble_sign_disagreeing_members_score_higher() -> None:
    agree = np.stack([[[8.0, 0.0, 0.0]]] * 3)  # every member says class 0
    disagree = np.array([[[8.0, 0.0, 0.0]], [[0.0, 8.0, 0.0]], [[0.0, 0.0, 8.0]]])
    for kind in ("mutual_information", "entropy", "variance"):
        a = ood.ensemble_disagreement_score(agree, kind=kind)[0]  # type: ignore[arg-type]
        d = ood.ensemble_disagreement_score(disagree, kind=kind)[0]  # type: ignore[arg-type]
        assert d > a
    assert ood.ensemble_disagreement_score(agree)[0] == pytest.approx(0.0, abs=1e-12)


def test_nan_logits_are_an_error() -> None:
    z = LOGITS.copy()
    z[3, 1] = np.nan
    with pytest.raises(
        ValueError, match=r"'logits' parameter of msp_score must be finite\. Got 1 NaN"
    ):
        ood.msp_score(z)


def test_logits_of_the_wrong_shape() -> None:
    with pytest.raises(
        ValueError, match=r"'logits' parameter of energy_score must have 2 dim.*\(5,\)"
    ):
        ood.energy_score(np.zeros(5))
    with pytest.raises(ValueError, match=r"must not be empty"):
        ood.entropy_score(np.zeros((0, 3)))
    with pytest.raises(TypeError, match=r"'logits' parameter of max_logit_score must be a numeric"):
        ood.max_logit_score([["a", "b"]])
    with pytest.raises(ValueError, match=r"ensemble_disagreement_score must have 3 dim"):
        ood.ensemble_disagreement_score(LOGITS)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("inf"), float("nan")])
def test_bad_temperature_value(bad: float) -> None:
    with pytest.raises(
        ValueError, match=r"'temperature' parameter of energy_score must be a positive"
    ):
        ood.energy_score(LOGITS, temperature=bad)


def test_bad_temperature_type() -> None:
    with pytest.raises(
        TypeError, match=r"'temperature' parameter of msp_score .* Got True of type bool"
    ):
        ood.msp_score(LOGITS, temperature=True)
    with pytest.raises(ValueError, match=r"'kind' parameter of ensemble_disagreement_score"):
        ood.ensemble_disagreement_score(LOGITS[None], kind="nope")  # type: ignore[arg-type]
