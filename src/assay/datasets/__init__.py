"""Loaders for public benchmark data sets, read from a local data home.

Tabular loaders return a :class:`pyarrow.Table` (``.to_pandas()`` gives a DataFrame);
image loaders return an :class:`ImageDataset` that unpacks as ``x, y``.

The data home is, in order: the ``data_home=`` argument, the ``ASSAY_DATA_HOME`` environment
variable, ``~/assay_data``. A missing file with a public URL is downloaded into it (checksum
verified) unless ``download=False``; otherwise :class:`FileNotFoundError` says how to provide it.
See ``docs/datasets.md``.
"""

from __future__ import annotations

from ._base import DATA_HOME_ENV, REGISTRY, ChecksumError, RemoteFile, fetch_file, get_data_home
from ._blog import load_blog_feedback
from ._images import ImageDataset, load_fashion_mnist, load_mnist, load_notmnist
from ._more_images import CIFAR10_CLASSES, load_cifar10, load_omniglot
from ._tabular import load_adult, load_bank_marketing, load_compas, load_german

__all__ = [
    "CIFAR10_CLASSES",
    "DATA_HOME_ENV",
    "REGISTRY",
    "ChecksumError",
    "ImageDataset",
    "RemoteFile",
    "fetch_file",
    "get_data_home",
    "load_adult",
    "load_bank_marketing",
    "load_blog_feedback",
    "load_cifar10",
    "load_compas",
    "load_fashion_mnist",
    "load_german",
    "load_mnist",
    "load_notmnist",
    "load_omniglot",
]
