"""Data home resolution, the registry of known files, and checksum-verified downloads.

Every file a loader reads is listed in :data:`REGISTRY`, keyed by its path relative to the
data home (for example ``"adult/adult.data"``). An entry gives the public URL the file can be
downloaded from (``None`` where there is no stable public URL whose bytes match), its SHA-256
digest, and a human-readable description of the upstream source used in error messages.

The registry is a plain module-level ``dict`` so that tests (or a user with a private mirror)
can replace an entry, e.g. with a ``file://`` URL.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DATA_HOME_ENV",
    "REGISTRY",
    "ChecksumError",
    "RemoteFile",
    "fetch_file",
    "get_data_home",
]

#: Environment variable that points at the data home.
DATA_HOME_ENV = "ASSAY_DATA_HOME"

_DEFAULT_DATA_HOME = "~/assay_data"
_CHUNK = 1 << 20
_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class RemoteFile:
    """Where a data file comes from and how to check it.

    Attributes
    ----------
    url : str or None
        Public URL whose bytes are exactly the expected file, or ``None`` when the file has no
        stable public URL (for example a file rebuilt for the offline mirror). Files without a
        URL are never downloaded; a missing one raises :class:`FileNotFoundError`.
    sha256 : str
        Lower-case hex SHA-256 digest of the file.
    source : str
        Human-readable description of the upstream source, shown in error messages.
    """

    url: str | None
    sha256: str
    source: str


_UCI_ADULT = "https://archive.ics.uci.edu/ml/machine-learning-databases/adult/"
_PROPUBLICA = "https://raw.githubusercontent.com/propublica/compas-analysis/master/"
_UCI_GERMAN = "https://archive.ics.uci.edu/ml/machine-learning-databases/statlog/german/"

#: Every file the loaders read, keyed by its POSIX path relative to the data home.
REGISTRY: dict[str, RemoteFile] = {
    "adult/adult.data": RemoteFile(
        url=_UCI_ADULT + "adult.data",
        sha256="5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d",
        source="UCI Adult / Census Income, https://archive.ics.uci.edu/dataset/2/adult",
    ),
    "adult/adult.test": RemoteFile(
        url=_UCI_ADULT + "adult.test",
        sha256="a2a9044bc167a35b2361efbabec64e89d69ce82d9790d2980119aac5fd7e9c05",
        source="UCI Adult / Census Income, https://archive.ics.uci.edu/dataset/2/adult",
    ),
    "compas/compas-scores-two-years.csv": RemoteFile(
        url=_PROPUBLICA + "compas-scores-two-years.csv",
        sha256="c451db85908b2f7fef1d83203bedf6b71ecda0d5af468d82ae62178f91d0cc7d",
        source="ProPublica, https://github.com/propublica/compas-analysis",
    ),
    "compas/compas-scores-two-years-violent.csv": RemoteFile(
        url=_PROPUBLICA + "compas-scores-two-years-violent.csv",
        sha256="918e218ba181d4db8a7266977d23ca7a5ecf1bc7d5defd7b2f27bf3cbd9763e3",
        source="ProPublica, https://github.com/propublica/compas-analysis",
    ),
    "german/german.data": RemoteFile(
        url=_UCI_GERMAN + "german.data",
        sha256="b21f3d81db8071257d5ff1deaeba1fd4303b62712e6fcc9715c7a86202cb5871",
        source=(
            "UCI Statlog (German Credit Data), "
            "https://archive.ics.uci.edu/dataset/144/statlog+german+credit+data"
        ),
    ),
    # UCI distributes Bank Marketing only inside zip archives: no URL gives these bytes.
    "bank_marketing/bank-full.csv": RemoteFile(
        url=None,
        sha256="d1513ec63b385506f7cfce9f2c5caa9fe99e7ba4e8c3fa264b3aaf0f849ed32d",
        source=(
            "UCI Bank Marketing, https://archive.ics.uci.edu/dataset/222/bank+marketing "
            "(bank-full.csv inside bank.zip)"
        ),
    ),
    "bank_marketing/bank-additional-full.csv": RemoteFile(
        url=None,
        sha256="74adfc578bf77a7ff4bb1ba4a9f8709d9e3c6907342959c2c8416847e0afb4d8",
        source=(
            "UCI Bank Marketing, https://archive.ics.uci.edu/dataset/222/bank+marketing "
            "(bank-additional/bank-additional-full.csv inside bank-additional.zip)"
        ),
    ),
    # The image archives below were rebuilt or re-encoded for the offline mirror.
    "mnist/mnist.npz": RemoteFile(
        url=None,
        sha256="06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64",
        source=(
            "MNIST (an npz with uint8 arrays x_train, y_train, x_test, y_test), "
            "e.g. rebuilt from https://github.com/rasbt/mnist-pngs"
        ),
    ),
    "fashion_mnist/fashion_mnist_train.npz": RemoteFile(
        url=None,
        sha256="3e1441eb5e03117f3280348ed6af9ada8db350ee079b4a0a54d4da7cdb8f3e99",
        source=(
            "Fashion-MNIST (an npz with uint8 arrays x_train, y_train) decoded from "
            "https://github.com/zalandoresearch/fashion-mnist"
        ),
    ),
    "fashion_mnist/fashion_mnist_test.npz": RemoteFile(
        url=None,
        sha256="40cc5f7c7185a3f578d2e072deede39bcb9b9eedb4b716e70d55777fd0a88138",
        source=(
            "Fashion-MNIST (an npz with uint8 arrays x_test, y_test) decoded from "
            "https://github.com/zalandoresearch/fashion-mnist"
        ),
    ),
    "notmnist/notmnist_test.npz": RemoteFile(
        url=None,
        sha256="7b423f80fd5a6af4d2619bd89372c8cbcb699e7bd6e29babe0c17246f479bffe",
        source=(
            "notMNIST test set (an npz with uint8 arrays x_test, y_test) converted from "
            "https://github.com/davidflanagan/notMNIST-to-MNIST"
        ),
    ),
}


class ChecksumError(OSError):
    """A downloaded file does not have the expected SHA-256 digest."""


def get_data_home(data_home: str | os.PathLike[str] | None = None) -> Path:
    """Return the folder the data set loaders read from (and download into).

    Parameters
    ----------
    data_home : str, os.PathLike or None, default=None
        An explicit folder. When ``None``, the environment variable ``ASSAY_DATA_HOME`` is used
        if it is set and not empty; otherwise ``~/assay_data``.

    Returns
    -------
    pathlib.Path
        The data home with ``~`` expanded. The folder is not created and need not exist.
    """
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_ENV) or _DEFAULT_DATA_HOME
    return Path(data_home).expanduser()


def _how_to_provide(relpath: str, entry: RemoteFile | None) -> str:
    where = (
        f"Provide it offline by placing the file at that path, or point the data home at a "
        f"folder that contains {relpath!r}: set the environment variable {DATA_HOME_ENV} or "
        f"pass data_home=."
    )
    if entry is not None:
        where += f" Upstream source: {entry.source}."
    return where


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(url: str, target: Path, sha256: str) -> None:
    """Download ``url`` to ``target`` through a temporary file, checking its digest."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=_TIMEOUT_S) as resp:
            for chunk in iter(lambda: resp.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
        got = digest.hexdigest()
        if got != sha256:
            raise ChecksumError(
                f"The file downloaded from {url} has SHA-256 {got}, expected {sha256}; "
                f"it was deleted. The upstream file may have changed or the download may be "
                f"corrupted."
            )
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def fetch_file(
    relpath: str,
    *,
    data_home: str | os.PathLike[str] | None = None,
    download: bool = True,
    func: str = "load",
) -> Path:
    """Return the local path of a registered data file, downloading it if needed.

    Parameters
    ----------
    relpath : str
        Key of :data:`REGISTRY`: the file's POSIX path relative to the data home.
    data_home : str, os.PathLike or None, default=None
        See :func:`get_data_home`.
    download : bool, default=True
        Whether to download a missing file that has a public URL. The download is written to a
        temporary file in the target folder, checked against the registered SHA-256 digest and
        then renamed into place atomically.
    func : str, default="load"
        Name of the calling loader, used in error messages.

    Returns
    -------
    pathlib.Path
        Path of the file in the data home. A file that is already there is used as is (its
        checksum is not recomputed on every load).

    Raises
    ------
    FileNotFoundError
        The file is missing and either ``download`` is ``False`` or it has no public URL.
    ChecksumError
        The downloaded bytes do not match the registered digest (nothing is left behind).
    OSError
        The download itself failed (network error, unwritable data home).
    """
    home = get_data_home(data_home)
    path = home.joinpath(*relpath.split("/"))
    if path.is_file():
        return path
    entry = REGISTRY.get(relpath)
    looked = f"{func} could not find {relpath!r} in the data home {str(home)!r} (looked for {str(path)!r})."
    if entry is None or entry.url is None:
        raise FileNotFoundError(
            f"{looked} This file has no stable public download URL, so it cannot be "
            f"downloaded automatically. {_how_to_provide(relpath, entry)}"
        )
    if not download:
        raise FileNotFoundError(
            f"{looked} download=False was passed; pass download=True to fetch it from "
            f"{entry.url}. {_how_to_provide(relpath, entry)}"
        )
    try:
        _download(entry.url, path, entry.sha256)
    except ChecksumError:
        raise
    except (urllib.error.URLError, OSError) as exc:
        raise OSError(
            f"{func} could not download {relpath!r} from {entry.url} into {str(path)!r}: "
            f"{exc}. {_how_to_provide(relpath, entry)}"
        ) from exc
    return path
