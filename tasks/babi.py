"""bAbI question answering v1.2 (Weston et al. 2015), paper §4.3 and appendix C: the data layer.

Files: ``en`` (1k) and ``en-10k`` folders with ``qaN_<name>_{train,test}.txt``, and ``en-valid*``
with ``qaN_{train,valid,test}.txt`` (plain or ``.gz``), under a local directory, directly or inside
the archive's own ``tasks_1-20_v1-2/`` folder (the archive extracted as it comes); missing files are
extracted from the official archive (URL below). Format: ``ID text`` lines; a question line is
``ID question<TAB>answer<TAB>supporting ids``; ID 1 starts a new story.

Input formats (``format``):

* ``"sequence"`` (appendix C): the story's words and the question's are one word sequence, padded
  with the blank (id 0) at the beginning and, with ``end_blank`` (default, appendix C: "filled with
  blank at the beginning and the end"), followed by one blank, at which the answer is read.
* ``"sentence"`` (the authors' runs): one step per sentence, a bag of its words, then one step for
  the question; padded in front with blank steps. Inputs are (steps, words) ids, −1 for an empty
  slot; the model sums each step's word vectors. ``question_embed="shared"`` (default) embeds the
  question step with the story's table, as the authors' code (rdangovs ``tasks/QA/qa_babi_task.py``,
  one ``embed`` matrix for story and question); ``"separate"`` gives it a table of its own (rumjax 0.3,
  and every sentence-level run saved before the option). About 5× shorter than the word sequence.
* ``"memory"``: sentences as MemN2N's memory slots.

``punctuation`` (default, as the authors' tokenizer) keeps the sentence-final ``.`` and ``?`` as
words; rumjax 0.1 dropped them.

The offline copy lacks ``en-10k/qa3_three-supporting-facts_train.txt`` (and ``en-valid-10k/qa3_train.txt``);
``qa3_fallback="1k"`` trains task 3 on its 1k file (the first 1000 questions of the 10k one) instead
of stopping.
"""

from __future__ import annotations

import os
import re
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from tasks.data_files import DataError, checksums, fetch_archive, locate, missing, read_text, verify

__all__ = [
    "URL",
    "TASK_NAMES",
    "Example",
    "parse",
    "tokenize",
    "task_file",
    "load_task",
    "build_vocab",
    "vectorize",
    "vectorize_sentences",
    "FORMATS",
]

URL = "http://www.thespermwhale.com/jaseweston/babi/tasks_1-20_v1-2.tar.gz"
ARCHIVE_FOLDER = "tasks_1-20_v1-2"  # the archive's top folder: data_dir may hold it as extracted
TASK_NAMES = {
    1: "single-supporting-fact",
    2: "two-supporting-facts",
    3: "three-supporting-facts",
    4: "two-arg-relations",
    5: "three-arg-relations",
    6: "yes-no-questions",
    7: "counting",
    8: "lists-sets",
    9: "simple-negation",
    10: "indefinite-knowledge",
    11: "basic-coreference",
    12: "conjunction",
    13: "compound-coreference",
    14: "time-reasoning",
    15: "basic-deduction",
    16: "basic-induction",
    17: "positional-reasoning",
    18: "size-reasoning",
    19: "path-finding",
    20: "agents-motivations",
}
SIZES = {"1k": "en", "10k": "en-10k"}
QUESTION_EMBEDS = ("shared", "separate")
FORMATS = ("sequence", "sentence", "memory")
BLANK = "<blank>"


class Example(NamedTuple):
    story: list[list[str]]  # tokenised sentences before the question
    question: list[str]
    answer: str
    supporting: list[int]  # line ids of the supporting facts


def tokenize(sentence: str, punctuation: bool = False) -> list[str]:
    """Lower-case words; ``.``, ``?`` and ``!`` are words of their own with `punctuation`, else dropped."""
    return re.findall(r"[a-z0-9,']+|[.?!]" if punctuation else r"[a-z0-9,']+", sentence.lower())


def parse(lines, punctuation: bool = False, source: str = "bAbI file") -> list[Example]:
    """The questions of a bAbI file, each with the story up to it. Every line is ``<n> <sentence>`` or
    ``<n> <question>\\t<answer>\\t<supporting line numbers>``; one that is not raises a DataError naming
    `source` (the file) and the line."""
    examples, story = [], []
    ids: dict[int, int] = {}
    for line_no, raw in enumerate(lines, 1):
        line = raw.rstrip("\n")
        if not line.strip():
            continue

        def bad(what: str) -> DataError:
            return DataError(f"{source}, line {line_no}: {what}: {line[:80]!r}")

        number, _, text = line.partition(" ")
        if not number.isdigit() or not text.strip():
            raise bad("a bAbI line is '<number> <text>'")
        number = int(number)
        if number == 1:
            story, ids = [], {}
        if "\t" in text:
            fields = text.split("\t")
            if len(fields) != 3:
                raise bad(
                    f"a question line has 3 tab-separated fields (question, answer, supporting lines), not {len(fields)}"
                )
            question, answer, support = fields
            if not answer.strip():
                raise bad("the question has no answer")
            facts = support.split()
            if not facts or not all(f.isdigit() for f in facts):
                raise bad("the answer names no supporting line numbers")
            unknown = [f for f in facts if int(f) not in ids]
            if unknown:
                raise bad(f"supporting line(s) {', '.join(unknown)} are not sentences of this story")
            examples.append(
                Example(
                    [list(s) for s in story],
                    tokenize(question, punctuation),
                    answer.strip(),
                    [int(s) for s in facts],
                )
            )
        else:
            ids[number] = len(story)
            story.append(tokenize(text, punctuation))
    return examples


def task_file(task: int, size: str, split: str) -> str:
    """The file name of a task, size ("1k"/"10k") and split ("train"/"valid"/"test") in the v1.2 archive."""
    if task not in TASK_NAMES:
        raise ValueError(f"bAbI task must be 1..20, got {task!r}.")
    if size not in SIZES:
        raise ValueError(f"bAbI size must be one of {list(SIZES)}, got {size!r}.")
    if split == "valid":
        return f"{SIZES[size].replace('en', 'en-valid')}/qa{task}_{split}.txt"
    if split not in ("train", "test"):
        raise ValueError(f"bAbI split must be train, valid or test, got {split!r}.")
    return f"{SIZES[size]}/qa{task}_{TASK_NAMES[task]}_{split}.txt"


def load_task(
    data_dir: str,
    task: int,
    size: str,
    split: str,
    *,
    download: bool = True,
    qa3_fallback: str = "error",
    check: bool = True,
    punctuation: bool = False,
) -> list[Example]:
    """Parse one task file, checked against its checksum (unless `check` is False, for hand-made
    files); see the module docstring for qa3 at 10k."""
    if qa3_fallback not in ("error", "1k"):
        raise ValueError(f"babi: qa3_fallback must be 'error' or '1k', got {qa3_fallback!r}.")
    name = task_file(task, size, split)
    path = locate(data_dir, name, ARCHIVE_FOLDER)
    if path is None and download:
        try:
            fetch_archive(URL, data_dir, {f"{ARCHIVE_FOLDER}/{name}": name.replace("/", os.sep)})
        except DataError:
            pass
        path = locate(data_dir, name, ARCHIVE_FOLDER)
    if path is None:
        if task == 3 and size == "10k" and split == "train" and qa3_fallback == "1k":
            warnings.warn(f"{name} is missing in {data_dir}; task 3 trains on its 1k file instead (qa3_fallback='1k').")
            return load_task(data_dir, task, "1k", split, download=download, check=check, punctuation=punctuation)
        hint = " Set qa3_fallback='1k' to train task 3 on its 1k file instead." if task == 3 and size == "10k" else ""
        raise missing(data_dir, name, ARCHIVE_FOLDER, URL, hint)
    if check:
        verify(path, checksums("babi_tasks_1-20_v1-2").get(name))
    return parse(read_text(path).splitlines(keepends=True), punctuation, source=path)


def build_vocab(examples: list[Example]) -> list[str]:
    """The blank (id 0), then every word of stories, questions and answers, sorted."""
    words = set()
    for ex in examples:
        for sentence in ex.story:
            words.update(sentence)
        words.update(ex.question)
        words.add(ex.answer)
    return [BLANK, *sorted(words)]


def vectorize(
    examples: list[Example], vocab: list[str], length: int, end_blank: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(inputs (n, length) int32, answers (n,) int32): story words then question words (then one blank with
    `end_blank`), blank-padded in front.

    Longer sequences keep their last `length` words (the question and the most recent sentences).
    """
    index = {w: i for i, w in enumerate(vocab)}
    inputs = np.zeros((len(examples), length), np.int32)
    answers = np.zeros((len(examples),), np.int32)
    for i, ex in enumerate(examples):
        words = [w for s in ex.story for w in s] + ex.question + ([BLANK] if end_blank else [])
        ids = [index[w] for w in words][-length:]
        inputs[i, length - len(ids) :] = ids
        answers[i] = index[ex.answer]
    return inputs, answers


def vectorize_sentences(examples: list[Example], vocab: list[str], steps: int, words: int):
    """(inputs (n, steps, words) int32, answers (n,) int32): one step per story sentence, its word ids
    followed by −1 (empty), then the question's step; blank steps ([0, −1, …]) in front. Longer stories
    keep their last `steps` − 1 sentences."""
    index = {w: i for i, w in enumerate(vocab)}
    inputs = np.full((len(examples), steps, words), -1, np.int32)
    inputs[:, :, 0] = 0  # blank steps
    answers = np.zeros((len(examples),), np.int32)
    for n, ex in enumerate(examples):
        sentences = [*ex.story[-(steps - 1) :], ex.question] if steps > 1 else [ex.question]
        for k, sentence in enumerate(sentences):
            row = inputs[n, steps - len(sentences) + k]
            row[:] = -1
            row[: len(sentence)] = [index[w] for w in sentence]
        answers[n] = index[ex.answer]
    return inputs, answers


def vectorize_memory(examples: list[Example], vocab: list[str], memory_size: int, words: int):
    """({'story': (n, memory_size, words), 'question': (n, words)}, answers (n,)) for MemN2N: the most
    recent `memory_size` sentences, most recent first, nil-padded (id 0)."""
    index = {w: i for i, w in enumerate(vocab)}
    story = np.zeros((len(examples), memory_size, words), np.int32)
    question = np.zeros((len(examples), words), np.int32)
    answers = np.zeros((len(examples),), np.int32)
    for n, ex in enumerate(examples):
        for slot, sentence in enumerate(reversed(ex.story[-memory_size:])):
            story[n, slot, : len(sentence)] = [index[w] for w in sentence]
        question[n, : len(ex.question)] = [index[w] for w in ex.question]
        answers[n] = index[ex.answer]
    return {"story": story, "question": question}, answers


class BabiTask:
    """bAbI as a training task: one model on one task (or several jointly), answer read at the last step.

    Train questions are split into train and validation (the last `valid_fraction` of each task's
    train file, 10% as appendix C); the test set is the task's test file. Batches are drawn with
    replacement from the device-resident train arrays inside jit, so an epoch is
    ``len(train) / batch_size`` steps. The answer is predicted over the whole vocabulary.
    """

    readout = "last"

    def __init__(
        self,
        data_dir: str,
        tasks: str = "1",
        size: str = "10k",
        valid_fraction: float = 0.1,
        max_length: int = 0,
        qa3_fallback: str = "error",
        download: bool = True,
        check: bool = True,
        format: str = "sequence",
        memory_size: int = 50,
        end_blank: bool = True,
        punctuation: bool = True,
        question_embed: str = "shared",
    ):
        ids = [int(t) for t in str(tasks).split(",") if t.strip()]
        if not ids or any(t not in TASK_NAMES for t in ids):
            raise ValueError(f"babi: tasks must be a comma list of 1..20, got {tasks!r}.")
        if not 0.0 <= valid_fraction < 1.0:
            raise ValueError(f"babi: valid_fraction must be in [0, 1), got {valid_fraction}.")
        if format not in FORMATS:
            raise ValueError(
                f"babi: format must be 'sequence' (one word sequence, for RNNs), 'sentence' (a bag of "
                f"words per sentence, for RNNs) or 'memory' (sentences, for MemN2N), got {format!r}."
            )
        if question_embed not in QUESTION_EMBEDS:
            raise ValueError(
                f"babi: question_embed must be 'shared' (the question step embedded with the story's table, as "
                f"the authors' code) or 'separate' (a table of its own; rumjax 0.3), got {question_embed!r}."
            )
        self.format, self.memory_size, self.question_embed = format, memory_size, question_embed
        splits = {"train": [], "valid": [], "test": []}
        for t in ids:
            train = load_task(
                data_dir,
                t,
                size,
                "train",
                download=download,
                qa3_fallback=qa3_fallback,
                check=check,
                punctuation=punctuation,
            )
            cut = len(train) - int(round(valid_fraction * len(train)))
            splits["train"] += train[:cut]
            splits["valid"] += train[cut:]
            splits["test"] += load_task(
                data_dir, t, size, "test", download=download, check=check, punctuation=punctuation
            )
        self.vocab = build_vocab([ex for part in splits.values() for ex in part])
        examples = [ex for part in splits.values() for ex in part]
        if format == "sentence":
            longest = max(len(ex.story) + 1 for ex in examples)
        else:
            longest = max(len([w for s in ex.story for w in s]) + len(ex.question) for ex in examples) + end_blank
        self.seq_len = min(longest, max_length) if max_length else longest
        self.vocab_size = self.num_classes = len(self.vocab)
        words = max(len(s) for ex in examples for s in [*ex.story, ex.question])
        if format == "memory":
            arrays = {k: vectorize_memory(v, self.vocab, memory_size, words) for k, v in splits.items() if v}
        elif format == "sentence":
            arrays = {k: vectorize_sentences(v, self.vocab, self.seq_len, words) for k, v in splits.items() if v}
        else:
            arrays = {k: vectorize(v, self.vocab, self.seq_len, end_blank) for k, v in splits.items() if v}
        self.sizes = {k: len(v) for k, v in splits.items()}
        self._train = arrays["train"]
        self._held_out = {k: arrays[k] for k in ("valid", "test") if k in arrays}

    def train_data(self, batch_size: int):
        """The training arrays (inputs, answers), host-side; the trainer puts them on the devices once and
        passes them to every step."""
        return self._train

    def train_batch(self, key, batch_size: int, step, data=None) -> dict:
        """A batch drawn with replacement from `data` (the `train_data` arrays) with `key`."""
        return self.sample(key, batch_size, data)

    def sample(self, key, batch_size: int, data=None) -> dict:
        inputs, answers = jax.tree.map(jnp.asarray, self._train if data is None else data)
        idx = jax.random.randint(key, (batch_size,), 0, answers.shape[0])
        return {"inputs": jax.tree.map(lambda a: a[idx], inputs), "targets": answers[idx]}

    def eval_sets(self, batch_size: int) -> dict[str, list[dict]]:
        """{'valid': [...], 'test': [...]}: whole held-out splits in batches, the last padded with weight 0."""
        out = {}
        for name, (inputs, answers) in self._held_out.items():
            n = len(answers)
            padded = -(-n // batch_size) * batch_size
            weights = np.zeros((padded,), np.float32)
            weights[:n] = 1.0
            inputs = jax.tree.map(lambda a: np.concatenate([a, np.zeros((padded - n, *a.shape[1:]), np.int32)]), inputs)
            answers = np.concatenate([answers, np.zeros((padded - n,), np.int32)])
            out[name] = [
                {
                    "inputs": jax.tree.map(lambda a: a[i : i + batch_size], inputs),
                    "targets": answers[i : i + batch_size],
                    "weights": weights[i : i + batch_size],
                }
                for i in range(0, padded, batch_size)
            ]
        return out

    def metrics(self, logits, batch: dict) -> dict:
        from tasks.metrics import classification_sums

        return classification_sums(logits, batch["targets"], batch.get("weights"))
