"""The TensorFlow-Datasets builders `babi_qa` and `ptb_char`: built without TensorFlow (array_record),
read back as data sources, equal to the repo's own loaders; missing and corrupt files are named.

Uses ../shared/data when it is there and small files the test writes itself otherwise.
"""

import collections
import os

import pytest

tfds = pytest.importorskip("tensorflow_datasets")  # in the `tfds` and `test` extras of pyproject.toml

from tasks import babi, ptb  # noqa: E402
from tasks.babi_tfds import BabiQa  # noqa: E402
from tasks.data_files import DataError  # noqa: E402
from tasks.ptb_tfds import PtbChar  # noqa: E402
from tests.test_data import BABI_SAMPLE, PTB_SAMPLE, SHARED, babi_root, needs_shared  # noqa: E402

tfds.disable_progress_bar()


def build(builder, manual_dir):
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir)))
    return builder


def babi_rows(examples):
    """What the builder should hold for parsed examples, as a multiset (record order is TFDS's)."""
    return collections.Counter(
        ("\n".join(" ".join(s) for s in ex.story), " ".join(ex.question), ex.answer, tuple(ex.supporting))
        for ex in examples
    )


def source_rows(source):
    return collections.Counter(
        (
            r["story"].decode(),
            r["question"].decode(),
            r["answer"].decode(),
            tuple(int(i) for i in r["supporting_facts"]),
        )
        for r in (source[i] for i in range(len(source)))
    )


def write_babi(root, text_train, text_test):
    (root / "en").mkdir(parents=True)
    (root / "en" / "qa1_single-supporting-fact_train.txt").write_text(text_train)
    (root / "en" / "qa1_single-supporting-fact_test.txt").write_text(text_test)


def test_babi_qa_from_hand_made_files(tmp_path):
    manual = tmp_path / "manual"
    write_babi(manual, BABI_SAMPLE, BABI_SAMPLE.replace("bathroom", "kitchen"))
    builder = build(
        BabiQa(config="en-qa1", data_dir=str(tmp_path / "tfds"), file_format="array_record", check=False), manual
    )
    assert set(builder.info.splits) == {"train", "test"}
    train, test = builder.as_data_source("train"), builder.as_data_source("test")
    assert source_rows(train) == babi_rows(babi.parse(BABI_SAMPLE.splitlines(True)))
    assert "kitchen" in {r[2] for r in source_rows(test)}
    assert len(BabiQa.BUILDER_CONFIGS) == 40  # 20 tasks × {1k, 10k}


def test_babi_qa_names_a_corrupt_or_missing_file(tmp_path):
    manual = tmp_path / "manual"
    write_babi(manual, BABI_SAMPLE, BABI_SAMPLE)
    with pytest.raises(DataError, match="qa1_single-supporting-fact_train.txt.*does not match"):
        build(BabiQa(config="en-qa1", data_dir=str(tmp_path / "a"), file_format="array_record"), manual)
    with pytest.raises(DataError, match="qa2_two-supporting-facts_train.txt.*missing"):
        build(BabiQa(config="en-qa2", data_dir=str(tmp_path / "b"), file_format="array_record"), manual)


def test_ptb_char_from_hand_made_files(tmp_path):
    manual = tmp_path / "manual"
    manual.mkdir()
    for split in ptb.SPLITS:
        (manual / f"ptb.char.{split}.txt").write_text(PTB_SAMPLE)
    builder = build(PtbChar(data_dir=str(tmp_path / "tfds"), file_format="array_record", check=False), manual)
    valid = builder.as_data_source("valid")
    assert sorted(valid[i]["text"].decode() for i in range(len(valid))) == ["a_b_<unk>", "n_$_c"]
    with pytest.raises(DataError, match="ptb.char.train.txt.*does not match"):
        build(PtbChar(data_dir=str(tmp_path / "checked"), file_format="array_record"), manual)


@needs_shared
def test_shared_babi_qa_equals_the_task_loader(tmp_path):
    root = babi_root()
    builder = build(BabiQa(config="en-qa2", data_dir=str(tmp_path), file_format="array_record"), root)
    test = builder.as_data_source("test")
    assert len(test) == 1000
    assert source_rows(test) == babi_rows(babi.load_task(root, 2, "1k", "test", download=False))


@needs_shared
def test_shared_ptb_char_equals_the_task_loader(tmp_path):
    root = os.path.join(SHARED, "ptb")
    builder = build(PtbChar(data_dir=str(tmp_path), file_format="array_record"), root)
    valid = builder.as_data_source("valid")
    tokens = ptb.char_tokens(ptb.load_split(root, "valid", download=False, files="char"))
    lines = [valid[i]["text"].decode() for i in range(len(valid))]
    assert len(lines) == tokens.count("\n") == 3370
    assert sum(len(line) + 1 for line in lines) == len("".join(tokens))  # every character, line ends included
