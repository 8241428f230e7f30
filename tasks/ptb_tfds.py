"""`ptb_char`: character-level Penn Treebank (Mikolov split) as a TensorFlow-Datasets builder.

Splits ``train``, ``valid`` and ``test``; one example per line of the char files:

    text  Text, the line's characters with ``_`` at word boundaries (the separating spaces of the
          files removed; the line end is implied), e.g. ``"a_b_<unk>"`` — the tokens of tasks/ptb.py

Files come from the user's copy when one is given (``manual_dir``: the folder holding
``ptb.char.{train,valid,test}.txt``, plain or .gz, e.g. ../shared/data/ptb), else from the official
``simple-examples.tgz``; each is checked against tasks/checksums/ptb_char.tsv, and a missing or corrupt
one raises a `DataError` naming it. Without TensorFlow, write array_record files and read them with
``as_data_source``:

    builder = PtbChar(data_dir=DIR, file_format="array_record")
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=PTB))
    valid = builder.as_data_source("valid")
"""

from __future__ import annotations

import tensorflow_datasets as tfds

from tasks.data_files import source_folder
from tasks.ptb import ARCHIVE_FOLDER, SPLITS, URL, char_tokens, load_split


class PtbChar(tfds.core.GeneratorBasedBuilder):
    """Character-level PTB, Mikolov et al.'s split, one example per line."""

    VERSION = tfds.core.Version("1.0.0")
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        f"Optional. Extract {URL} and pass its data/ folder (ptb.char.*.txt) as manual_dir; "
        "without it the archive is downloaded."
    )

    def __init__(self, *, check: bool = True, **kwargs):
        self._check = check  # False only for hand-made test files, which have no published checksum
        super().__init__(**kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description="Penn Treebank as characters (Mikolov et al. 2012): one line of text per example.",
            features=tfds.features.FeaturesDict({"text": tfds.features.Text()}),
            homepage="http://www.fit.vutbr.cz/~imikolov/rnnlm/",
        )

    def _split_generators(self, dl_manager):
        root = source_folder(dl_manager, URL, ARCHIVE_FOLDER)
        return {split: self._generate_examples(root, split) for split in SPLITS}

    def _generate_examples(self, root: str, split: str):
        tokens = char_tokens(load_split(root, split, files="char", download=False, check=self._check))
        line: list[str] = []
        index = 0
        for token in tokens:
            if token == "\n":
                yield index, {"text": "".join(line)}
                index, line = index + 1, []
            else:
                line.append(token)
        if line:
            yield index, {"text": "".join(line)}
