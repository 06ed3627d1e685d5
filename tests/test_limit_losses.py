"""LIMIT losses and baselines on tiny hand-computed examples (seed 001)."""

from __future__ import annotations

import math

import pytest
import torch

from labelrepro.papers.limit.losses import (
    ce_logit_gradient,
    dmi_loss,
    estimate_transition_matrix,
    forward_corrected_ce,
    limit_classifier_surrogate,
    limit_predictor_loss,
    mae_loss,
    official_sampling_std,
    predicted_gradient,
    sample_noise,
    sample_predicted_gradient,
    soft_regularization_loss,
    with_logit_gradient_noise,
)
from labelrepro.papers.limit.methods import METHODS, table_order

LN3 = math.log(3.0)
# logits [ln 3, 0] -> softmax [3/4, 1/4]; logits [0, ln 3] -> [1/4, 3/4]


def test_mae_is_two_minus_two_p_y() -> None:
    logits = torch.tensor([[0.0, LN3], [0.0, LN3]])
    # row 1, y=1: |1/4 - 0| + |3/4 - 1| = 0.5 = 2 - 2*3/4; row 2, y=0: 3/4 + 3/4 = 1.5; mean = 1.0
    assert mae_loss(logits, torch.tensor([1, 0])).item() == pytest.approx(1.0)
    assert mae_loss(logits[:1], torch.tensor([1])).item() == pytest.approx(0.5)


def test_dmi_on_2x2_by_hand() -> None:
    logits = torch.tensor([[LN3, 0.0], [0.0, LN3]])
    y = torch.tensor([0, 1])
    # U = O^T Y = [[3/4, 1/4], [1/4, 3/4]]; det = 9/16 - 1/16 = 1/2
    assert dmi_loss(logits, y, 2, eps=0.0).item() == pytest.approx(math.log(2.0), rel=1e-6)
    assert dmi_loss(logits, y, 2).item() == pytest.approx(-math.log(0.5 + 1e-3), rel=1e-6)
    # paper normalisation U / N (N = 2): det = 1/2 / 4 = 1/8
    assert dmi_loss(logits, y, 2, eps=0.0, normalize=True).item() == pytest.approx(math.log(8.0), rel=1e-6)
    # swapping the labels: U = [[1/4, 3/4], [3/4, 1/4]], det = -1/2, |det| = 1/2
    assert dmi_loss(logits, y.flip(0), 2, eps=0.0).item() == pytest.approx(math.log(2.0), rel=1e-6)


def test_forward_correction_with_known_t() -> None:
    T = torch.tensor([[0.8, 0.2], [0.3, 0.7]])
    logits = torch.tensor([[LN3, 0.0]])
    # s(a) T = [0.75*0.8 + 0.25*0.3, 0.75*0.2 + 0.25*0.7] = [0.675, 0.325]
    assert forward_corrected_ce(logits, torch.tensor([1]), T).item() == pytest.approx(
        -math.log(0.325), rel=1e-6
    )
    assert forward_corrected_ce(logits, torch.tensor([0]), T).item() == pytest.approx(
        -math.log(0.675), rel=1e-6
    )
    # identity T reduces to plain CE: -log(3/4)
    assert forward_corrected_ce(logits, torch.tensor([0]), torch.eye(2)).item() == pytest.approx(
        -math.log(0.75), rel=1e-6
    )


def test_transition_matrix_anchor_estimator() -> None:
    # 100 examples, p0 = i/100 (0.00 .. 0.99), p1 = 1 - p0.
    p0 = torch.arange(100, dtype=torch.float64) / 100
    probs = torch.stack([p0, 1 - p0], dim=1)
    before = probs.clone()
    # class 0: 97% quantile ('higher') of 100 values is sorted[97] = 0.97; drop >= 0.97 -> anchor p0 = 0.96
    # class 1: sorted p1 = 0.01 .. 1.00, sorted[97] = 0.98; drop >= 0.98 -> anchor p1 = 0.97 (i = 3)
    T = estimate_transition_matrix(probs, quantile=0.97, row_normalize=False)
    torch.testing.assert_close(T, torch.tensor([[0.96, 0.04], [0.03, 0.97]]))
    assert torch.equal(probs, before)  # never modified in place
    T_raw = estimate_transition_matrix(probs, filter_outlier=False)
    torch.testing.assert_close(T_raw, torch.tensor([[0.99, 0.01], [0.0, 1.0]]))
    # row normalisation: rows already sum to 1 here
    torch.testing.assert_close(estimate_transition_matrix(probs).sum(dim=1), torch.ones(2))


def test_limit_surrogate_replaces_the_logit_gradient_exactly() -> None:
    logits = torch.tensor([[LN3, 0.0], [0.0, LN3]], requires_grad=True)
    y = torch.tensor([0, 0])
    g = torch.tensor([[0.125, -0.125], [-0.3, 0.3]])
    limit_classifier_surrogate(logits, g).backward()
    assert logits.grad is not None
    assert torch.equal(logits.grad, g)
    # the true CE gradient (s(a) - y) is [[-1/4, 1/4], [1/4, -1/4]], which is not what was applied
    assert not torch.allclose(logits.grad, ce_logit_gradient(logits, y))


def test_predicted_gradient_trains_q_only() -> None:
    a = torch.tensor([[LN3, 0.0]], requires_grad=True)
    b = torch.tensor([[0.0, 0.0]], requires_grad=True)
    mu = predicted_gradient(a, b)
    # s(a) - s(b) = [3/4 - 1/2, 1/4 - 1/2] = [1/4, -1/4]
    torch.testing.assert_close(mu, torch.tensor([[0.25, -0.25]]))
    (mu**2).sum().backward()
    assert a.grad is None and b.grad is not None


def test_predictor_loss_gaussian_and_laplace() -> None:
    mu = torch.tensor([[0.1, -0.1], [0.0, 0.0]])
    g = torch.tensor([[0.3, -0.3], [0.5, -0.5]])
    # diffs [-0.2, 0.2] and [-0.5, 0.5]; squared sums 0.08 and 0.5 (mean 0.29), L1 sums 0.4 and 1.0 (mean 0.7)
    # ||mu||^2 = 0.02 and 0 (mean 0.01); beta = 0.5 adds 0.005
    assert limit_predictor_loss(mu, g, 0.5, "gaussian").item() == pytest.approx(0.295)
    assert limit_predictor_loss(mu, g, 0.5, "laplace").item() == pytest.approx(0.705)
    assert limit_predictor_loss(mu, g, 0.0, "gaussian").item() == pytest.approx(0.29)
    with pytest.raises(ValueError):
        limit_predictor_loss(mu, g, 0.0, "cauchy")  # type: ignore[arg-type]


def test_soft_regularization_eq11_by_hand() -> None:
    logits = torch.tensor([[LN3, 0.0]])
    z = torch.tensor([[1.0, 1.0]])  # ||z||^2 = 2
    q_logits = torch.zeros(1, 2)  # s(b) = [1/2, 1/2]
    # CE = -log 3/4; ||y - s(b)||^2 = 0.5; ||s(a) - s(b)||^2 = 2 * (1/4)^2 = 0.125
    # total = -log 0.75 + 0.1 * 2 * 0.5 + 1.0 * 2 * 0.125
    expected = -math.log(0.75) + 0.1 + 0.25
    got = soft_regularization_loss(logits, z, q_logits, torch.tensor([0]), lam=0.1, beta=1.0)
    assert got.item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("kind", ["gaussian", "laplace"])
def test_sampling_is_deterministic_and_has_std_sigma(kind: str) -> None:
    mean = torch.zeros(200_000, 1)
    s1 = sample_predicted_gradient(mean, 0.3, kind, torch.Generator().manual_seed(7))  # type: ignore[arg-type]
    s2 = sample_predicted_gradient(mean, 0.3, kind, torch.Generator().manual_seed(7))  # type: ignore[arg-type]
    s3 = sample_predicted_gradient(mean, 0.3, kind, torch.Generator().manual_seed(8))  # type: ignore[arg-type]
    assert torch.equal(s1, s2) and not torch.equal(s1, s3)
    assert s1.mean().item() == pytest.approx(0.0, abs=0.005)
    assert s1.std().item() == pytest.approx(0.3, rel=0.02)
    if kind == "laplace":
        # Laplace(scale b = sigma / sqrt 2): E|X| = b = 0.2121
        assert s1.abs().mean().item() == pytest.approx(0.3 / math.sqrt(2.0), rel=0.02)


def test_noise_on_ce_logit_gradient() -> None:
    logits = torch.tensor([[LN3, 0.0], [0.0, LN3]], requires_grad=True)
    y = torch.tensor([0, 0])
    clean = ce_logit_gradient(logits, y) / 2  # gradient of the batch-mean CE
    torch.nn.functional.cross_entropy(
        with_logit_gradient_noise(logits, 0.1, "laplace", torch.Generator().manual_seed(3)), y
    ).backward()
    noise = sample_noise((2, 2), 0.1, "laplace", torch.Generator().manual_seed(3))
    assert logits.grad is not None
    torch.testing.assert_close(logits.grad, clean + noise)


def test_official_sampling_std_mapping() -> None:
    assert official_sampling_std(50.0, "gaussian") == pytest.approx(0.1)  # sqrt(1 / 100)
    assert official_sampling_std(10.0, "laplace") == pytest.approx(math.sqrt(2.0) / 10)


def test_method_registry() -> None:
    assert table_order() == ["ce", "ce_gn", "ce_ln", "mae", "fw", "dmi", "soft_reg", "limit_g_s", "limit_l_s",
                             "limit_g", "limit_l", "limit_g_init", "limit_l_init"]  # the paper's row order
    for name in table_order():
        method = METHODS[name]
        assert method.name == name and method.label and method.paper_name
    assert METHODS["ce_gn"].noise == "gaussian" and METHODS["ce_ln"].noise == "laplace"  # type: ignore[attr-defined]
    assert METHODS["limit_l_s"].predictor == "laplace" and METHODS["limit_l_s"].sample  # type: ignore[attr-defined]
    assert METHODS["limit_g"].predictor == "gaussian" and not METHODS["limit_g"].sample  # type: ignore[attr-defined]
    assert METHODS["soft_reg"].needs_features and METHODS["soft_reg"].predictor == "gaussian"
    starting = ["fw", "dmi", "limit_g_init", "limit_l_init"]
    assert [n for n in table_order() if METHODS[n].starts_from] == starting
    assert {METHODS[n].starts_from for n in starting} == {"ce"}
    # FW/DMI start the classifier from CE, "+ init." starts q from it (Tables 6-7)
    assert [n for n in table_order() if METHODS[n].init_target == "predictor"] == starting[2:]
    assert METHODS["limit_l_init"].predictor == "laplace" and METHODS["limit_g_init"].uses == {"beta"}
    assert METHODS["limit_g_s"].uses == {"beta", "sigma"} and METHODS["ce"].uses == set()
    assert METHODS["limit_g"].paper_name == "LIMIT_G - S"
    with pytest.raises(ValueError, match="unknown LIMIT method"):
        METHODS["gce"]
