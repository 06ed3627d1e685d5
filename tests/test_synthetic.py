import torch

from labelrepro.data.synthetic import (
    gaussian_inputs,
    hypercube_boundary_dataset,
    sample_cube_surface,
    standard_basis,
)


def test_cube_surface_points_lie_on_the_surface():
    gen = torch.Generator().manual_seed(0)
    x = sample_cube_surface(500, 7, 0.7, gen)
    assert x.shape == (500, 7)
    assert torch.allclose(x.abs().amax(dim=1), torch.full((500,), 0.7))
    # exactly one coordinate sits on a face (others are continuous uniform, so ties have probability 0)
    assert ((x.abs() == 0.7).sum(dim=1) == 1).all()


def test_cube_surface_faces_are_uniform():
    gen = torch.Generator().manual_seed(1)
    x = sample_cube_surface(40000, 4, 1.0, gen)
    face = x.abs().argmax(dim=1) * 2 + (x.gather(1, x.abs().argmax(dim=1, keepdim=True)).squeeze(1) > 0)
    counts = torch.bincount(face, minlength=8).double() / 40000
    assert torch.allclose(counts, torch.full((8,), 1 / 8, dtype=torch.float64), atol=0.01)


def test_hypercube_dataset_labels_match_the_boundary():
    gen = torch.Generator().manual_seed(2)
    x, y = hypercube_boundary_dataset(1000, 60, 0.3, gen)
    norms = x.abs().amax(dim=1)
    assert set(y.tolist()) == {-1.0, 1.0}
    assert torch.allclose(norms[y > 0], torch.ones(int((y > 0).sum())))
    assert torch.allclose(norms[y < 0], torch.full((int((y < 0).sum()),), 0.7))
    assert abs((y > 0).double().mean().item() - 0.5) < 0.06


def test_hypercube_dataset_is_deterministic_under_a_seed():
    a = hypercube_boundary_dataset(10, 5, 0.3, torch.Generator().manual_seed(3))
    b = hypercube_boundary_dataset(10, 5, 0.3, torch.Generator().manual_seed(3))
    c = hypercube_boundary_dataset(10, 5, 0.3, torch.Generator().manual_seed(4))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_gaussian_and_basis():
    x = gaussian_inputs(20000, 3, torch.Generator().manual_seed(0))
    assert abs(x.mean().item()) < 0.02 and abs(x.var().item() - 1) < 0.03
    assert torch.equal(standard_basis(3), torch.eye(3))
