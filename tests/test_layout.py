"""The paper-first layout: shared code never imports a paper, and every paper registers what it defines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from labelrepro.registry import AGGREGATORS, RENDERERS, TRAINERS, load_papers

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "labelrepro"
SHARED = ["core", "data", "models", "losses", "engine"]


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


@pytest.mark.parametrize("folder", SHARED)
def test_shared_code_never_imports_a_paper(folder):
    offenders = {}
    for path in (PACKAGE / folder).rglob("*.py"):
        offenders[str(path.relative_to(PACKAGE))] = [
            m for m in imported_modules(path) if m.startswith("labelrepro.papers")
        ]
    assert {k: v for k, v in offenders.items() if v} == {}


def test_a_shared_import_of_a_paper_is_detected(tmp_path):
    """The check above can fail: a module importing a paper is found."""
    bad = tmp_path / "bad.py"
    bad.write_text("from labelrepro.papers.limit import methods\n")
    assert "labelrepro.papers.limit" in imported_modules(bad)


def test_every_paper_registers_its_trainer_and_renderers():
    papers = load_papers()
    assert set(papers) >= {"random_labels", "limit", "alasca", "sparsity"}
    for name in TRAINERS:
        trainer = TRAINERS[name]
        assert trainer.implementation.startswith("labelrepro.papers."), name
        assert trainer.settings.__module__.startswith("labelrepro.papers."), name
    assert "final_per_run" in AGGREGATORS and "limit_selection" in AGGREGATORS
    expected = {"fig1b", "fig3a", "limit_table", "alasca_table3", "alasca_table4", "sparsity_fig1"}
    assert expected <= set(RENDERERS)


def test_unknown_names_suggest_the_closest():
    with pytest.raises(KeyError, match="did you mean 'sparsity'"):
        TRAINERS["sparsty"]
