"""Character-level Penn Treebank (Mikolov et al. split), paper §4.4 and appendix D: the data layer.

Files: ``ptb.char.{train,valid,test}.txt`` (or ``.gz``) in a local directory; when missing they are
extracted from the official ``simple-examples.tgz`` (URL below). Each character of the text is
followed by one space; word boundaries are ``_``; every line ends in a newline, itself followed by a
space. One token per character, the word boundary ``_`` and the line end ``\\n`` included: the
vocabulary is the sorted set of train symbols, 50 of them (49 printable, plus the line end).

Truncated BPTT: the token stream is cut into `batch_size` contiguous rows, and consecutive batches
continue each row, so the recurrent state carries from one batch to the next.
"""

from __future__ import annotations

import os

import numpy as np

from tasks.data_files import DataError, checksums, fetch_archive, locate, open_text, verify

__all__ = ["URL", "SPLITS", "load_split", "char_tokens", "build_vocab", "encode", "tbptt_batches"]

URL = "http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz"
SPLITS = ("train", "valid", "test")


def _name(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"PTB split {split!r} is unknown; valid: {', '.join(SPLITS)}.")
    return f"ptb.char.{split}.txt"


def load_split(data_dir: str, split: str, *, download: bool = True) -> str:
    """The text of one split, checked against its SHA-256; fetched from `URL` first if missing."""
    name = _name(split)
    path = locate(data_dir, name)
    if path is None and download:
        fetch_archive(URL, data_dir, {f"data/{name}": name})
        path = locate(data_dir, name)
    if path is None:
        raise DataError(f"{os.path.join(data_dir, name)} (or .gz) is missing; it is in {URL} under data/.")
    verify(path, checksums("ptb_char").get(name))
    with open_text(path) as f:
        return f.read()


def char_tokens(text: str) -> list[str]:
    """One token per character of the space-separated char file (``_`` and ``\\n`` included)."""
    tokens = text.split(" ")
    return tokens[:-1] if tokens and tokens[-1] == "" else tokens


def build_vocab(tokens: list[str]) -> list[str]:
    return sorted(set(tokens))


def encode(tokens: list[str], vocab: list[str]) -> np.ndarray:
    index = {s: i for i, s in enumerate(vocab)}
    try:
        return np.fromiter((index[t] for t in tokens), np.int32, len(tokens))
    except KeyError as err:
        raise DataError(f"PTB symbol {err.args[0]!r} is not in the {len(vocab)}-symbol train vocabulary.") from None


def tbptt_batches(ids: np.ndarray, batch_size: int, length: int):
    """Yield (inputs, targets), each (batch_size, length), continuing each of `batch_size` rows.

    Row r holds tokens [r·m, (r+1)·m) of the stream, m = len(ids) // batch_size; batch i is columns
    [i·length, (i+1)·length) and its targets are the next tokens.
    """
    per_row = len(ids) // batch_size
    if per_row < length + 1:
        raise ValueError(f"{len(ids)} tokens are too few for batch {batch_size} × length {length}.")
    rows = ids[: per_row * batch_size].reshape(batch_size, per_row)
    for i in range((per_row - 1) // length):
        start = i * length
        yield rows[:, start : start + length], rows[:, start + 1 : start + length + 1]
