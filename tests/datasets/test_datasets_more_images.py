"""Omniglot and CIFAR-10 loaders: tiny fixtures (always) and the real files (skipped if absent)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from assay.datasets import CIFAR10_CLASSES, ImageDataset, load_cifar10, load_omniglot

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

OMNI_BG = "omniglot/omniglot_background_small.npz"
OMNI_1S = "omniglot/omniglot_eval_oneshot_runs.npz"
CIFAR = "cifar10/cifar10_jpegs.tar.gz"


# ---------------------------------------------------------------- fixtures written here


def _fake_omniglot(home: Path) -> np.ndarray:
    rng = np.random.default_rng(0)
    (home / "omniglot").mkdir(parents=True)
    x = rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8)
    paths = [
        "images_background_small1/Greek/character01/0001_01.png",
        "images_background_small1/Greek/character01/0001_02.png",
        "images_background_small1/Greek/character02/0002_01.png",
        "images_background_small2/Latin/character01/0003_01.png",
        "images_background_small2/Latin/character01/0003_02.png",
        "images_background_small2/Latin/character01/0003_03.png",
    ]
    np.savez(
        home / OMNI_BG,
        x_28=x,
        path=np.array(paths),
        char_id=np.array([0, 0, 1, 2, 2, 2], dtype=np.int16),
    )
    np.savez(
        home / OMNI_1S,
        x_28=x[:4],
        path=np.array(
            ["run01/test/item01.png", "run01/training/class01.png", "run02/test/item01.png",
             "run03/training/class05.png"]
        ),
    )  # fmt: skip
    return x


def _jpeg(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def _fake_cifar(home: Path, entries: list[tuple[str, str, str]]) -> dict[str, np.ndarray]:
    """Write a tar.gz with ``split/cls/name`` JPEGs; return the decoded arrays by member."""
    rng = np.random.default_rng(1)
    (home / "cifar10").mkdir(parents=True)
    decoded = {}
    with tarfile.open(home / CIFAR, "w:gz") as tf:
        readme = b"# fake\n"
        info = tarfile.TarInfo("README.md")
        info.size = len(readme)
        tf.addfile(info, io.BytesIO(readme))
        for split, cls, name in entries:
            data = _jpeg(rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8))
            member = f"{split}/{cls}/{name}"
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
            # Reference decode, independent of the loader's tar walk.
            decoded[member] = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    return decoded


def test_omniglot_fixture_labels_and_names(tmp_path: Path) -> None:
    x = _fake_omniglot(tmp_path)
    ds = load_omniglot(data_home=tmp_path, download=False)
    assert isinstance(ds, ImageDataset)
    np.testing.assert_array_equal(ds.x, x)
    assert ds.y.dtype == np.int64
    assert ds.y.tolist() == [0, 0, 1, 2, 2, 2]
    assert ds.classes == ("Greek/character01", "Greek/character02", "Latin/character01")
    assert (ds.name, ds.split) == ("omniglot", "background")
    one = load_omniglot(split="oneshot", data_home=tmp_path, download=False)
    assert one.y.tolist() == [0, 0, 1, 2]
    assert one.classes == ("run01", "run02", "run03")


def test_omniglot_inconsistent_ids(tmp_path: Path) -> None:
    _fake_omniglot(tmp_path)
    with np.load(tmp_path / OMNI_BG) as npz:
        arrays = dict(npz)
    arrays["char_id"] = np.array([0, 1, 1, 2, 2, 2], dtype=np.int16)  # id 1 names two chars
    np.savez(tmp_path / OMNI_BG, **arrays)
    with pytest.raises(ValueError, match="character id 1 names both"):
        load_omniglot(data_home=tmp_path)


def test_cifar10_fixture_order_and_pixels(tmp_path: Path) -> None:
    entries = [
        ("train", "truck", "0000.jpg"),
        ("train", "airplane", "0001.jpg"),
        ("test", "cat", "0000.jpg"),
        ("train", "airplane", "0000.jpg"),
        ("train", "cat", "0000.jpg"),
    ]
    ref = _fake_cifar(tmp_path, entries)
    ds = load_cifar10(split="train", data_home=tmp_path, download=False)
    assert ds.x.shape == (4, 32, 32, 3) and ds.x.dtype == np.uint8
    assert ds.y.dtype == np.int64
    assert ds.y.tolist() == [0, 0, 3, 9]  # sorted by class, then file name
    order = ["train/airplane/0000.jpg", "train/airplane/0001.jpg", "train/cat/0000.jpg",
             "train/truck/0000.jpg"]  # fmt: skip
    for i, member in enumerate(order):
        np.testing.assert_array_equal(ds.x[i], ref[member])
    test = load_cifar10(split="test", data_home=tmp_path)
    assert test.y.tolist() == [3]
    np.testing.assert_array_equal(test.x[0], ref["test/cat/0000.jpg"])
    assert test.classes == CIFAR10_CLASSES and test.name == "cifar10"


def test_cifar10_unknown_class_folder(tmp_path: Path) -> None:
    _fake_cifar(tmp_path, [("train", "unicorn", "0000.jpg")])
    with pytest.raises(ValueError, match="unknown class folder 'unicorn'"):
        load_cifar10(data_home=tmp_path)


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError,
        match=r"The 'split' parameter of load_omniglot must be one of "
        r"\{'background', 'oneshot'\}\. Got 'train' instead",
    ):
        load_omniglot(split="train", data_home=tmp_path)
    with pytest.raises(
        ValueError,
        match=r"The 'split' parameter of load_cifar10 must be one of \{'train', 'test'\}\. "
        r"Got 'valid' instead",
    ):
        load_cifar10(split="valid", data_home=tmp_path)


def test_missing_files_say_how_to_provide(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"load_omniglot could not find 'omniglot/"):
        load_omniglot(data_home=tmp_path)
    with pytest.raises(FileNotFoundError, match=r"brendenlake/omniglot"):
        load_omniglot(split="oneshot", data_home=tmp_path, download=False)
    with pytest.raises(FileNotFoundError, match=r"load_cifar10 could not find.*YoongiKim"):
        load_cifar10(data_home=tmp_path)


# ---------------------------------------------------------------- the real files


def test_omniglot_real(need_data: Callable[..., Path]) -> None:
    home = need_data(OMNI_BG)
    ds = load_omniglot(data_home=home, download=False)
    assert ds.x.shape == (4840, 28, 28) and ds.x.dtype == np.uint8
    assert len(ds.classes) == 242 and set(ds.y.tolist()) == set(range(242))
    assert np.bincount(ds.y).tolist() == [20] * 242  # 20 drawers per character
    assert len({c.split("/")[0] for c in ds.classes}) == 8
    # MNIST polarity: mostly black background, white strokes; the border is background.
    assert ds.x.mean() < 40 and np.median(ds.x) == 0
    border = np.concatenate([ds.x[:, :2].ravel(), ds.x[:, -2:].ravel()])
    assert border.mean() < 5
    # Independent reference: the 105 x 105 binary drawings (1 = stroke), resized bilinearly.
    with np.load(home / OMNI_BG) as npz:
        big = npz["x_105_binary"][:50]
    for i in range(50):
        ref = Image.fromarray((big[i] * 255).astype(np.uint8)).resize((28, 28), Image.BILINEAR)
        diff = np.abs(np.asarray(ref, dtype=int) - ds.x[i].astype(int))
        assert diff.max() <= 2


def test_omniglot_oneshot_real(need_data: Callable[..., Path]) -> None:
    home = need_data(OMNI_1S)
    ds = load_omniglot(split="oneshot", data_home=home, download=False)
    assert ds.x.shape == (800, 28, 28)
    assert np.bincount(ds.y).tolist() == [40] * 20
    assert ds.x.mean() < 40


def test_cifar10_real(need_data: Callable[..., Path]) -> None:
    home = need_data(CIFAR)
    ds = load_cifar10(split="test", data_home=home, download=False)
    assert ds.x.shape == (10000, 32, 32, 3) and ds.x.dtype == np.uint8
    assert np.bincount(ds.y).tolist() == [1000] * 10
    # Independent reference: decode two members straight from the archive with Pillow.
    wanted = {"test/airplane/0000.jpg": 0, "test/truck/0999.jpg": 9999}
    with tarfile.open(home / CIFAR, "r:gz") as tf:
        for member in tf:
            if member.name in wanted:
                fh = tf.extractfile(member)
                assert fh is not None
                ref = np.asarray(Image.open(io.BytesIO(fh.read())).convert("RGB"))
                np.testing.assert_array_equal(ds.x[wanted[member.name]], ref)
