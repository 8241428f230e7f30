"""`babi_qa`: bAbI v1.2 question answering as a TensorFlow-Datasets builder (no TensorFlow needed).

One config per task and size: ``babi_qa/en-qa1`` … ``babi_qa/en-qa20`` (1k training questions per
task) and ``babi_qa/en-10k-qa1`` … (10k). Splits ``train`` and ``test``; hold out validation with TFDS
slicing (``train[:90%]`` / ``train[90%:]``, as appendix C). One example per question:

    story     Text, the story's sentences up to the question, one per line, tokenised as tasks/babi.py
    question  Text, tokenised
    answer    Text
    supporting_facts  int32[None], the line ids of the supporting facts

Files come from the user's copy when one is given (``manual_dir``: the folder holding ``en/``,
``en-10k/`` …, e.g. ../shared/data/babi/tasks_1-20_v1-2), else from the official archive; each is
checked against tasks/checksums/babi_tasks_1-20_v1-2.tsv, and a missing or corrupt one raises a
`DataError` naming it. Write array_record files and read them with ``as_data_source`` (TFDS's
default tfrecord writer needs TensorFlow):

    builder = BabiQa(config="en-qa1", data_dir=DIR, file_format="array_record")
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=BABI))
    test = builder.as_data_source("test")            # test[0]["answer"] == b"hallway"
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from tasks.babi import SIZES, TASK_NAMES, URL, load_task
from tasks.data_files import source_folder

ARCHIVE_FOLDER = "tasks_1-20_v1-2"  # the top folder inside the official tar.gz


@dataclasses.dataclass
class BabiQaConfig(tfds.core.BuilderConfig):
    task: int = 1
    size: str = "1k"


def _configs() -> list[BabiQaConfig]:
    out = []
    for size, folder in SIZES.items():
        for task, name in TASK_NAMES.items():
            out.append(
                BabiQaConfig(
                    name=f"{folder}-qa{task}",
                    task=task,
                    size=size,
                    description=f"bAbI task {task} ({name}), {size} training questions",
                )
            )
    return out


class BabiQa(tfds.core.GeneratorBasedBuilder):
    """bAbI v1.2 (Weston et al. 2015), English, one config per task and training-set size."""

    VERSION = tfds.core.Version("1.2.0")
    BUILDER_CONFIGS = _configs()
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        f"Optional. Extract {URL} and pass the folder holding en/ and en-10k/ as manual_dir; "
        "without it the archive is downloaded."
    )

    def __init__(self, *, check: bool = True, **kwargs):
        self._check = check  # False only for hand-made test files, which have no published checksum
        super().__init__(**kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description="bAbI question answering v1.2: stories, questions and one-word answers.",
            features=tfds.features.FeaturesDict(
                {
                    "story": tfds.features.Text(),
                    "question": tfds.features.Text(),
                    "answer": tfds.features.Text(),
                    "supporting_facts": tfds.features.Tensor(shape=(None,), dtype=np.int32),
                }
            ),
            supervised_keys=None,
            homepage="https://research.facebook.com/downloads/babi/",
        )

    def _split_generators(self, dl_manager):
        root = source_folder(dl_manager, URL, ARCHIVE_FOLDER)
        return {split: self._generate_examples(root, split) for split in ("train", "test")}

    def _generate_examples(self, root: str, split: str):
        c = self.builder_config
        examples = load_task(root, c.task, c.size, split, download=False, check=self._check)
        for i, ex in enumerate(examples):
            yield (
                i,
                {
                    "story": "\n".join(" ".join(sentence) for sentence in ex.story),
                    "question": " ".join(ex.question),
                    "answer": ex.answer,
                    "supporting_facts": np.asarray(ex.supporting, np.int32),
                },
            )
