"""Finding, fetching and verifying the real data files (PTB, bAbI).

A data set lives in a local directory (the user's, e.g. ``--config.data_dir``) holding the files
under their original names, plain or gzip-compressed (``X`` or ``X.gz``), either directly or inside
the official archive's own folder, extracted as it comes (``simple-examples/data/``, ``tasks_1-20_v1-2/``). When a file is missing
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

__all__ = ["DataError", "checksums", "read_text", "candidates", "locate", "missing", "verify", "fetch_archive"]

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


def read_text(path: str, newline: str | None = None) -> str:
    """The text of `path`, transparently decompressing a ``.gz`` file (`newline` as in `open`: ``""`` keeps
    every line end as it is in the file). A truncated or damaged ``.gz`` or a file that is not UTF-8 raises
    a DataError naming the file and what is wrong with it."""
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8", newline=newline) as f:
                return f.read()
        with open(path, encoding="utf-8", newline=newline) as f:
            return f.read()
    except EOFError as err:
        raise DataError(f"{path}: the .gz file is truncated ({err}); fetch or copy it again.") from err
    except gzip.BadGzipFile as err:
        raise DataError(f"{path}: not a valid .gz file ({err}).") from err
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text at byte {err.start} ({err.reason}).") from err


def read_bytes(path: str) -> bytes:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        return f.read()


def candidates(data_dir: str, name: str, archive_folder: str = "") -> list[str]:
    """Where `name` may be under data_dir, in the order tried: the file itself (or ``.gz``) directly in
    data_dir, then inside `archive_folder` (the official archive extracted as it comes, e.g.
    ``simple-examples/data`` or ``tasks_1-20_v1-2``)."""
    folders = [data_dir] + ([os.path.join(data_dir, archive_folder)] if archive_folder else [])
    return [os.path.join(folder, name + ext) for folder in folders for ext in ("", ".gz")]


def locate(data_dir: str, name: str, archive_folder: str = "") -> str | None:
    """The first of `candidates(data_dir, name, archive_folder)` that exists, or None."""
    for candidate in candidates(data_dir, name, archive_folder):
        if os.path.exists(candidate):
            return candidate
    return None


def missing(data_dir: str, name: str, archive_folder: str, url: str, hint: str = "") -> DataError:
    """The error for a data file found nowhere: every path tried, and where the file comes from."""
    tried = ", ".join(candidates(data_dir, name, archive_folder))
    return DataError(
        f"{name} is missing: tried {tried}. It is in {url}"
        + (f" under {archive_folder}/" if archive_folder else "")
        + f".{hint}"
    )


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
    except EOFError as err:
        raise DataError(f"{path}: the .gz file is truncated ({err}); fetch or copy it again.") from err
    except (OSError, gzip.BadGzipFile) as err:
        raise DataError(f"{path}: cannot be read ({err}).") from err
    if got != want:
        raise DataError(
            f"{path}: {kind} {got} does not match the expected {want}; the file is corrupt or a "
            "different version. Delete it to fetch it again, or replace it with the official file."
        )


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
