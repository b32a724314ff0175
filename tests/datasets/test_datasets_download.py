"""Data home rules, the file registry and the checksum-verified download path (offline)."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from assay.datasets import (
    REGISTRY,
    ChecksumError,
    RemoteFile,
    _base,
    fetch_file,
    get_data_home,
    load_adult,
    load_german,
    load_mnist,
)

TOY = "toy/toy.csv"
TOY_BYTES = b"a,b\n1,2\n3,4\n"


# -- get_data_home ----------------------------------------------------------------------------


def test_explicit_data_home_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ASSAY_DATA_HOME", str(tmp_path / "env"))
    assert get_data_home(tmp_path / "arg") == tmp_path / "arg"
    assert get_data_home(str(tmp_path / "arg")) == tmp_path / "arg"


def test_env_data_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ASSAY_DATA_HOME", str(tmp_path / "env"))
    assert get_data_home() == tmp_path / "env"
    assert not (tmp_path / "env").exists()  # resolving does not create it


def test_default_data_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ASSAY_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert get_data_home() == tmp_path / "assay_data"
    monkeypatch.setenv("ASSAY_DATA_HOME", "")  # empty counts as unset
    assert get_data_home() == tmp_path / "assay_data"
    assert get_data_home("~/elsewhere") == tmp_path / "elsewhere"


def test_loader_uses_env_data_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ASSAY_DATA_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        load_adult(download=False)


# -- registry -----------------------------------------------------------------------------------


def test_registry_matches_sha256sums(need_data: Callable[..., Path]) -> None:
    home = need_data("SHA256SUMS")
    listed = {}
    for line in (home / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        listed[name.removeprefix("./")] = digest
    for relpath, entry in REGISTRY.items():
        assert listed[relpath] == entry.sha256, relpath


def test_registry_urls_are_https() -> None:
    for relpath, entry in REGISTRY.items():
        assert entry.url is None or entry.url.startswith("https://"), relpath
        assert len(entry.sha256) == 64
        assert entry.source


# -- fetch_file with a file:// URL ---------------------------------------------------------------


@pytest.fixture
def toy_entry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> RemoteFile:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "toy.csv").write_bytes(TOY_BYTES)
    entry = RemoteFile(
        url=(mirror / "toy.csv").as_uri(),
        sha256=hashlib.sha256(TOY_BYTES).hexdigest(),
        source="a toy file for the tests",
    )
    monkeypatch.setitem(REGISTRY, TOY, entry)
    return entry


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def test_download_success(toy_entry: RemoteFile, tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = fetch_file(TOY, data_home=home, download=True)
    assert path == home / "toy" / "toy.csv"
    assert path.read_bytes() == TOY_BYTES
    assert _leftovers(home / "toy") == ["toy.csv"]  # no temporary file left behind


def test_existing_file_is_not_downloaded(
    toy_entry: RemoteFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    (home / "toy").mkdir(parents=True)
    (home / "toy" / "toy.csv").write_bytes(b"local copy")
    monkeypatch.setitem(REGISTRY, TOY, dataclasses.replace(toy_entry, url="file:///nonexistent"))
    assert fetch_file(TOY, data_home=home).read_bytes() == b"local copy"


def test_checksum_mismatch(
    toy_entry: RemoteFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(REGISTRY, TOY, dataclasses.replace(toy_entry, sha256="0" * 64))
    home = tmp_path / "home"
    with pytest.raises(ChecksumError, match="SHA-256") as info:
        fetch_file(TOY, data_home=home, download=True)
    assert isinstance(info.value, OSError)
    assert _leftovers(home / "toy") == []  # neither the file nor a partial download


def test_download_failure_leaves_nothing(
    toy_entry: RemoteFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = (tmp_path / "mirror" / "missing.csv").as_uri()
    monkeypatch.setitem(REGISTRY, TOY, dataclasses.replace(toy_entry, url=missing))
    home = tmp_path / "home"
    with pytest.raises(OSError, match=r"could not download 'toy/toy\.csv'"):
        fetch_file(TOY, data_home=home, download=True)
    assert _leftovers(home / "toy") == []


def test_download_false_missing_file(toy_entry: RemoteFile, tmp_path: Path) -> None:
    home = tmp_path / "home"
    with pytest.raises(FileNotFoundError) as info:
        fetch_file(TOY, data_home=home, download=False, func="load_toy")
    msg = str(info.value)
    assert "load_toy could not find 'toy/toy.csv'" in msg
    assert str(home / "toy" / "toy.csv") in msg
    assert "download=False" in msg
    assert "ASSAY_DATA_HOME" in msg
    assert "data_home=" in msg
    assert "a toy file for the tests" in msg
    assert not home.exists()


def test_loader_download_false_message(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        load_german(data_home=tmp_path, download=False)
    msg = str(info.value)
    assert "load_german could not find 'german/german.data'" in msg
    assert str(tmp_path / "german" / "german.data") in msg
    assert "ASSAY_DATA_HOME" in msg
    assert "archive.ics.uci.edu" in msg


def test_no_public_url(tmp_path: Path) -> None:
    # The npz was rebuilt for the mirror: never downloaded, even with download=True.
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(data_home=tmp_path, download=True)
    msg = str(info.value)
    assert "'mnist/mnist.npz'" in msg
    assert "no stable public download URL" in msg
    assert "ASSAY_DATA_HOME" in msg
    assert not (tmp_path / "mnist").exists()


def test_unknown_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"'nothing/here\.csv'"):
        fetch_file("nothing/here.csv", data_home=tmp_path)


def test_load_german_via_download(
    need_data: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = need_data("german/german.data")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copyfile(shared / "german" / "german.data", mirror / "german.data")
    key = "german/german.data"
    monkeypatch.setitem(
        REGISTRY, key, dataclasses.replace(REGISTRY[key], url=(mirror / "german.data").as_uri())
    )
    home = tmp_path / "home"
    table = load_german(data_home=home, download=True)
    assert table.num_rows == 1000
    assert (home / "german" / "german.data").is_file()
    assert _leftovers(home / "german") == ["german.data"]


def test_load_adult_via_download(
    need_data: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = need_data("adult/adult.data", "adult/adult.test")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in ("adult.data", "adult.test"):
        shutil.copyfile(shared / "adult" / name, mirror / name)
        key = f"adult/{name}"
        monkeypatch.setitem(
            REGISTRY, key, dataclasses.replace(REGISTRY[key], url=(mirror / name).as_uri())
        )
    table = load_adult(split="all", data_home=tmp_path / "home")
    assert table.num_rows == 32561 + 16281


def test_registry_is_read_at_call_time() -> None:
    assert _base.REGISTRY is REGISTRY
