"""Finding, fetching and verifying the real data files (PTB, bAbI).

A data set lives in a local directory (the user's, e.g. ``--config.data_dir``) holding the files
under their original names, plain or gzip-compressed (``X`` or ``X.gz``). When a file is missing
and a download URL is known, the official archive is fetched into that directory and the needed
members are extracted. Every file is checked against the SHA-256 of its decompressed bytes listed
in ``tasks/checksums/<dataset>.tsv`` (or a git blob id, ``blob:<sha1>``, where only that is known);
a missing or corrupt file raises a `DataError` that names the file and what was expected.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.request

__all__ = ["DataError", "checksums", "open_text", "locate", "verify", "fetch_archive"]

CHECKSUM_DIR = os.path.join(os.path.dirname(__file__), "checksums")


class DataError(FileNotFoundError):
    """A data file is missing, unreadable or does not match its checksum."""


def checksums(dataset: str) -> dict[str, str]:
    """{original file name: expected digest} from tasks/checksums/<dataset>.tsv."""
    table = {}
    with open(os.path.join(CHECKSUM_DIR, f"{dataset}.tsv")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                name, digest, _ = line.rstrip("\n").split("\t")
                table[name] = digest
    return table


def open_text(path: str):
    """Open `path` as text, transparently decompressing a ``.gz`` file."""
    return gzip.open(path, "rt", encoding="utf-8") if path.endswith(".gz") else open(path, encoding="utf-8")


def read_bytes(path: str) -> bytes:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        return f.read()


def locate(data_dir: str, name: str) -> str | None:
    """The path of `name` or `name.gz` under data_dir, or None."""
    for candidate in (os.path.join(data_dir, name), os.path.join(data_dir, name + ".gz")):
        if os.path.exists(candidate):
            return candidate
    return None


def digest(data: bytes, kind: str) -> str:
    if kind == "blob":
        return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    return hashlib.sha256(data).hexdigest()


def verify(path: str, expected: str | None) -> None:
    """Raise DataError unless the decompressed bytes of `path` match `expected` (sha256 or blob:<sha1>)."""
    if expected is None:
        return
    kind, want = expected.split(":", 1) if ":" in expected else ("sha256", expected)
    try:
        got = digest(read_bytes(path), kind)
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise DataError(f"{path}: cannot be read ({err}).") from err
    if got != want:
        raise DataError(f"{path}: {kind} {got} does not match the expected {want}; the file is corrupt or a "
                        "different version. Delete it to fetch it again, or replace it with the official file.")


def fetch_archive(url: str, data_dir: str, members: dict[str, str]) -> None:
    """Download the tar(.gz) at `url` and extract `members` into data_dir.

    `members` maps a path suffix inside the archive (e.g. ``data/ptb.char.train.txt``) to the file
    name to write (suffixes, since archives differ in their leading ``./`` and top folder).
    """
    os.makedirs(data_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        archive = os.path.join(tmp, "archive")
        try:
            with urllib.request.urlopen(url, timeout=60) as response, open(archive, "wb") as out:
                shutil.copyfileobj(response, out)
        except OSError as err:
            raise DataError(f"Could not download {url} ({err}). Place the files in {data_dir} by hand.") from err
        with tarfile.open(archive) as tar:
            names = tar.getnames()
            for suffix, name in members.items():
                found = [n for n in names if n.endswith(suffix)]
                if not found:
                    raise DataError(f"{url} has no member ending in {suffix}.")
                target = os.path.join(data_dir, name)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with tar.extractfile(found[0]) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)


def source_folder(dl_manager, url: str, folder: str) -> str:
    """For a TFDS builder: the user's ``manual_dir`` if one is given and not empty, else the official
    archive at `url`, downloaded and extracted by TFDS, and its `folder` that holds the files."""
    try:
        return os.fspath(dl_manager.manual_dir)
    except AssertionError:  # TFDS: no manual_dir given, or it is empty
        return os.path.join(os.fspath(dl_manager.download_and_extract(url)), folder)
