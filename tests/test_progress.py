import io

import pytest

from labelrepro.core.progress import Progress, _format_duration


def test_lines_mode_prints_one_line_per_update():
    stream = io.StringIO()
    progress = Progress(total=4, label="t/smoke/c", unit="epoch", mode="auto", stream=stream)
    assert progress.mode == "lines"  # StringIO is not a terminal
    progress.update(1, loss=0.5)
    progress.update(1, loss=0.25)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[1].startswith("[t/smoke/c] epoch 2/4 (50%) loss=0.25 | elapsed ")
    assert "eta " in lines[1]


def test_resumed_progress_counts_from_start():
    stream = io.StringIO()
    progress = Progress(total=10, label="x", mode="lines", start=6, stream=stream)
    progress.message("resumed from checkpoint at step 6")
    progress.update(1)
    out = stream.getvalue()
    assert "[x] resumed from checkpoint at step 6" in out and "epoch 7/10 (70%)" in out


def test_none_mode_is_silent_and_bad_mode_rejected():
    stream = io.StringIO()
    Progress(total=2, label="x", mode="none", stream=stream).update(1)
    assert stream.getvalue() == ""
    with pytest.raises(ValueError, match="progress mode"):
        Progress(total=2, label="x", mode="fancy")


def test_duration_format():
    assert _format_duration(75) == "1m15s"
    assert _format_duration(3725) == "1h02m05s"
