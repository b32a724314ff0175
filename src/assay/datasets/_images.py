"""Loaders for small 28 x 28 grey-scale image sets: MNIST, Fashion-MNIST and notMNIST."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from assay._util.validation import check_choice, param_error

from ._base import fetch_file

__all__ = ["ImageDataset", "load_fashion_mnist", "load_mnist", "load_notmnist"]

PathLike = str | os.PathLike[str]

MNIST_CLASSES = tuple(str(d) for d in range(10))
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
NOTMNIST_CLASSES = tuple("ABCDEFGHIJ")


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """One split of an image data set.

    Unpacks like a tuple: ``x, y = load_mnist(split="test")``.

    Attributes
    ----------
    x : numpy.ndarray of uint8, shape (n, 28, 28), or (n, 32, 32, 3) RGB for CIFAR-10
        Images, 0 to 255 (grey-scale sets: 0 is the background).
    y : numpy.ndarray of int64, shape (n,)
        Class index of each image, in ``range(len(classes))``.
    classes : tuple of str
        Class names, indexed by ``y``.
    name : str
        Name of the data set, e.g. ``"mnist"``.
    split : str
        ``"train"`` or ``"test"``.
    """

    x: npt.NDArray[np.uint8]
    y: npt.NDArray[np.int64]
    classes: tuple[str, ...]
    name: str
    split: str

    def __iter__(self) -> Iterator[npt.NDArray[Any]]:
        """Yield ``x`` then ``y``, so that ``x, y = dataset`` works."""
        yield self.x
        yield self.y

    def __repr__(self) -> str:
        """Short description with the shapes instead of the arrays."""
        return (
            f"ImageDataset(name={self.name!r}, split={self.split!r}, x={self.x.shape} "
            f"{self.x.dtype}, y={self.y.shape} {self.y.dtype}, classes={len(self.classes)})"
        )


def _load_npz(
    relpath: str,
    split: str,
    *,
    name: str,
    classes: tuple[str, ...],
    data_home: PathLike | None,
    download: bool,
    func: str,
) -> ImageDataset:
    path = fetch_file(relpath, data_home=data_home, download=download, func=func)
    with np.load(path, allow_pickle=False) as npz:
        keys = (f"x_{split}", f"y_{split}")
        missing = [k for k in keys if k not in npz.files]
        if missing:
            raise ValueError(f"{path} has no array(s) {missing}; it holds {sorted(npz.files)}.")
        x = np.asarray(npz[keys[0]])
        y = np.asarray(npz[keys[1]])
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(
            f"{path}: expected uint8 images of shape (n, 28, 28), got {x.dtype} {x.shape}."
        )
    if y.shape != (x.shape[0],):
        raise ValueError(f"{path}: {y.shape[0]} labels for {x.shape[0]} images.")
    y64 = y.astype(np.int64)
    if y64.size and (y64.min() < 0 or y64.max() >= len(classes)):
        raise ValueError(f"{path}: labels outside 0..{len(classes) - 1}.")
    return ImageDataset(x=x, y=y64, classes=classes, name=name, split=split)


def load_mnist(
    *,
    split: str = "train",
    data_home: PathLike | None = None,
    download: bool = True,
) -> ImageDataset:
    """Load MNIST handwritten digits from ``mnist/mnist.npz``.

    Parameters
    ----------
    split : {"train", "test"}, default="train"
        60000 training or 10000 test images.
    data_home : str, os.PathLike or None, default=None
        Folder holding ``mnist/``; see :func:`assay.datasets.get_data_home`.
    download : bool, default=True
        Accepted for a uniform signature; the npz has no stable public URL, so a missing file
        raises :class:`FileNotFoundError` explaining how to provide it.

    Returns
    -------
    ImageDataset
        ``x`` uint8 of shape (n, 28, 28), ``y`` int64 digits 0-9, ``classes`` ``'0'``-``'9'``.
    """
    check_choice("split", split, ("train", "test"), func="load_mnist")
    return _load_npz(
        "mnist/mnist.npz",
        split,
        name="mnist",
        classes=MNIST_CLASSES,
        data_home=data_home,
        download=download,
        func="load_mnist",
    )


def load_fashion_mnist(
    *,
    split: str = "train",
    data_home: PathLike | None = None,
    download: bool = True,
) -> ImageDataset:
    """Load Fashion-MNIST (Zalando) from ``fashion_mnist/fashion_mnist_{split}.npz``.

    Parameters
    ----------
    split : {"train", "test"}, default="train"
        60000 training or 10000 test images.
    data_home : str, os.PathLike or None, default=None
        Folder holding ``fashion_mnist/``; see :func:`assay.datasets.get_data_home`.
    download : bool, default=True
        Accepted for a uniform signature; the npz files have no stable public URL, so a
        missing file raises :class:`FileNotFoundError` explaining how to provide it.

    Returns
    -------
    ImageDataset
        ``x`` uint8 of shape (n, 28, 28), ``y`` int64 in 0-9, ``classes`` the ten garment
        names (``'T-shirt/top'``, ``'Trouser'``, ..., ``'Ankle boot'``).
    """
    check_choice("split", split, ("train", "test"), func="load_fashion_mnist")
    return _load_npz(
        f"fashion_mnist/fashion_mnist_{split}.npz",
        split,
        name="fashion_mnist",
        classes=FASHION_MNIST_CLASSES,
        data_home=data_home,
        download=download,
        func="load_fashion_mnist",
    )


def load_notmnist(
    *,
    split: str = "test",
    data_home: PathLike | None = None,
    download: bool = True,
) -> ImageDataset:
    """Load the notMNIST test set (letters A-J) from ``notmnist/notmnist_test.npz``.

    notMNIST is the usual out-of-distribution companion of MNIST-like sets. Only its 10000
    image test part is available.

    Parameters
    ----------
    split : {"test"}, default="test"
        Must be ``"test"``; ``"train"`` raises :class:`ValueError`.
    data_home : str, os.PathLike or None, default=None
        Folder holding ``notmnist/``; see :func:`assay.datasets.get_data_home`.
    download : bool, default=True
        Accepted for a uniform signature; the npz has no stable public URL, so a missing file
        raises :class:`FileNotFoundError` explaining how to provide it.

    Returns
    -------
    ImageDataset
        ``x`` uint8 of shape (10000, 28, 28), ``y`` int64 in 0-9 for the letters ``'A'``-``'J'``
        (``classes``).
    """
    if split != "test":
        raise param_error(
            "split",
            "'test' (only the notMNIST test set is available; there is no train split)",
            split,
            func="load_notmnist",
        )
    return _load_npz(
        "notmnist/notmnist_test.npz",
        "test",
        name="notmnist",
        classes=NOTMNIST_CLASSES,
        data_home=data_home,
        download=download,
        func="load_notmnist",
    )
