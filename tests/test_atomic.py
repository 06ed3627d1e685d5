import pandas as pd
import pytest

from labelrepro.core import atomic


class BoomError(Exception):
    pass


def test_write_text_and_csv(tmp_path):
    atomic.write_text(tmp_path / "a" / "b.txt", "hello")
    assert (tmp_path / "a" / "b.txt").read_text() == "hello"
    atomic.write_csv(tmp_path / "t.csv", pd.DataFrame({"x": [1, 2]}))
    assert pd.read_csv(tmp_path / "t.csv")["x"].tolist() == [1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "t.csv"]  # no temporary files left


def test_failure_leaves_no_file_and_keeps_the_old_one(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(BoomError), atomic.atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise BoomError
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []

    target.write_text("old")
    with pytest.raises(BoomError), atomic.atomic_path(target) as tmp:
        tmp.write_text("new but incomplete")
        raise BoomError
    assert target.read_text() == "old"


def test_temporary_file_keeps_the_suffix(tmp_path):
    with atomic.atomic_path(tmp_path / "fig.pdf") as tmp:
        assert tmp.suffix == ".pdf" and tmp.parent == tmp_path
        tmp.write_bytes(b"%PDF")


def test_atomic_directory(tmp_path):
    out = tmp_path / "runs" / "cell"
    (tmp_path / "runs" / ".cell.partial-abc123").mkdir(parents=True)  # staging left by a killed writer
    with pytest.raises(BoomError), atomic.atomic_directory(out) as staging:
        (staging / "seed-0").mkdir()
        raise BoomError
    assert not out.exists() and list((tmp_path / "runs").iterdir()) == []
    with atomic.atomic_directory(out) as staging:
        (staging / "seed-0").mkdir()
        (staging / "seed-0" / "metrics.csv").write_text("x\n1\n")
    assert (out / "seed-0" / "metrics.csv").read_text() == "x\n1\n"


def test_json_is_sorted(tmp_path):
    atomic.write_json(tmp_path / "m.json", {"b": 1, "a": 2})
    assert (tmp_path / "m.json").read_text().index('"a"') < (tmp_path / "m.json").read_text().index('"b"')


def test_concurrent_sibling_directories_do_not_clobber_each_other(tmp_path):
    # cells 'label_noise-0' and 'label_noise-0.2' are written at the same time in one folder
    with atomic.atomic_directory(tmp_path / "label_noise-0.2") as slow:
        (slow / "seed-0").mkdir()
        (slow / "seed-0" / "metrics.csv").write_text("x\n1\n")
        with atomic.atomic_directory(tmp_path / "label_noise-0") as fast:
            (fast / "done").write_text("ok")
        assert (slow / "seed-0" / "metrics.csv").exists()
    assert (tmp_path / "label_noise-0.2" / "seed-0" / "metrics.csv").read_text() == "x\n1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["label_noise-0", "label_noise-0.2"]
