"""Character-level Penn Treebank (Mikolov et al. split), paper §4.4 and appendix D: the data layer.

Two character streams of the same text, chosen by `files` (``task_options.files``):

- ``"word"`` (default; the authors' stream, rdangovs ``tasks/LM/reader.py`` after amujika's FS-RNN
  reader): the raw bytes of the word-level files ``ptb.{train,valid,test}.txt``, one token per byte.
  Every line starts with a space and ends in a newline, and both are characters: valid 399,782,
  test 449,945, train 5,101,618 characters.
- ``"char"`` (rumjax before 0.3; old workdirs keep it): ``ptb.char.{split}.txt``, where every
  character is followed by one space, word boundaries are ``_`` and each line's leading and trailing
  space are gone: valid 393,042, test 442,423, train 5,017,482 characters. The same model's BPC is
  about 1.7% higher on this stream (the same bits over fewer characters).

Either way the vocabulary is the sorted set of train symbols, 50 of them (49 printable, plus the line
end). Files are found in a local directory, directly or in the official archive's ``simple-examples/data/``
folder, plain or ``.gz``; when missing they are extracted from ``simple-examples.tgz`` (URL below).

Truncated BPTT: the token stream is cut into `batch_size` contiguous rows, and consecutive batches
continue each row, so the recurrent state carries from one batch to the next.
"""

from __future__ import annotations

import os

import numpy as np

from tasks.data_files import DataError, checksums, fetch_archive, locate, missing, read_text, verify

__all__ = [
    "URL",
    "ARCHIVE_FOLDER",
    "SPLITS",
    "FILES",
    "file_name",
    "load_split",
    "tokens",
    "char_tokens",
    "build_vocab",
    "encode",
    "tbptt_batches",
]

URL = "http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz"
ARCHIVE_FOLDER = "simple-examples/data"  # where the files are in the extracted archive
SPLITS = ("train", "valid", "test")
FILES = ("word", "char")  # the authors' stream (raw bytes of ptb.{split}.txt); the ptb.char files


def file_name(split: str, files: str = "word") -> str:
    """The file a split's stream is read from: ``ptb.{split}.txt`` ("word") or ``ptb.char.{split}.txt``."""
    if split not in SPLITS:
        raise ValueError(f"PTB split {split!r} is unknown; valid: {', '.join(SPLITS)}.")
    if files not in FILES:
        raise ValueError(
            f"ptb: files={files!r} is unknown; valid: 'word' (the authors' stream, raw bytes of "
            "ptb.{split}.txt) or 'char' (ptb.char.{split}.txt, rumjax before 0.3)."
        )
    return f"ptb.{split}.txt" if files == "word" else f"ptb.char.{split}.txt"


def load_split(data_dir: str, split: str, *, files: str = "word", download: bool = True, check: bool = True) -> str:
    """The text of one split's file (`file_name`), checked against its SHA-256 (unless `check` is
    False, for hand-made files); fetched from `URL` first if missing and `download` is True."""
    name = file_name(split, files)
    path = locate(data_dir, name, ARCHIVE_FOLDER)
    if path is None and download:
        fetch_archive(URL, data_dir, {f"data/{name}": name})
        path = locate(data_dir, name, ARCHIVE_FOLDER)
    if path is None:
        raise missing(data_dir, name, ARCHIVE_FOLDER, URL)
    if check:
        verify(path, checksums("ptb_char").get(name))
    return read_text(path, newline="")  # the bytes as they are: a line end is a character


def tokens(text: str, files: str = "word") -> list[str]:
    """The character tokens of a split's text: every byte of a word file (its spaces and newlines
    included), or `char_tokens` of a char file."""
    return list(text) if files == "word" else char_tokens(text)


def char_tokens(text: str) -> list[str]:
    """One token per character of the space-separated char file (``_`` and ``\\n`` included)."""
    parts = text.split(" ")
    return parts[:-1] if parts and parts[-1] == "" else parts


def build_vocab(tokens: list[str]) -> list[str]:
    return sorted(set(tokens))


def encode(tokens: list[str], vocab: list[str], source: str = "the stream") -> np.ndarray:
    """The ids of `tokens` in `vocab`; a token outside it raises a DataError naming `source` (the file) and
    the line and column where it first occurs."""
    index = {s: i for i, s in enumerate(vocab)}
    try:
        return np.fromiter((index[t] for t in tokens), np.int32, len(tokens))
    except KeyError as err:
        at = next(i for i, t in enumerate(tokens) if t not in index)
        line = 1 + sum(t.count("\n") for t in tokens[:at])
        start = max((i for i in range(at) if "\n" in tokens[i]), default=-1) + 1
        raise DataError(
            f"{source}, line {line}, character {at - start + 1}: PTB symbol {err.args[0]!r} is not in the "
            f"{len(vocab)}-symbol vocabulary of the training stream."
        ) from None


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


class PTBTask:
    """Character-level PTB as a training task: truncated BPTT over the train stream, state carried.

    `files` picks the character stream (module docstring): "word", the authors' (default), or "char".
    At batch 128 × 150 an epoch is 265 steps on the authors' stream, 261 on the char stream.

    The train stream is cut into `batch_size` rows once (device-resident); step s reads batch
    ``(s − 1) mod batches_per_epoch`` and the trainer resets the carry at each epoch start. Valid
    and test are evaluated over their whole streams, cut into `eval_rows` rows, with the state
    carried from one segment to the next. Metrics: cross-entropy in nats and bits per character.
    """

    readout = "all"
    stream = True

    def __init__(
        self, data_dir: str, seq_len: int = 150, download: bool = True, check: bool = True, files: str = "word"
    ):
        if isinstance(seq_len, bool) or not isinstance(seq_len, int) or seq_len < 1:
            raise ValueError(f"ptb: seq_len must be a positive integer, got {seq_len!r}.")
        self.seq_len = seq_len
        self.files = files
        text = {split: load_split(data_dir, split, files=files, download=download, check=check) for split in SPLITS}
        streams = {split: tokens(text[split], files) for split in SPLITS}
        self.vocab = build_vocab(streams["train"])
        self.vocab_size = self.num_classes = len(self.vocab)
        self.ids = {
            split: encode(streams[split], self.vocab, os.path.join(data_dir, file_name(split, files)))
            for split in SPLITS
        }

    def rows(self, split: str, batch_size: int) -> np.ndarray:
        """The stream of `split` cut into `batch_size` contiguous rows, (batch_size, columns).

        Training ("train") keeps whole segments only. Evaluation splits are padded (with a weight of
        0, see `batch_at`) to whole segments, so every character but the < batch_size left over by
        the cut into rows is scored; with one row, all of them are.
        """
        ids = self.ids[split]
        per_row = len(ids) // batch_size
        if per_row < self.seq_len + 1:
            raise ValueError(f"ptb {split}: {len(ids)} tokens are too few for {batch_size} rows of {self.seq_len}.")
        rows = ids[: per_row * batch_size].reshape(batch_size, per_row)
        if split == "train":
            return rows
        columns = self.num_batches(split, batch_size) * self.seq_len + 1
        return np.pad(rows, ((0, 0), (0, columns - per_row)))

    def num_batches(self, split: str, batch_size: int) -> int:
        """Segments per pass: whole ones for train, all (the last padded) for valid and test."""
        targets = len(self.ids[split]) // batch_size - 1  # next-character targets per row
        return targets // self.seq_len if split == "train" else -(-targets // self.seq_len)

    def train_data(self, batch_size: int) -> np.ndarray:
        """The train stream in `batch_size` rows, host-side; the trainer shards it over the devices by row
        once and passes it to every step."""
        return self.rows("train", batch_size)

    def train_batch(self, key, batch_size: int, step, data) -> dict:
        """Segment ``step mod (segments per epoch)`` of the train rows `data` (consecutive steps continue
        each row; the trainer resets the carry when a new epoch starts)."""
        return self.batch_at(data, step % self.epoch_steps(data))

    def epoch_steps(self, rows) -> int:
        """Whole segments in the train rows (static: from their shape)."""
        return (rows.shape[1] - 1) // self.seq_len

    def batch_at(self, rows, index, per_row: int | None = None) -> dict:
        """Segment `index` of `rows` (jittable): inputs (b, T), the next characters as targets, and
        weights that are 0 past the row's `per_row` real characters (padding)."""
        import jax
        import jax.numpy as jnp

        b = rows.shape[0]
        window = jax.lax.dynamic_slice(rows, (0, index * self.seq_len), (b, self.seq_len + 1))
        batch = {"inputs": window[:, :-1], "targets": window[:, 1:]}
        if per_row is not None:
            position = index * self.seq_len + jnp.arange(self.seq_len)  # column of each target's input
            batch["weights"] = jnp.broadcast_to(position < per_row - 1, (b, self.seq_len)).astype(jnp.float32)
        return batch

    def row_length(self, split: str, batch_size: int) -> int:
        """Real characters per row of `rows(split, batch_size)`."""
        return len(self.ids[split]) // batch_size

    def metrics(self, logits, batch: dict) -> dict:
        from tasks.metrics import classification_sums

        return classification_sums(logits, batch["targets"], batch.get("weights"))
