"""The real-data layer: PTB characters and bAbI stories, checksums, missing files, download path.

Uses ../shared/data when it is there; every test also runs on small files it writes itself.
"""

import gzip
import io
import os
import re
import tarfile

import numpy as np
import pytest

from tasks import babi, ptb
from tasks.data_files import DataError, fetch_archive, verify

# The real data sets: $RUMJAX_DATA (with ptb/ and babi/ inside, as the configs read it) when set, else the
# team's offline copy ../shared/data beside the checkout
SHARED = os.environ.get("RUMJAX_DATA") or os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
needs_shared = pytest.mark.skipif(
    not os.path.isdir(SHARED), reason=f"no real data here: set RUMJAX_DATA, or put it at {SHARED}"
)


def babi_root() -> str:
    """The bAbI folder of SHARED: the official archive's tasks_1-20_v1-2/ inside babi/, or babi/ itself."""
    archive = os.path.join(SHARED, "babi", "tasks_1-20_v1-2")
    return archive if os.path.isdir(archive) else os.path.join(SHARED, "babi")


PTB_SAMPLE = "".join(c + " " for c in "a_b_<unk>\n") + "".join(c + " " for c in "n_$_c\n")


def test_ptb_tokens_vocab_and_tbptt():
    tokens = ptb.char_tokens(PTB_SAMPLE)
    assert tokens[:4] == ["a", "_", "b", "_"] and tokens[9] == "\n" and len(tokens) == 16
    vocab = ptb.build_vocab(tokens)
    ids = ptb.encode(tokens, vocab)
    assert "".join(vocab[i] for i in ids) == "a_b_<unk>\nn_$_c\n"
    stream = np.arange(103, dtype=np.int32)
    batches = list(ptb.tbptt_batches(stream, batch_size=4, length=5))
    assert len(batches) == (25 - 1) // 5
    x0, y0 = batches[0]
    x1, _ = batches[1]
    np.testing.assert_array_equal(x0[1], [25, 26, 27, 28, 29])  # row 1 starts at token 25
    np.testing.assert_array_equal(y0, x0 + 1)  # targets are the next tokens
    np.testing.assert_array_equal(x1[:, 0], x0[:, -1] + 1)  # the next batch continues each row
    with pytest.raises(DataError, match="'%'"):
        ptb.encode(["%"], vocab)


def test_ptb_word_stream_is_every_byte_of_the_word_file():
    text = " a b <unk> \n n $ c \n"
    assert ptb.tokens(text) == list(text) and len(ptb.tokens(text)) == len(text.encode())
    assert ptb.tokens(PTB_SAMPLE, "char") == ptb.char_tokens(PTB_SAMPLE)
    assert ptb.file_name("valid") == "ptb.valid.txt" and ptb.file_name("valid", "char") == "ptb.char.valid.txt"
    with pytest.raises(ValueError, match="files='bytes' is unknown; valid: 'word'.*'char'"):
        ptb.file_name("valid", "bytes")


def test_ptb_missing_and_corrupt_files_are_named(tmp_path):
    tried = [
        os.path.join(str(tmp_path), "ptb.valid.txt"),
        os.path.join(str(tmp_path), "simple-examples", "data", "ptb.valid.txt.gz"),
    ]
    with pytest.raises(DataError, match="ptb.valid.txt is missing: tried") as err:
        ptb.load_split(str(tmp_path), "valid", download=False)
    assert all(path in str(err.value) for path in tried) and ptb.URL in str(err.value)
    with pytest.raises(DataError, match="ptb.char.valid.txt is missing"):
        ptb.load_split(str(tmp_path), "valid", files="char", download=False)
    (tmp_path / "ptb.valid.txt").write_text(" a b \n")
    with pytest.raises(DataError, match="does not match the expected c9fe"):
        ptb.load_split(str(tmp_path), "valid", download=False)
    (tmp_path / "ptb.char.valid.txt").write_text(PTB_SAMPLE)
    with pytest.raises(DataError, match="does not match the expected 2166"):
        ptb.load_split(str(tmp_path), "valid", files="char", download=False)
    with pytest.raises(ValueError, match="valid: train, valid, test"):
        ptb.load_split(str(tmp_path), "dev")


def test_ptb_files_are_found_in_the_official_archive_layout(tmp_path):
    folder = tmp_path / "simple-examples" / "data"
    folder.mkdir(parents=True)
    (folder / "ptb.test.txt").write_bytes(b" a b \r\n c \n")  # bytes as they are, a carriage return included
    assert ptb.load_split(str(tmp_path), "test", download=False, check=False) == " a b \r\n c \n"
    with gzip.open(tmp_path / "ptb.test.txt.gz", "wt") as f:  # directly in data_dir comes first
        f.write(" d \n")
    assert ptb.load_split(str(tmp_path), "test", download=False, check=False) == " d \n"


def test_download_path_extracts_members_from_an_archive(tmp_path):
    payload = PTB_SAMPLE.encode()
    archive = tmp_path / "simple-examples.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("./simple-examples/data/ptb.char.test.txt")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    out = tmp_path / "data"
    fetch_archive(archive.as_uri(), str(out), {"data/ptb.char.test.txt": "ptb.char.test.txt"})
    assert (out / "ptb.char.test.txt").read_bytes() == payload
    with pytest.raises(DataError, match="no member"):
        fetch_archive(archive.as_uri(), str(out), {"data/nope.txt": "nope.txt"})
    with pytest.raises(DataError, match="Could not download"):
        fetch_archive((tmp_path / "absent.tgz").as_uri(), str(out), {"x": "x"})


def test_gzip_and_blob_checksums(tmp_path):
    path = tmp_path / "f.txt.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"hello\n")
    verify(str(path), "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03")  # sha256("hello\n")
    verify(str(path), "blob:ce013625030ba8dba906f756967f9e9ca394464a")  # git hash-object of "hello\n"
    with pytest.raises(DataError, match="blob"):
        verify(str(path), "blob:0000")


BABI_SAMPLE = """1 Mary moved to the bathroom.
2 John went to the hallway.
3 Where is Mary? \tbathroom\t1
4 Daniel went back to the hallway.
5 Where is Daniel?\thallway\t4
1 Sandra took the apple there.
2 What is Sandra carrying?\tapple\t1
"""


def test_babi_parse_and_vectorize():
    examples = babi.parse(BABI_SAMPLE.splitlines(True))
    assert len(examples) == 3
    first, second, third = examples
    assert first.story == [["mary", "moved", "to", "the", "bathroom"], ["john", "went", "to", "the", "hallway"]]
    assert first.question == ["where", "is", "mary"] and first.answer == "bathroom" and first.supporting == [1]
    assert len(second.story) == 3 and second.answer == "hallway"  # questions are not story sentences
    assert third.story == [["sandra", "took", "the", "apple", "there"]]  # ID 1 starts a new story
    vocab = babi.build_vocab(examples)
    assert vocab[0] == babi.BLANK
    inputs, answers = babi.vectorize(examples, vocab, length=12)
    words = [vocab[i] for i in inputs[2]]
    assert words == [babi.BLANK] * 3 + ["sandra", "took", "the", "apple", "there", "what", "is", "sandra", "carrying"]
    assert vocab[answers[0]] == "bathroom"
    inputs, _ = babi.vectorize(examples, vocab, length=4)  # too long: keep the question end
    assert [vocab[i] for i in inputs[0]] == ["hallway", "where", "is", "mary"]


def test_babi_file_names_and_errors(tmp_path):
    assert babi.task_file(1, "10k", "train") == "en-10k/qa1_single-supporting-fact_train.txt"
    assert babi.task_file(3, "10k", "valid") == "en-valid-10k/qa3_valid.txt"
    with pytest.raises(ValueError, match="1..20"):
        babi.task_file(21, "1k", "train")
    with pytest.raises(DataError, match="qa1_single-supporting-fact_test.txt"):
        babi.load_task(str(tmp_path), 1, "1k", "test", download=False)


def test_babi_finds_both_layouts_and_lists_the_paths_tried(tmp_path):
    """data_dir may hold en/... directly, or the archive as extracted (tasks_1-20_v1-2/en/...)."""
    _write_tiny_babi(tmp_path / "flat")
    _write_tiny_babi(tmp_path / "archive" / babi.ARCHIVE_FOLDER)
    flat = babi.load_task(str(tmp_path / "flat"), 1, "1k", "test", download=False, check=False)
    nested = babi.load_task(str(tmp_path / "archive"), 1, "1k", "test", download=False, check=False)
    assert len(flat) == len(nested) == 100 and flat == nested
    with pytest.raises(DataError) as err:
        babi.load_task(str(tmp_path / "flat"), 2, "1k", "test", download=False)
    name = babi.task_file(2, "1k", "test")
    for tried in (tmp_path / "flat" / name, tmp_path / "flat" / babi.ARCHIVE_FOLDER / f"{name}.gz"):
        assert str(tried) in str(err.value)


@needs_shared
def test_shared_ptb_default_stream_is_the_authors():
    """The default stream is the raw bytes of ptb.{split}.txt, as the authors' reader reads them."""
    root = os.path.join(SHARED, "ptb")
    task = ptb.PTBTask(root)
    assert task.files == "word" and task.vocab_size == 50 and " " in task.vocab and "\n" in task.vocab
    assert {split: len(ids) for split, ids in task.ids.items()} == {
        "train": 5_101_618,
        "valid": 399_782,
        "test": 449_945,
    }
    for split in ("valid", "test"):
        with open(os.path.join(root, f"ptb.{split}.txt"), "rb") as f:
            assert "".join(task.vocab[i] for i in task.ids[split]).encode() == f.read()
    assert (task.ids["train"].size // 128 - 1) // 150 == 265  # steps per epoch at batch 128 × 150


@needs_shared
def test_shared_ptb_char_stream_still_loads_for_old_runs():
    root = os.path.join(SHARED, "ptb")
    task = ptb.PTBTask(root, files="char")
    assert {split: len(ids) for split, ids in task.ids.items()} == {
        "train": 5_017_482,
        "valid": 393_042,
        "test": 442_423,
    }
    assert task.vocab_size == 50 and "_" in task.vocab and " " not in task.vocab
    assert (task.ids["train"].size // 128 - 1) // 150 == 261


@needs_shared
def test_shared_babi_tasks_and_the_missing_qa3(tmp_path):
    root = babi_root()
    assert len(babi.load_task(root, 1, "10k", "train", download=False)) == 10_000
    assert len(babi.load_task(root, 20, "1k", "test", download=False)) == 1000
    assert len(babi.load_task(root, 2, "10k", "valid", download=False)) == 1000
    with pytest.raises(DataError, match="qa3_three-supporting-facts_train.txt.*qa3_fallback"):
        babi.load_task(root, 3, "10k", "train", download=False)
    with pytest.warns(UserWarning, match="1k file"):
        assert len(babi.load_task(root, 3, "10k", "train", download=False, qa3_fallback="1k")) == 1000


def _write_tiny_babi(root, task=1, questions=400):
    """A learnable qa1-style task: the answer is the place in the story's only sentence."""
    rng = np.random.default_rng(task)
    places = ["kitchen", "garden", "office", "hallway"]
    for split, n in (("train", questions), ("test", questions // 4)):
        lines = []
        for _ in range(n):
            who, where = rng.choice(["mary", "john"]), rng.choice(places)
            lines += [f"1 {who} went to the {where}.", f"2 Where is {who}? \t{where}\t1"]
        folder = root / "en"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"qa{task}_{babi.TASK_NAMES[task]}_{split}.txt").write_text("\n".join(lines) + "\n")


@pytest.mark.slow
def test_babi_trains_end_to_end_on_hand_made_files(tmp_path):
    import train
    from configs import babi as babi_config
    from training.metric_log import read_metrics

    _write_tiny_babi(tmp_path / "data")
    c = babi_config.get_config("cpu")
    c.task_options.data_dir = str(tmp_path / "data")
    c.task_options.size = "1k"
    c.task_options.download = False
    c.task_options.check = False  # hand-made files have no published checksum
    c.hidden, c.embed_dim, c.num_steps, c.eval_every, c.log_every = 16, 8, 60, 30, 10
    c.learning_rate = 1e-2
    c.eval_batch_size, c.num_devices, c.progress = 64, 1, False
    result = train.train_and_evaluate(c, str(tmp_path / "run"))
    valid = read_metrics(str(tmp_path / "run"), "valid")
    test = read_metrics(str(tmp_path / "run"), "test")
    assert [r["step"] for r in valid] == [30, 60] and [r["step"] for r in test] == [30, 60]
    assert result["accuracy"] == test[-1]["accuracy"]
    assert test[-1]["accuracy"] > 0.5  # four places: chance is 0.25
    task = train.build_task(c)
    assert task.sizes == {"train": 360, "valid": 40, "test": 100}
    # padded evaluation batches count only real questions
    sets = task.eval_sets(64)
    assert sum(float(b["weights"].sum()) for b in sets["test"]) == 100


def _write_tiny_ptb(root):
    """A periodic character stream, plus valid/test from the same source, in both formats: the word files
    (each line with a leading and a trailing space, as PTB's) and the char files."""
    root.mkdir(parents=True, exist_ok=True)
    words = "the cat sat on the mat"
    for split, repeat in (("train", 300), ("valid", 40), ("test", 41)):
        (root / f"ptb.{split}.txt").write_text(f" {words} \n" * repeat)
        (root / f"ptb.char.{split}.txt").write_text(
            "".join(ch + " " for ch in (words.replace(" ", "_") + "\n") * repeat)
        )


def tiny_ptb_config(folder, hidden: int, num_steps: int, every: int):
    """configs/ptb_rum.py:cpu on `_write_tiny_ptb`'s corpus (written into folder/data), one device, no bar:
    seq_len 20, `hidden` units, evaluation and checkpoints every `every` steps."""
    from configs import ptb_rum

    _write_tiny_ptb(folder / "data")
    c = ptb_rum.get_config("cpu")
    c.task_options.data_dir, c.task_options.check, c.task_options.download = str(folder / "data"), False, False
    c.task_options.seq_len = 20
    c.hidden, c.embed_dim, c.batch_size, c.eval_batch_size = hidden, 8, 8, 4
    c.num_steps, c.eval_every, c.checkpoint_every, c.num_devices, c.progress = num_steps, every, every, 1, False
    return c


def test_ptb_eval_rows_cover_the_whole_stream(tmp_path):
    _write_tiny_ptb(tmp_path)
    task = ptb.PTBTask(str(tmp_path), seq_len=20, check=False)
    rows = task.rows("valid", 4)
    per_row = task.row_length("valid", 4)
    total = 0.0
    for i in range(task.num_batches("valid", 4)):
        batch = task.batch_at(rows, i, per_row)
        total += float(batch["weights"].sum())
    assert total == 4 * (per_row - 1)  # every next-character target of every row, once


@pytest.mark.slow
def test_ptb_language_model_trains_with_carried_state(tmp_path):
    import train
    from configs import ptb_fsrum, ptb_rum
    from training.metric_log import read_metrics

    _write_tiny_ptb(tmp_path / "data")
    for name, module in (("rum", ptb_rum), ("fsrum", ptb_fsrum)):
        c = module.get_config("cpu")
        c.task_options.data_dir, c.task_options.check, c.task_options.download = str(tmp_path / "data"), False, False
        c.task_options.seq_len = 20
        c.hidden, c.embed_dim, c.batch_size, c.eval_batch_size = 16, 8, 8, 4
        if name == "fsrum":
            c.fs_rnn.slow_hidden = 12
        c.num_steps, c.eval_every, c.checkpoint_every, c.log_every, c.num_devices, c.progress = 80, 40, 40, 10, 1, False
        c.learning_rate = 1e-2
        workdir = str(tmp_path / name)
        result = train.train_and_evaluate(c, workdir)
        valid = read_metrics(workdir, "valid")
        assert [r["step"] for r in valid] == [40, 80]
        train_bpc = [r["bpc"] for r in read_metrics(workdir, "train")]
        assert train_bpc[-1] < 0.7 * train_bpc[0], (name, train_bpc)
        assert result["bpc"] == pytest.approx(result["loss"] / np.log(2))
        best = train.Checkpoints(workdir, c.keep_checkpoints, read_only=True)
        assert best.best_step() in (40, 80)  # the best-on-validation model is kept
        best.close()
        # resuming continues from the checkpoint, carry included
        c.num_steps = 100
        train.train_and_evaluate(c, workdir)
        assert max(r["step"] for r in read_metrics(workdir, "train")) == 100


@pytest.mark.slow
def test_sampling_from_a_trained_language_model(tmp_path):
    import train
    from scripts import sample

    c = tiny_ptb_config(tmp_path, hidden=32, num_steps=150, every=150)
    c.learning_rate, c.dropout, c.zoneout_hidden = 1e-2, 0.0, 0.0
    train.train_and_evaluate(c, str(tmp_path / "run"))
    _, task, model, which = sample.load(str(tmp_path / "run"))
    assert which.startswith("best")
    text = sample.sample(model, task, "the ", 60, temperature=0.5)
    assert len(text) == 64 and set(text) <= set("the cat sat on mat\n")
    assert "the cat" in text  # it learned the periodic line
    with pytest.raises(ValueError, match="outside the vocabulary"):
        sample.sample(model, task, "xyz", 5, 1.0)


def test_memn2n_one_hop_against_reference(rng):
    import jax.numpy as jnp
    from flax import nnx

    from rumjax.memn2n import MemN2N, position_encoding

    pe = np.asarray(position_encoding(4, 3))
    for j in range(1, 5):
        for k in range(1, 4):
            assert pe[j - 1, k - 1] == pytest.approx((1 - j / 4) - (k / 3) * (1 - 2 * j / 4))
    model = MemN2N(vocab_size=7, embed_dim=3, hops=1, memory_size=2, rngs=nnx.Rngs(0))
    story = np.array([[[1, 2, 0, 0], [3, 0, 0, 0]]])  # most recent sentence first
    question = np.array([[4, 5, 6, 0]])
    e, t = np.asarray(model.embed[...]), np.asarray(model.temporal[...])

    def enc(table, words):
        return sum(pe[j] * table[w] for j, w in enumerate(words) if w != 0)

    u = enc(e[0], question[0])
    m = np.stack([enc(e[0], s) + t[0, i] for i, s in enumerate(story[0])])
    c = np.stack([enc(e[1], s) + t[1, i] for i, s in enumerate(story[0])])
    p = np.exp(m @ u) / np.exp(m @ u).sum()
    expected = (u + p @ c) @ e[1].T
    got = model({"story": jnp.asarray(story), "question": jnp.asarray(question)})
    np.testing.assert_allclose(got[0], expected, rtol=1e-5, atol=1e-6)
    linear = MemN2N(vocab_size=7, embed_dim=3, hops=1, memory_size=2, linear_start_steps=10, rngs=nnx.Rngs(0))
    got = linear({"story": jnp.asarray(story), "question": jnp.asarray(question)}, step=3)  # no softmax yet
    np.testing.assert_allclose(got[0], (u + (m @ u) @ c) @ e[1].T, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_memn2n_trains_on_hand_made_babi(tmp_path):
    import train
    from configs import babi_memn2n
    from training.metric_log import read_metrics

    _write_tiny_babi(tmp_path / "data")
    c = babi_memn2n.get_config("cpu")
    c.task_options.data_dir, c.task_options.download, c.task_options.check = str(tmp_path / "data"), False, False
    c.task_options.size = "1k"
    c.num_steps, c.eval_every, c.checkpoint_every, c.log_every = 120, 60, 60, 20
    c.memn2n.linear_start_steps, c.lr_boundaries = 40, (1000, 2000, 3000)
    c.eval_batch_size, c.num_devices, c.progress = 64, 1, False
    result = train.train_and_evaluate(c, str(tmp_path / "run"))
    assert result["accuracy"] > 0.6, result
    assert [r["step"] for r in read_metrics(str(tmp_path / "run"), "valid")] == [60, 120]


# Bad data: every error names the file and the line

GOOD_STORY = "1 Mary moved to the bathroom.\n2 John went to the hallway.\n3 Where is Mary? \tbathroom\t1\n"


@pytest.mark.parametrize(
    "bad_line, message",
    [
        ("Mary moved to the bathroom.", "line 4: a bAbI line is '<number> <text>'"),
        ("4 Where is John? \thallway", "line 4: a question line has 3 tab-separated fields"),
        ("4 Where is John? \thallway\t", "line 4: the answer names no supporting line numbers"),
        ("4 Where is John? \t\t2", "line 4: the question has no answer"),
        ("4 Where is John? \thallway\t7", "line 4: supporting line(s) 7 are not sentences of this story"),
    ],
)
def test_a_malformed_babi_line_is_named_by_file_and_line(tmp_path, bad_line, message):
    path = tmp_path / "en" / babi.task_file(1, "1k", "train").split("/")[1]
    path.parent.mkdir()
    path.write_text(GOOD_STORY + bad_line + "\n")
    with pytest.raises(DataError, match=re.escape(message)) as err:
        babi.load_task(str(tmp_path), 1, "1k", "train", download=False, check=False)
    assert str(path) in str(err.value)
    path.write_text(GOOD_STORY)  # the same file without the bad line parses
    assert len(babi.load_task(str(tmp_path), 1, "1k", "train", download=False, check=False)) == 1


def test_a_ptb_character_outside_the_training_vocabulary_is_named_by_file_line_and_column(tmp_path):
    _write_tiny_ptb(tmp_path)
    valid = tmp_path / "ptb.valid.txt"
    lines = valid.read_text().splitlines(keepends=True)
    lines[2] = lines[2][:4] + "§" + lines[2][4:]
    valid.write_text("".join(lines))
    with pytest.raises(DataError, match=r"ptb.valid.txt, line 3, character 5: PTB symbol '§' is not in the"):
        ptb.PTBTask(str(tmp_path), seq_len=5, download=False, check=False)


def test_a_truncated_gz_is_named_as_such(tmp_path):
    _write_tiny_ptb(tmp_path)
    data = gzip.compress((tmp_path / "ptb.train.txt").read_bytes())
    (tmp_path / "ptb.train.txt").unlink()
    (tmp_path / "ptb.train.txt.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"ptb.train.txt.gz: the .gz file is truncated"):
        ptb.PTBTask(str(tmp_path), seq_len=5, download=False, check=False)
    with pytest.raises(DataError, match=r"ptb.train.txt.gz: the .gz file is truncated"):
        verify(str(tmp_path / "ptb.train.txt.gz"), "sha256:" + "0" * 64)
