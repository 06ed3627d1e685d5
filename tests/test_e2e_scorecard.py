"""The scorecard, the paper (PDF) and the Snakemake report, built end to end the way a user builds them.

To keep this short, the working copy holds one target (sparsity_fig1, seconds of CPU); the rules are the
same for every target. `make run` builds the scorecard of all of them (tests/test_e2e_all.py checks
that the DAG includes it).
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess

import pandas as pd
import pytest

from tests.e2e_helpers import make_working_copy, snakemake

pytestmark = pytest.mark.e2e
TARGET = "sparsity_fig1"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    workdir = make_working_copy(tmp_path_factory.mktemp("e2e-scorecard") / "artifact")
    for path in (workdir / "workflow" / "experiments").rglob("*.yaml"):
        if path.stem != TARGET:
            path.unlink()
    result = snakemake(workdir, "--cores", "2", "all")
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return workdir


def test_scorecard_rows_and_summary(built):
    card = pd.read_csv(built / "results" / TARGET / "smoke" / "scorecard.csv", keep_default_na=False)
    assert len(card) == 6                                           # 4 numbers + 2 claims
    assert set(card["verdict"]) == {"not comparable"}
    assert card["reason"].str.contains("smoke scale").all()
    assert (card.loc[card["kind"] == "number", "n_rows"].astype(int) > 0).all()
    assert set(card["at_face_value"]) <= {"reproduced", "direction holds", "not reproduced"}
    tex = (built / "paper" / "tables" / "scorecard.tex").read_text()
    assert r"\texttt{sparsity\_fig1}" in tex and "& 0 & 0 & 0 & 6 &" in tex
    md = (built / "results" / "scorecard" / "smoke.md").read_text()
    assert "none comparable: smoke scale" in md
    provenance = (built / "results" / TARGET / "smoke" / "provenance.json").read_text()
    assert '"data": "synthetic"' in provenance and '"seed_runs": 8' in provenance


@pytest.mark.skipif(shutil.which("latexmk") is None, reason="latexmk/pdflatex not installed (see README)")
def test_paper_pdf_builds_with_captions(built):
    result = snakemake(built, "--cores", "1", "paper/main.pdf")
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    pdf = built / "paper" / "main.pdf"
    assert pdf.stat().st_size > 10_000
    body = (built / "paper" / "generated" / "body.tex").read_text()
    assert "scale smoke, the paper's synthetic data; 8 runs; commit" in body
    assert r"\input{tables/scorecard.tex}" in body
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "8 runs; commit" in text and "Scorecard" in text


def test_snakemake_report_holds_every_figure(built):
    result = snakemake(built, "--report", "report.html")
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    html = (built / "report.html").read_text()
    assert "003 Cornacchia et al." in html                          # grouped by paper
    assert "sparsity_fig1.pdf" in html and "scorecard.tex" in html
    # the figure itself is embedded: find a base64 PDF payload
    payloads = re.findall(r"data:application/pdf;[^,]*base64,([A-Za-z0-9+/=]{100,})", html)
    assert payloads, "no embedded PDF in the report"
    assert any(base64.b64decode(p[:4000]).startswith(b"%PDF") for p in payloads)
