"""Every target's reported numbers and claims (paper/reported/<target>.yaml) against its seed's text."""

from __future__ import annotations

import pytest

from labelrepro.experiment import load_experiments
from labelrepro.scorecard.reported import REPORTED_DIR, SEEDS_DIR, check_against_seed, load_reported

TARGETS = sorted(load_experiments())


@pytest.mark.parametrize("target", TARGETS)
def test_every_target_has_a_reported_file_that_matches_its_seed(target):
    path = REPORTED_DIR / f"{target}.yaml"
    assert path.exists(), f"{target} has no {path.relative_to(REPORTED_DIR.parents[1])} (docs/scorecard.md)"
    reported = load_reported(path)
    assert reported.target == target
    if not SEEDS_DIR.exists():
        pytest.skip(f"the seeds are not beside the checkout ({SEEDS_DIR})")
    assert reported.seed_path.exists(), f"{path}: no seed file {reported.seed_path}"
    assert check_against_seed(reported, reported.seed_path.read_text()) == []


def test_no_reported_file_without_a_target():
    orphans = {p.stem for p in REPORTED_DIR.glob("*.yaml")} - set(TARGETS)
    assert not orphans, f"reported files without an experiment: {sorted(orphans)}"
