"""The Clothing1M loader on a tiny fake copy in the dataset's layout (real JPEG files), and its error."""

from __future__ import annotations

import pytest
from PIL import Image

from labelrepro.papers.alasca.clothing1m import Clothing1MMissingError, class_names, load_split


def _fake_copy(root, images_under_root=False):
    keys = {"images/0/00/a.jpg": (3, 3), "images/0/00/b.jpg": (5, 1), "images/1/01/c.jpg": (7, 7),
            "images/1/01/d.jpg": (2, 2)}
    for key in keys:
        path = root / (key[len("images/"):] if images_under_root else key)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 6), (10, 20, 30)).save(path, format="JPEG")
    (root / "annotations").mkdir()
    (root / "annotations/noisy_label_kv.txt").write_text("".join(f"{k} {n}\n" for k, (n, _) in keys.items()))
    (root / "annotations/clean_label_kv.txt").write_text(
        "images/1/01/c.jpg 7\nimages/1/01/d.jpg 2\nimages/0/00/b.jpg 1\n")
    (root / "noisy_train_key_list.txt").write_text("images/0/00/a.jpg\nimages/0/00/b.jpg\n")
    (root / "clean_val_key_list.txt").write_text("images/1/01/c.jpg\n")
    (root / "annotations/clean_test_key_list.txt").write_text("images/1/01/d.jpg\nimages/0/00/b.jpg\n")
    (root / "annotations/category_names_eng.txt").write_text("T-Shirt\nShirt\n")


@pytest.mark.parametrize("images_under_root", [False, True])
def test_loader_reads_the_fake_layout(tmp_path, images_under_root):
    _fake_copy(tmp_path, images_under_root)
    train = load_split(tmp_path, "train")
    assert train.labels == (3, 5)  # noisy labels
    assert all(p.is_file() for p in train.paths)
    with Image.open(train.paths[0]) as image:
        assert image.size == (8, 6)
    assert load_split(tmp_path, "val").labels == (7,)
    assert load_split(tmp_path, "test").labels == (2, 1)  # clean labels
    assert class_names(tmp_path) == ["T-Shirt", "Shirt"]


def test_missing_data_is_one_clear_error(tmp_path):
    with pytest.raises(Clothing1MMissingError) as error:
        load_split(tmp_path / "clothing1m", "train")
    message = str(error.value)
    assert str(tmp_path / "clothing1m") in message
    for name in ("noisy_label_kv.txt", "clean_label_kv.txt", "clean_test_key_list.txt"):
        assert name in message
    assert "request it from its authors" in message
