"""The switches of configs/README.md's fidelity table: each changes the model or the data as stated."""

import json

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import train
from configs import babi as babi_config
from configs import copying, ptb_fslstm, ptb_fsrum, recall
from configs.common import SAVED_BEFORE
from rumjax.cells import CELL_OPTIONS, make_cell
from rumjax.fast_weights import FastWeightsCarry, FastWeightsCell
from rumjax.fs_rnn import FSRNNCell
from rumjax.goru import GORUCell
from rumjax.ln_lstm import LNLSTMCell
from rumjax.models import SequenceClassifier
from rumjax.rum import RUMCell
from tasks import babi
from tasks.recall import RecallTask
from tests.reference import layer_norm, rotation_eq1, sigmoid


def _np(tree):
    return jax.tree.map(np.asarray, tree)


def _params(cell):
    return _np(nnx.to_pure_dict(nnx.state(cell, nnx.Param)))


# ---------------------------------------------------------------- RUM: layer norm on u, ε, initialisation


def test_rum_layer_norm_on_the_update_gate_matches_a_float64_reference(x64, rng):
    cell = RUMCell(3, 5, eta=1.0, layer_norm=True, param_dtype=jnp.float64, rngs=nnx.Rngs(0))
    assert cell.ln_eps == 1e-3  # the authors' ε
    for name in ("ln_gain_tau", "ln_bias_tau", "ln_gain_u", "ln_bias_u", "ln_gain_c", "ln_bias_c"):
        getattr(cell, name)[...] = jnp.asarray(rng.uniform(0.5, 1.5, 5))
    p = _params(cell)
    h, x = rng.normal(size=5), rng.normal(size=3)
    tau = layer_norm(x @ p["w_x_tau"] + h @ p["w_h_tau"] + p["b_tau"], p["ln_gain_tau"], p["ln_bias_tau"], 1e-3)
    u = layer_norm(sigmoid(x @ p["w_x_u"] + h @ p["w_h_u"] + p["b_u"]), p["ln_gain_u"], p["ln_bias_u"], 1e-3)
    eps = x @ p["w_x_eps"] + p["b_eps"]
    h_tilde = np.maximum(layer_norm(eps + rotation_eq1(eps, tau) @ h, p["ln_gain_c"], p["ln_bias_c"], 1e-3), 0)
    h_new = u * h + (1 - u) * h_tilde
    h_new = h_new / np.linalg.norm(h_new)
    carry = cell.initialize_carry((1, 3))._replace(h=jnp.asarray(h[None]))
    np.testing.assert_allclose(cell(carry, jnp.asarray(x[None]))[1][0], h_new, atol=1e-10)
    # the sequence path (hoisted, λ = 1 reversible) threads the same layer norm and ε
    seq = RUMCell(3, 5, lam=1, eta=1.0, layer_norm=True, reversible=True, param_dtype=jnp.float64, rngs=nnx.Rngs(1))
    xs = jnp.asarray(rng.normal(size=(2, 4, 3)))
    carry0 = seq.initialize_carry((2, 3))
    _, hs = seq.sequence(carry0, xs)
    _, hs_scan = jax.lax.scan(lambda c, x_t: seq(c, x_t), carry0, jnp.swapaxes(xs, 0, 1))
    np.testing.assert_allclose(hs, jnp.swapaxes(hs_scan, 0, 1), atol=1e-12)


def test_rum_without_layer_norm_on_u_has_no_u_gain(rng):
    cell = RUMCell(3, 5, layer_norm=True, ln_update_gate=False, rngs=nnx.Rngs(0))
    assert "ln_gain_u" not in _params(cell) and cell.ln_params.gain_u is None


def test_rum_joint_initialisation_is_orthonormal_over_x_and_h():
    nx, nh = 7, 10
    cell = RUMCell(nx, nh, rngs=nnx.Rngs(0))
    p = _params(cell)
    for gate in ("tau", "u"):
        kernel = np.concatenate([p[f"w_x_{gate}"], p[f"w_h_{gate}"]])  # (x + n, n) over [x; h]
        for half in (kernel[:, : nh // 2], kernel[:, nh // 2 :]):
            np.testing.assert_allclose(half.T @ half, np.eye(half.shape[1]), atol=1e-5)
        # the two halves are drawn apart: not one orthonormal set (17 rows could hold 10 orthonormal columns)
        assert np.abs(kernel.T @ kernel - np.eye(nh)).max() > 1e-2
    separate = _params(RUMCell(nx, nh, gate_init="separate", rngs=nnx.Rngs(0)))
    np.testing.assert_allclose(separate["w_h_tau"].T @ separate["w_h_tau"], np.eye(nh), atol=1e-5)
    with pytest.raises(ValueError, match="gate_init"):
        RUMCell(nx, nh, gate_init="glorot", rngs=nnx.Rngs(0))


def test_rum_without_the_eps_bias_matches_the_authors_embedding(rng):
    cell = RUMCell(3, 5, eps_bias=False, rngs=nnx.Rngs(0))
    assert "b_eps" not in _params(cell)
    np.testing.assert_array_equal(cell.params.b_eps, 0.0)


# ---------------------------------------------------------------- LSTMs


def test_joint_layer_norm_lstm_matches_a_float64_reference(x64, rng):
    cell = LNLSTMCell(3, 4, param_dtype=jnp.float64, rngs=nnx.Rngs(0))
    assert cell.form == "joint"
    for name in ("gain", "bias", "b", "gain_c", "bias_c"):
        getattr(cell, name)[...] = jnp.asarray(rng.normal(size=getattr(cell, name)[...].shape))
    p = _params(cell)
    assert "gain_x" not in p
    c, h, x = rng.normal(size=(2, 4)), rng.normal(size=(2, 4)), rng.normal(size=(2, 3))
    z = (np.concatenate([x, h], 1) @ np.concatenate([p["w_x"], p["w_h"]]) + p["b"].reshape(-1)).reshape(2, 4, 4)
    z = layer_norm(z, p["gain"], p["bias"], 1e-3)  # one LN per gate block
    f, i, o, g = z[:, 0], z[:, 1], z[:, 2], z[:, 3]
    c_new = sigmoid(f + 1.0) * c + sigmoid(i) * np.tanh(g)  # the constant forget bias of 1
    h_new = sigmoid(o) * np.tanh(layer_norm(c_new, p["gain_c"], p["bias_c"], 1e-3))
    (c_out, h_out), _ = cell((jnp.asarray(c), jnp.asarray(h)), jnp.asarray(x))
    np.testing.assert_allclose(c_out, c_new, atol=1e-12)
    np.testing.assert_allclose(h_out, h_new, atol=1e-12)


def test_lstm_forget_bias_option():
    assert CELL_OPTIONS["lstm"]["forget_bias"] == 1.0
    for bias in (0.0, 1.0):
        cell = make_cell("lstm", 3, 4, rngs=nnx.Rngs(0), forget_bias=bias)
        np.testing.assert_array_equal(cell.hf.bias[...], bias)
        np.testing.assert_array_equal(cell.hi.bias[...], 0.0)
    for preset in ("lstm",):
        for config in (copying.get_config(preset), recall.get_config(preset)):
            assert config.lstm.forget_bias == 1.0


def test_fs_rnn_cells_use_the_joint_lstm_and_the_inner_dropout():
    for module in (ptb_fsrum, ptb_fslstm):
        c = module.get_config("cpu")
        c.task_options.data_dir = "unused"
        cell = make_cell("fs_rnn", 8, c.hidden, rngs=nnx.Rngs(0), **train.cell_options(c))
        assert all(f.form == "joint" for f in cell.fast) and cell.dropout == c.dropout == 0.35
        if module is ptb_fslstm:
            assert cell.slow.form == "joint"
        else:
            assert cell.slow.ln_update_gate and cell.slow.ln_eps == 1e-3


# ---------------------------------------------------------------- FS-RNN dropout sites


class Echo(nnx.RNNCellBase):
    """A cell whose output and carry are its input: shows what a cell of the FS-RNN received."""

    def __init__(self, n):
        self.hidden_features = n

    def __call__(self, carry, x):  # type: ignore[override]
        return x, x

    def initialize_carry(self, input_shape, rngs=None, carry_init=None):  # type: ignore[override]
        return jnp.zeros((*input_shape[:-1], self.hidden_features))

    @property
    def num_feature_axes(self):
        return 1


def test_fs_rnn_drops_out_at_both_inner_sites_in_train_mode_only():
    n, rate = 2000, 0.35
    cell = FSRNNCell([Echo(n), Echo(n)], Echo(n), dropout=rate)
    x = jnp.ones((1, n)) + jnp.arange(n)[None] / n
    carry = cell.initialize_carry((1, n), nnx.Rngs(carry=0))
    carry, y = cell(carry, x)
    into_slow = carry.slow  # F_1's output (= x) after the first inner site
    keep = 1 - rate
    dropped = np.asarray(into_slow == 0)
    np.testing.assert_allclose(np.asarray(into_slow)[~dropped], np.asarray(x / keep)[~dropped], rtol=1e-6)
    assert abs(dropped.mean() - rate) < 0.05
    # the second site drops S's output again, with another mask, before F_2
    dropped_again = np.asarray(y == 0) & ~dropped
    assert abs(dropped_again.sum() / (~dropped).sum() - rate) < 0.05
    np.testing.assert_allclose(np.asarray(y)[y != 0], np.asarray(into_slow / keep)[y != 0], rtol=1e-6)
    # a fresh mask every step: the key travels in the carry
    carry2, y2 = cell(carry, x)
    assert not np.array_equal(np.asarray(y2 == 0), np.asarray(y == 0))
    cell.eval()  # nnx's eval mode sets `deterministic`
    _, y_eval = cell(cell.initialize_carry((1, n), nnx.Rngs(carry=0)), x)
    np.testing.assert_array_equal(y_eval, x)
    # without dropout the carry holds no key (old checkpoints keep their structure)
    assert FSRNNCell([Echo(n), Echo(n)], Echo(n)).initialize_carry((1, n)).key is None


# ---------------------------------------------------------------- clipping what the authors clipped


@pytest.mark.slow  # about 10 s on a quiet core
def test_clipping_the_summed_loss_at_c_equals_clipping_the_mean_at_c_over_t():
    c = copying.get_config("cpu")
    c.task_options.delay, c.hidden, c.num_devices = 5, 8, 1
    task = train.build_task(c)
    model = train.build_model(c, task)
    graphdef, params = nnx.split(model, nnx.Param)
    batch = task.sample(jax.random.key(0), 4)
    t, clip, lr = batch["inputs"].shape[1], 0.01, 0.1

    def step(tx, reduction):
        state = train.TrainState(jnp.zeros((), jnp.int32), params, tx.init(params))
        new, metrics = train.train_step(graphdef, tx, task, state, batch, jax.random.key(1), reduction)
        return new.params, metrics

    summed, m_sum = step(optax.chain(optax.clip_by_global_norm(clip), optax.sgd(lr)), "sum_time")
    mean, m_mean = step(optax.chain(optax.clip_by_global_norm(clip / t), optax.sgd(lr * t)), "mean")
    chex.assert_trees_all_close(summed, mean, rtol=1e-5, atol=1e-7)
    assert m_sum["loss"] == pytest.approx(float(m_mean["loss"]))  # the logged loss stays per target
    assert float(m_sum["grad_norm"]) == pytest.approx(t * float(m_mean["grad_norm"]), rel=1e-5)
    assert float(m_mean["grad_norm"]) > clip / t  # clipping acted
    assert ptb_fsrum.get_config().loss_reduction == "sum_time"


# ---------------------------------------------------------------- GORU and FW-LN switches


def test_goru_bias_initialisations():
    authors = GORUCell(2, 50, rngs=nnx.Rngs(0))
    np.testing.assert_array_equal(authors.b_h[...], 2.0)
    b_z = np.asarray(authors.b_z[...])
    assert np.abs(b_z).max() <= np.sqrt(3 / 50) and b_z.std() > 0.05
    release = GORUCell(2, 50, mod_bias_init=0.01, update_bias_init="zeros", rngs=nnx.Rngs(0))
    np.testing.assert_allclose(release.b_h[...], 0.01)
    np.testing.assert_array_equal(release.b_z[...], 0.0)
    with pytest.raises(ValueError, match="update_bias_init"):
        GORUCell(2, 50, update_bias_init="ones", rngs=nnx.Rngs(0))


def test_fast_weights_layer_norm_of_h0(rng):
    n = 6
    x = jnp.asarray(rng.normal(size=(2, 3)))
    h_prev = jnp.asarray(rng.normal(size=(2, n)))
    a_prev = jnp.asarray(rng.normal(size=(2, n, n)))
    outs = {}
    for mode in ("shared", "separate", "none"):
        cell = FastWeightsCell(3, n, ln_h0=mode, rngs=nnx.Rngs(0))
        if mode == "separate":
            cell.ln0.scale[...] = jnp.full((n,), 2.0)
        z = h_prev @ cell.w[...] + x @ cell.c[...] + cell.b[...][None]
        h0 = jax.nn.relu({"shared": cell.ln, "separate": lambda v: cell.ln0(v), "none": lambda v: v}[mode](z))
        expected = jax.nn.relu(cell.ln(z + jnp.einsum("bij,bj->bi", a_prev, h0)))
        carry, y = cell(FastWeightsCarry(h_prev, a_prev), x)
        np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
        outs[mode] = np.asarray(y)
    assert not np.allclose(outs["shared"], outs["none"]) and not np.allclose(outs["shared"], outs["separate"])


def test_readout_hidden_layer():
    model = SequenceClassifier(
        vocab_size=5, num_classes=3, cell="gru", hidden=8, readout="last", readout_hidden=100, rngs=nnx.Rngs(0)
    )
    tokens = jnp.zeros((2, 4), jnp.int32)
    _, hs = jax.lax.scan(
        lambda c, x: model.cell(c, x),
        model.cell.initialize_carry((2, 5), nnx.Rngs(0)),
        jnp.swapaxes(jax.nn.one_hot(tokens, 5), 0, 1),
    )
    expected = model.head(jax.nn.relu(model.hidden_layer(hs[-1])))
    np.testing.assert_allclose(model(tokens), expected, rtol=1e-5, atol=1e-6)
    assert model.head.kernel[...].shape == (100, 3)


# ---------------------------------------------------------------- recall: a fixed training set


def test_fixed_recall_set_cycles_and_is_a_function_of_the_step():
    task = RecallTask(8, train_size=40)
    key = jax.random.key(5)
    first = task.train_batch(key, 8, 0)
    np.testing.assert_array_equal(task.train_batch(jax.random.key(6), 8, 5)["inputs"], first["inputs"])  # 40/8 = 5
    assert not np.array_equal(task.train_batch(key, 8, 1)["inputs"], first["inputs"])
    seen = np.concatenate([task.train_batch(key, 8, s)["inputs"] for s in range(5)])
    assert len({tuple(r) for r in seen.tolist()}) > 35  # 40 distinct sequences (a few may repeat by chance)
    for row, target in zip(np.asarray(first["inputs"]), np.asarray(first["targets"])):
        assert task.answer(row) == target
    fresh = RecallTask(8)
    np.testing.assert_array_equal(fresh.train_batch(key, 8, 3)["inputs"], fresh.sample(key, 8)["inputs"])


@pytest.mark.slow
def test_fixed_recall_set_resumes_exactly(tmp_path):
    def config(steps):
        c = recall.get_config("cpu,t8")
        c.task_options.train_size = 64
        c.hidden, c.batch_size, c.num_steps, c.log_every, c.eval_every, c.checkpoint_every = 8, 16, steps, 1, 3, 3
        c.eval_size, c.eval_batch_size, c.num_devices, c.progress = 32, 32, 1, False
        return c

    from training.metric_log import read_metrics

    train.train_and_evaluate(config(9), str(tmp_path / "whole"))
    train.train_and_evaluate(config(3), str(tmp_path / "parts"))
    train.train_and_evaluate(config(9), str(tmp_path / "parts"))
    whole = [r["loss"] for r in read_metrics(str(tmp_path / "whole"), "train")]
    parts = [r["loss"] for r in read_metrics(str(tmp_path / "parts"), "train")]
    np.testing.assert_allclose(parts, whole, rtol=1e-6)


# ---------------------------------------------------------------- bAbI input formats

STORY = """1 Mary moved to the bathroom.
2 John went to the hallway.
3 Where is Mary?\tbathroom\t1
"""


def test_babi_sentence_format_against_a_hand_made_story():
    examples = babi.parse(STORY.splitlines(True), punctuation=True)
    (ex,) = examples
    assert ex.story[0] == ["mary", "moved", "to", "the", "bathroom", "."] and ex.question[-1] == "?"
    vocab = babi.build_vocab(examples)
    i = {w: k for k, w in enumerate(vocab)}
    inputs, answers = babi.vectorize_sentences(examples, vocab, steps=4, words=6)
    expected = np.full((4, 6), -1)
    expected[0, 0] = 0  # one blank step in front
    expected[1] = [i[w] for w in ("mary", "moved", "to", "the", "bathroom", ".")]
    expected[2, :6] = [i[w] for w in ("john", "went", "to", "the", "hallway", ".")]
    expected[3, :4] = [i[w] for w in ("where", "is", "mary", "?")]
    np.testing.assert_array_equal(inputs[0], expected)
    assert answers[0] == i["bathroom"]
    # the model sums each step's word vectors, the question step with its own embedding
    model = SequenceClassifier(
        vocab_size=len(vocab),
        num_classes=len(vocab),
        cell="gru",
        hidden=4,
        embed_dim=3,
        readout="last",
        separate_last_embed=True,
        rngs=nnx.Rngs(0),
    )
    xs = model._inputs(jnp.asarray(inputs))
    e, q = np.asarray(model.embed.embedding[...]), np.asarray(model.embed_last.embedding[...])
    np.testing.assert_allclose(xs[0, 0], e[0], rtol=1e-6)
    np.testing.assert_allclose(xs[0, 1], e[expected[1]].sum(0), rtol=1e-5)
    np.testing.assert_allclose(xs[0, 3], q[expected[3, :4]].sum(0), rtol=1e-5)
    one_hot = SequenceClassifier(
        vocab_size=len(vocab), num_classes=2, cell="gru", hidden=4, readout="last", rngs=nnx.Rngs(0)
    )._inputs(jnp.asarray(inputs))
    np.testing.assert_array_equal(one_hot[0, 2], np.bincount(expected[2, :6], minlength=len(vocab)))


def test_babi_word_format_has_a_blank_at_both_ends():
    examples = babi.parse(STORY.splitlines(True))
    vocab = babi.build_vocab(examples)
    words = [w for s in examples[0].story for w in s] + examples[0].question
    inputs, _ = babi.vectorize(examples, vocab, length=len(words) + 3, end_blank=True)
    assert inputs[0, 0] == inputs[0, 1] == 0 and inputs[0, -1] == 0  # padding in front, the blank at the end
    assert [vocab[k] for k in inputs[0, 2:-1]] == words
    assert babi_config.get_config().task_options.end_blank is True


# ---------------------------------------------------------------- old runs keep their model


def test_a_run_saved_before_a_key_existed_keeps_its_old_value(tmp_path):
    c = ptb_fsrum.get_config("cpu")
    saved = json.loads(c.to_json())
    for key in ("ln_lstm_form", "slow_ln_update_gate", "slow_ln_eps", "dropout"):
        del saved["fs_rnn"][key]
    del saved["loss_reduction"], saved["rum"]["ln_update_gate"], saved["task_options"]["files"]
    assert c.task_options.files == "word"  # today's default: the authors' character stream
    changed = train.apply_saved_before(saved, c)
    assert c.fs_rnn.ln_lstm_form == "ba" and c.fs_rnn.slow_ln_update_gate is False and c.fs_rnn.slow_ln_eps == 1e-5
    assert c.fs_rnn.dropout == 0.0 and c.loss_reduction == "mean" and c.rum.ln_update_gate is False
    assert changed["loss_reduction"] == ("sum_time", "mean")
    assert c.task_options.files == "char" and changed["task_options.files"] == ("word", "char")
    # load_config (scripts/sample, scripts/evaluate) reads an old config.json the same way
    (tmp_path / "config.json").write_text(json.dumps(saved))
    loaded = train.load_config(str(tmp_path / "config.json"))
    assert loaded.fs_rnn.ln_lstm_form == "ba" and loaded.loss_reduction == "mean"
    assert loaded.task_options.files == "char"  # an old PTB run reads the ptb.char stream it trained on
    # an old bAbI run's task options: no blank at the end, no punctuation
    b = json.loads(babi_config.get_config("cpu").to_json())
    del b["task_options"]["end_blank"], b["task_options"]["punctuation"]
    (tmp_path / "config.json").write_text(json.dumps(b))
    old = train.load_config(str(tmp_path / "config.json"))
    assert old.task_options.end_blank is False and old.task_options.punctuation is False
    assert set(SAVED_BEFORE) >= {"rum.ln_update_gate", "rum.ln_eps", "lstm.forget_bias", "ln_lstm.form"}


def test_fs_rum2_runs_the_papers_schedule_and_the_authors_code_is_a_preset():
    from configs import ptb_fsrum
    from configs.ptb_base import STEPS_PER_EPOCH

    paper, code = ptb_fsrum.get_config(), ptb_fsrum.get_config("code")
    assert paper.num_steps == 360 * STEPS_PER_EPOCH and code.num_steps == 200 * STEPS_PER_EPOCH
    assert tuple(paper.lr_boundaries) == (180 * STEPS_PER_EPOCH, 240 * STEPS_PER_EPOCH)
    assert tuple(paper.lr_values) == (1e-4, 1e-5)
    assert tuple(code.lr_boundaries) == (180 * STEPS_PER_EPOCH,)
    assert tuple(code.lr_values) == pytest.approx((paper.learning_rate * 0.1,))
    assert code.cell == paper.cell == "fs_rnn" and code.fs_rnn.slow_hidden == paper.fs_rnn.slow_hidden == 1000


def test_babi_sentence_questions_share_the_story_embedding_by_default_and_old_runs_keep_their_own(tmp_path):
    """The authors' sentence-level bAbI model embeds the question step with the story's table (one `embed`
    in rdangovs tasks/QA/qa_babi_task.py); rumjax 0.3 gave it a table of its own, which runs saved before
    `task_options.question_embed` keep."""
    import train
    from configs import babi as babi_config
    from tests.test_data import _write_tiny_babi

    _write_tiny_babi(tmp_path / "data", questions=40)
    c = babi_config.get_config("cpu,sentence")
    c.task_options.data_dir, c.task_options.size = str(tmp_path / "data"), "1k"
    c.task_options.download = c.task_options.check = False
    c.hidden, c.embed_dim = 8, 4
    assert c.task_options.question_embed == "shared"
    task = train.build_task(c)
    shared = train.build_model(c, task)
    assert shared.embed_last is None
    tokens = jnp.asarray(task.train_data(4)[0][:2])  # (inputs, answers): bags of word ids, -1 empty
    xs, e = shared._inputs(tokens), np.asarray(shared.embed.embedding[...])
    question = np.asarray(tokens[0, -1])
    np.testing.assert_allclose(xs[0, -1], e[question[question >= 0]].sum(0), rtol=1e-5)
    # a config.json saved before the option: the separate table it trained with
    saved = json.loads(c.to_json())
    del saved["task_options"]["question_embed"]
    (tmp_path / "config.json").write_text(json.dumps(saved))
    old = train.load_config(str(tmp_path / "config.json"))
    assert old.task_options.question_embed == "separate"
    assert train.build_model(old, train.build_task(old)).embed_last is not None
    c.task_options.question_embed = "both"
    with pytest.raises(ValueError, match="question_embed must be 'shared'.*'separate'.*'both'"):
        train.build_task(c)
