import hashlib

import pytest
import torch

from labelrepro.core.checkpoint import Checkpointer
from labelrepro.core.device import claim_slot, resolve_device
from labelrepro.core.metadata import config_hash, git_commit, package_versions
from labelrepro.core.seeding import derive_seed, make_generator, seed_everything


def test_device_auto_and_forced_cuda():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="set `device: auto` or `device: cpu`"):
            resolve_device("cuda")


def test_derive_seed_is_stable_and_distinct():
    digest = hashlib.sha256(repr((3, "data")).encode()).digest()
    assert derive_seed(3, "data") == int.from_bytes(digest[:8], "big") & ((1 << 63) - 1)
    assert derive_seed(3, "data") != derive_seed(3, "init") != derive_seed(4, "data")
    a = torch.rand(3, generator=make_generator(1, "x"))
    b = torch.rand(3, generator=make_generator(1, "x"))
    assert torch.equal(a, b)


def test_seed_everything_seeds_torch():
    seed_everything(5)
    a = torch.rand(2)
    seed_everything(5)
    assert torch.equal(a, torch.rand(2))


def test_config_hash_ignores_key_order():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_checkpoint_roundtrip_and_hash_guard(tmp_path):
    ckpt = Checkpointer(tmp_path / "c", "abc", every_s=0)
    assert ckpt.load() is None and ckpt.due()
    ckpt.save({"step": 3, "w": torch.ones(2)})
    assert ckpt.load()["step"] == 3
    other = Checkpointer(tmp_path / "c", "abd")
    assert other.load() is None  # a changed config never resumes someone else's state
    (tmp_path / "c" / ".abc.pt.partial-x1y2.pt").write_bytes(b"partial")  # a save killed mid-write
    ckpt.clear()
    assert not (tmp_path / "c").exists()


def test_metadata_helpers():
    versions = package_versions()
    assert versions["torch"].startswith("2.13") and "python" in versions
    assert git_commit("/") in {"unknown"} or len(git_commit("/")) >= 7


def test_gpu_slots_are_claimed_once_each(tmp_path):
    # flock conflicts between open file descriptions, so one process can stand in for several jobs
    assert [claim_slot(tmp_path, 3) for _ in range(3)] == [0, 1, 2]
    assert claim_slot(tmp_path, 3) is None
    assert (tmp_path / "gpu-0.lock").exists()
