"""Folder datasets and the emoji corpus."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from instrument.train.data import DatasetError, load_folder
from instrument.train.emoji import FONT_PATH, build_dataset

MIN_EMOJI = 1400  # single codepoints alone; with Pillow's RAQM layout the corpus has ~2950


def test_folder_is_cropped_resized_and_cached(tmp_path):
    Image.new("RGB", (30, 20), (255, 0, 0)).save(tmp_path / "a.png")
    (tmp_path / "d").mkdir()
    Image.new("RGB", (20, 30), (0, 0, 255)).save(tmp_path / "d" / "b.JPG")
    images = load_folder(tmp_path, 8, cache_dir=tmp_path / "cache")
    assert images.shape == (2, 8, 8, 3) and images.dtype == np.uint8
    assert list(tmp_path.joinpath("cache").glob("*.npz"))
    assert np.array_equal(load_folder(tmp_path, 8, cache_dir=tmp_path / "cache"), images)


@pytest.mark.parametrize("resolution", [0, 6, 48, 2048])
def test_bad_resolution(tmp_path, resolution):
    with pytest.raises(DatasetError, match="power of two"):
        load_folder(tmp_path, resolution)


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_folder(tmp_path / "nope", 16)
    with pytest.raises(DatasetError, match="has no images"):
        load_folder(tmp_path, 16)


@pytest.mark.skipif(not FONT_PATH.is_file(), reason=f"emoji font {FONT_PATH} missing: "
                    "apt-get install fonts-noto-color-emoji")
def test_emoji_corpus_is_large_deterministic_and_cached(tmp_path):
    images = build_dataset(tmp_path, 16)
    assert images.shape[0] >= MIN_EMOJI and images.shape[1:] == (16, 16, 3) and images.dtype == np.uint8
    assert (images != 255).any(axis=(1, 2, 3)).all()  # every image shows something on the white background
    assert np.array_equal(build_dataset(None, 16, limit=40), images[:40])  # rebuilt from scratch, same order
    assert np.array_equal(build_dataset(tmp_path, 16), images)  # from the cache
