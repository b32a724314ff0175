"""Detectors that need a torch model: ODIN and Mahalanobis with input perturbation against
pytorch-ood on the same model and inputs, the perturbation against its closed form on a
linear model, their sign, and collecting logits/features from a model and a data loader."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from assay import ood

torch = pytest.importorskip("torch")


def _model(seed: int = 0) -> Any:
    torch.manual_seed(seed)
    body = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh()).double()
    head = torch.nn.Linear(8, 3).double()
    return torch.nn.Sequential(body, head), body


def _inputs(n: int = 40, seed: int = 1) -> Any:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 4, generator=g, dtype=torch.float64)


def _float64(fn: Any) -> Any:
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return fn()
    finally:
        torch.set_default_dtype(old)


@pytest.mark.parametrize(("temperature", "epsilon"), [(1.0, 0.0), (1000.0, 0.0014), (10.0, 0.05)])
def test_odin_against_pytorch_ood(pood: Any, temperature: float, epsilon: float) -> None:
    model, _ = _model()
    x = _inputs()
    ours = ood.ODIN(model, temperature=temperature, epsilon=epsilon).fit().score(x)
    theirs = pood.ODIN(model, eps=epsilon, temperature=temperature).predict(x)
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_odin_without_perturbation_is_tempered_msp() -> None:
    model, _ = _model()
    x = _inputs()
    with torch.no_grad():
        logits = model(x).numpy()
    np.testing.assert_allclose(
        ood.odin_score(model, x, temperature=5.0, epsilon=0.0), ood.msp_score(logits, 5.0)
    )


def test_odin_perturbation_closed_form_on_a_linear_model() -> None:
    # logits = W x: the gradient of -log softmax_yhat(Wx / T) is W^T (p - e_yhat) / T, so the
    # step is x' = x - eps * sign(W^T (p - e_yhat)).
    torch.manual_seed(3)
    lin = torch.nn.Linear(4, 3, bias=False).double()
    x = _inputs(10)
    t, eps = 2.0, 0.1
    w = lin.weight.detach().numpy()
    z = x.numpy() @ w.T / t
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    onehot = np.eye(3)[z.argmax(1)]
    xp = x.numpy() - eps * np.sign((p - onehot) @ w)
    expected = ood.msp_score(xp @ w.T, t)
    np.testing.assert_allclose(ood.odin_score(lin, x, t, eps), expected, rtol=1e-10)


def test_odin_sign_prototypes_versus_the_origin() -> None:
    lin = torch.nn.Linear(3, 3, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(torch.eye(3, dtype=torch.float64) * 4)
    x_in = torch.eye(3, dtype=torch.float64) * 3  # each near one class prototype
    x_out = torch.zeros(3, 3, dtype=torch.float64) + 0.01  # flat logits
    det = ood.ODIN(lin, temperature=10.0, epsilon=0.01)
    assert det.score(x_out).min() > det.score(x_in).max()


def test_mahalanobis_perturbed_against_pytorch_ood(pood: Any) -> None:
    _, body = _model()
    x_fit = _inputs(120, seed=2)
    y_fit = torch.arange(120) % 3
    x = _inputs(30, seed=4)
    n = x_fit.shape[0]
    for eps in (0.0, 0.002, 0.05):
        ours = ood.MahalanobisPerturbed(body, epsilon=eps, reg=1e-6 / n).fit(x_fit, y_fit)

        def theirs_score(eps: float = eps) -> Any:
            det = pood.MahalanobisODIN(body, eps=eps)
            with torch.no_grad():
                det.fit_features(body(x_fit), y_fit)
            return det.predict(x).detach().numpy()

        # pytorch-ood: half the squared distance under the covariance summed over n rows
        np.testing.assert_allclose(ours.score(x), 2 * n * _float64(theirs_score), rtol=1e-6)


def test_mahalanobis_perturbed_moves_towards_the_closest_mean() -> None:
    _, body = _model()
    x_fit = _inputs(120, seed=2)
    y_fit = torch.arange(120) % 3
    x = _inputs(30, seed=4)
    plain = ood.MahalanobisPerturbed(body, epsilon=0.0).fit(x_fit, y_fit)
    with torch.no_grad():
        np.testing.assert_allclose(
            plain.score(x), ood.Mahalanobis().fit(body(x_fit), y_fit).score(body(x)), rtol=1e-9
        )
    moved = ood.MahalanobisPerturbed(body, epsilon=0.01).fit(x_fit, y_fit).score(x)
    assert np.all(moved <= plain.score(x) + 1e-12)


def test_collect_from_a_data_loader() -> None:
    model, body = _model()
    x = _inputs(50)
    y = torch.arange(50) % 3
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
    out = ood.collect(model, loader, features=body)
    with torch.no_grad():
        np.testing.assert_allclose(out.logits, model(x).numpy())
        assert out.features is not None
        np.testing.assert_allclose(out.features, body(x).numpy())
    assert out.labels is not None
    np.testing.assert_array_equal(out.labels, y.numpy())
    np.testing.assert_allclose(
        ood.Energy().score_model(model, loader), ood.energy_score(out.logits)
    )
    # the ODIN detector takes the same loader
    np.testing.assert_allclose(
        ood.ODIN(model, epsilon=0.0).score(loader), ood.msp_score(out.logits, 1000.0)
    )
    # and so does the perturbed Mahalanobis detector (labels from the loader)
    det = ood.MahalanobisPerturbed(body, epsilon=0.0).fit(loader)
    np.testing.assert_allclose(
        det.score(loader), ood.Mahalanobis().fit(out.features, y.numpy()).score(out.features)
    )
    assert model.training  # modes are restored


def test_model_detector_errors() -> None:
    model, body = _model()
    with pytest.raises(
        ValueError, match=r"'epsilon' parameter of odin_score must be a float >= 0\. Got -1"
    ):
        ood.odin_score(model, _inputs(), epsilon=-1.0)
    with pytest.raises(
        ValueError, match=r"'temperature' parameter of odin_score must be a positive"
    ):
        ood.odin_score(model, _inputs(), temperature=0.0)
    with pytest.raises(ood.NotFittedError, match=r"This MahalanobisPerturbed is not fitted yet"):
        ood.MahalanobisPerturbed(body).score(_inputs())
    with pytest.raises(
        ValueError, match=r"'labels' parameter of MahalanobisPerturbed.fit is required"
    ):
        ood.MahalanobisPerturbed(body).fit(_inputs())
    with pytest.raises(ValueError, match=r"'loader' parameter of collect yielded no batches"):
        ood.collect(model, [])


def test_mahalanobis_perturbed_sign_far_inputs_score_higher() -> None:
    g = torch.Generator().manual_seed(0)
    means = torch.tensor([[0.0, 0.0, 0.0], [5.0, 0.0, 0.0]], dtype=torch.float64)
    y = torch.arange(100) % 2
    x_fit = means[y] + torch.randn(100, 3, generator=g, dtype=torch.float64)
    det = ood.MahalanobisPerturbed(lambda x: x * 1.0, epsilon=0.01).fit(x_fit, y)
    near = means[torch.arange(10) % 2] + 0.3 * torch.randn(10, 3, generator=g, dtype=torch.float64)
    far = near + torch.tensor([0.0, 10.0, -10.0], dtype=torch.float64)
    assert det.score(far).min() > det.score(near).max()


def test_fitted_detectors_pickle() -> None:
    import pickle

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 4)), np.arange(60) % 3
    w, b = rng.normal(size=(3, 4)), rng.normal(size=3)
    for det in (ood.Mahalanobis().fit(x, y), ood.RelativeMahalanobis().fit(x, y),
                ood.KNN(k=3).fit(x), ood.ViM(w, b, dim=2).fit(x)):  # fmt: skip
        back = pickle.loads(pickle.dumps(det))
        np.testing.assert_array_equal(back.score(x[:5]), det.score(x[:5]))
