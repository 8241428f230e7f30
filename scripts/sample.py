"""Sample text from a trained character-level language model (a PTB run's workdir).

    python -m scripts.sample --workdir /tmp/ptb_fsrum [--length 400] [--prime "the "] [--temperature 0.8]

Loads the run's config.json and its best-on-validation checkpoint (the latest one if there is no
best), feeds the prime text through the model, then draws one character at a time from the softmax
at `temperature`, carrying the recurrent state. Prime and output are plain text: for a model trained
on the ``ptb.char`` stream, whose word boundary is ``_``, spaces are written as ``_`` going in and
``_`` prints as a space coming out.
"""

from __future__ import annotations

import argparse
import os

import jax
import jax.numpy as jnp
from flax import nnx

import train
from training.checkpoints import Checkpoints


def load(workdir: str):
    """(config, task, model with the saved parameters) of a finished or running PTB run."""
    config = train.load_config(os.path.join(workdir, "config.json"))
    task = train.build_task(config)
    if not getattr(task, "stream", False):
        raise ValueError(f"{workdir} is a {config.task!r} run; sampling needs a language-model (ptb) run.")
    model = train.build_model(config, task)
    graphdef, params = nnx.split(model, nnx.Param)
    tx = train.build_optimizer(config)
    target = train.StreamState(
        jnp.zeros((), jnp.int32), params, tx.init(params), model.initial_carry(config.batch_size)
    )
    ckpt = Checkpoints(workdir, keep=1, read_only=True)
    try:
        state, which = ckpt.restore_best(target), "best"
        if state is None and ckpt.latest_step() is not None:
            (state, _), which = ckpt.restore(target), "latest"
    finally:
        ckpt.close()
    if state is None:
        raise FileNotFoundError(f"{workdir} has no checkpoint (none in {workdir}/checkpoints or {workdir}/best).")
    return config, task, nnx.merge(graphdef, state.params), f"{which} step {int(state.step)}"


def sample(model, task, prime: str, length: int, temperature: float, seed: int = 0) -> str:
    model.eval()
    boundary = "_" if task.files == "char" else " "  # how the model's stream writes a space
    prime = prime.replace(" ", boundary)
    index = {s: i for i, s in enumerate(task.vocab)}
    unknown = sorted({ch for ch in prime if ch not in index})
    if unknown:
        raise ValueError(f"prime has symbols outside the vocabulary: {unknown}; valid: {''.join(task.vocab)!r}")
    step = jax.jit(lambda tokens, carry: model(tokens, carry))
    carry = model.initial_carry(1)
    logits, carry = step(jnp.asarray([[index[ch] for ch in prime]], jnp.int32), carry)
    key, out = jax.random.key(seed), []
    for _ in range(length):
        key, sub = jax.random.split(key)
        token = jax.random.categorical(sub, logits[0, -1] / temperature)
        out.append(task.vocab[int(token)])
        logits, carry = step(token.reshape(1, 1), carry)
    return (prime + "".join(out)).replace(boundary, " ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--length", type=int, default=400)
    parser.add_argument("--prime", default="the ")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config, task, model, which = load(args.workdir)
    print(f"# {config.cell} from {which} of {args.workdir}")
    print(sample(model, task, args.prime, args.length, args.temperature, args.seed))


if __name__ == "__main__":
    main()
