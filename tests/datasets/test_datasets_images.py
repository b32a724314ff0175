"""MNIST, Fashion-MNIST and notMNIST loaders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from assay.datasets import ImageDataset, load_fashion_mnist, load_mnist, load_notmnist


def _check(ds: ImageDataset, n: int) -> None:
    assert ds.x.shape == (n, 28, 28)
    assert ds.x.dtype == np.uint8
    assert ds.y.shape == (n,)
    assert ds.y.dtype == np.int64
    assert set(np.unique(ds.y).tolist()) == set(range(10))
    assert len(ds.classes) == 10
    x, y = ds
    assert x is ds.x
    assert y is ds.y


@pytest.mark.parametrize(("split", "n"), [("train", 60000), ("test", 10000)])
def test_mnist(need_data: Callable[..., Path], split: str, n: int) -> None:
    home = need_data("mnist/mnist.npz")
    ds = load_mnist(split=split, data_home=home, download=False)
    _check(ds, n)
    assert ds.name == "mnist"
    assert ds.split == split
    assert ds.classes[3] == "3"


def test_mnist_test_labels_match_idx(need_data: Callable[..., Path]) -> None:
    # The npz test labels equal the original t10k idx file (README of the data folder).
    import gzip

    home = need_data("mnist/mnist.npz", "mnist/t10k-labels-idx1-ubyte.gz")
    with gzip.open(home / "mnist" / "t10k-labels-idx1-ubyte.gz", "rb") as fh:
        raw = fh.read()
    assert int.from_bytes(raw[:4], "big") == 2049
    labels = np.frombuffer(raw[8:], dtype=np.uint8)
    ds = load_mnist(split="test", data_home=home, download=False)
    np.testing.assert_array_equal(ds.y, labels.astype(np.int64))


@pytest.mark.parametrize(("split", "n"), [("train", 60000), ("test", 10000)])
def test_fashion_mnist(need_data: Callable[..., Path], split: str, n: int) -> None:
    home = need_data(f"fashion_mnist/fashion_mnist_{split}.npz")
    ds = load_fashion_mnist(split=split, data_home=home, download=False)
    _check(ds, n)
    assert ds.classes[0] == "T-shirt/top"
    # Fashion-MNIST is balanced: 6000 / 1000 images per class.
    assert np.bincount(ds.y).tolist() == [n // 10] * 10


def test_notmnist(need_data: Callable[..., Path]) -> None:
    home = need_data("notmnist/notmnist_test.npz")
    ds = load_notmnist(data_home=home, download=False)
    _check(ds, 10000)
    assert ds.classes == tuple("ABCDEFGHIJ")


def test_notmnist_has_no_train_split() -> None:
    with pytest.raises(
        ValueError, match=r"The 'split' parameter of load_notmnist must be 'test'.*Got 'train'"
    ):
        load_notmnist(split="train")


def test_bad_split() -> None:
    with pytest.raises(ValueError, match=r"must be one of \{'train', 'test'\}\. Got 'valid'"):
        load_mnist(split="valid")
    with pytest.raises(ValueError, match="load_fashion_mnist"):
        load_fashion_mnist(split="all")


def test_mnist_test_images_match_idx(need_data: Callable[..., Path]) -> None:
    # The npz test images are pixel-identical to the original t10k idx file.
    import gzip

    home = need_data("mnist/mnist.npz", "mnist/t10k-images-idx3-ubyte.gz")
    with gzip.open(home / "mnist" / "t10k-images-idx3-ubyte.gz", "rb") as fh:
        raw = fh.read()
    assert int.from_bytes(raw[:4], "big") == 2051
    images = np.frombuffer(raw[16:], dtype=np.uint8).reshape(10000, 28, 28)
    ds = load_mnist(split="test", data_home=home, download=False)
    np.testing.assert_array_equal(ds.x, images)
