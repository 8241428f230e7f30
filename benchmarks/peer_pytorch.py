"""The authors' PyTorch RUM beside rumjax: the same train step at five shapes, timed in turns in one process.

    pip install -e ".[peer]"                     # torch, CPU build (constraints.txt pins the one on PyPI's CPU index)
    git clone https://github.com/rdangovs/rotational-unit-of-memory /tmp/rum-authors
    python -m benchmarks.peer_pytorch --peer-dir /tmp/rum-authors/pytorch [--repeats 5] [--json out.json]

The peer is the authors' `rum_model.RUM(input_size, hidden_size, eta_, lambda_)`, imported from --peer-dir:
the user brings it from their public repository; nothing of it is in rumjax. Both sides take the same
train step: one-hot tokens → RUM → a linear readout to 10 classes at every step, the mean cross-entropy,
the gradient and one RMSprop update (learning rate 1e-3, as the authors' recall task), float32, on the
same CPU cores (torch's threads set to the cores this process may use, as XLA's). rumjax runs
`rumjax.RNN(RUMCell)`, the default path (`benchmarks.train_step.Model`). Each shape's two steps are timed
in turns (`benchmarks.timing.time_interleaved`); the table gives the median milliseconds and the peer's
time over rumjax's.

Read from the peer's code, and true of any version that has them: its λ = 1 builds the dense N × N
rotation every step and multiplies by it, but the memory is not carried from one step to the next (each
step starts from the identity), so it pays for the dense product and not for the memory's recurrence,
which rumjax computes; and its η branch names an undefined `eps`, so every shape here runs η = None.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

import jax
import numpy as np
import optax

from benchmarks import train_step
from benchmarks.table import markdown_table, show
from benchmarks.timing import time_interleaved

# name: (B, T, N, input size, λ); the paper's recall and copying shapes, copying at N = 250, a PTB-like step
SHAPES = {
    "recall λ=1": (128, 53, 50, 36, 1),
    "copying λ=1": (128, 220, 100, 10, 1),
    "recall λ=0": (128, 53, 50, 36, 0),
    "copying λ=0 N=250": (128, 220, 250, 10, 0),
    "PTB-like λ=0 N=1000": (32, 150, 1000, 50, 0),
}
SMOKE = {"smoke λ=1": (4, 6, 8, 5, 1), "smoke λ=0": (4, 6, 8, 5, 0)}
LEARNING_RATE = 1e-3


def load_peer(peer_dir: str):
    """The authors' `rum_model` module from `peer_dir` (a clear error if it is not there)."""
    path = os.path.join(peer_dir, "rum_model.py")
    if not os.path.isfile(path):
        raise SystemExit(
            f"peer_pytorch: no rum_model.py in {peer_dir!r}; give --peer-dir the pytorch/ folder of a clone of "
            "https://github.com/rdangovs/rotational-unit-of-memory"
        )
    sys.path.insert(0, os.path.abspath(peer_dir))
    try:
        return importlib.import_module("rum_model")
    finally:
        sys.path.pop(0)


def peer_step(rum_model, batch: int, steps: int, hidden: int, inputs: int, lam: int, tokens, labels):
    """The peer's train step as a function of nothing: forward, backward, RMSprop; returns the loss."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    rnn = rum_model.RUM(inputs, hidden, eta_=None, lambda_=lam)
    readout = torch.nn.Linear(hidden, 10)
    params = [*rnn.parameters(), *readout.parameters()]
    opt = torch.optim.RMSprop(params, lr=LEARNING_RATE)
    x = F.one_hot(torch.from_numpy(np.asarray(tokens, np.int64)), inputs).float()
    y = torch.from_numpy(np.asarray(labels, np.int64))

    def step():
        opt.zero_grad()
        outputs, _ = rnn(x)
        loss = F.cross_entropy(readout(outputs).reshape(batch * steps, 10), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss.item()

    return step


def rumjax_step(batch: int, steps: int, hidden: int, inputs: int, lam: int):
    """rumjax's train step at the same shape, jitted: (step, its arguments, tokens, labels)."""
    step, args = train_step.make_step(f"rum λ={lam}", batch, steps, hidden, inputs, tx=optax.rmsprop(LEARNING_RATE))
    tokens, labels = train_step.batch(batch, steps, inputs)
    return jax.jit(step), args, tokens, labels


def run(rum_model, shapes: dict, repeats: int) -> list[dict]:
    import torch

    torch.set_num_threads(len(os.sched_getaffinity(0)))
    rows = []
    for name, (batch, steps, hidden, inputs, lam) in shapes.items():
        ours, args, tokens, labels = rumjax_step(batch, steps, hidden, inputs, lam)
        theirs = peer_step(rum_model, batch, steps, hidden, inputs, lam, tokens, labels)
        first = {"rumjax": float(ours(*args)[2]), "peer": theirs()}  # the loss of the first step, at initialisation
        seconds = time_interleaved({"rumjax": (ours, args), "peer": (theirs, ())}, repeats)
        row = {
            "shape": name,
            "B": batch,
            "T": steps,
            "N": hidden,
            "lam": lam,
            "rumjax_ms": seconds["rumjax"] * 1e3,
            "peer_ms": seconds["peer"] * 1e3,
            "peer_over_rumjax": seconds["peer"] / seconds["rumjax"],
            "first_loss_rumjax": first["rumjax"],
            "first_loss_peer": first["peer"],
        }
        rows.append(row)
        print(
            f"{name:22s} B={batch:<4d} T={steps:<4d} N={hidden:<5d} rumjax {row['rumjax_ms']:9.1f} ms  "
            f"peer {row['peer_ms']:9.1f} ms  ×{row['peer_over_rumjax']:.1f}",
            flush=True,
        )
    return rows


def markdown(rows) -> str:
    return markdown_table(
        [
            ("shape", lambda r: r["shape"]),
            *((k, lambda r, k=k: str(r[k])) for k in ("B", "T", "N")),
            ("rumjax ms", lambda r: f"{r['rumjax_ms']:.1f}"),
            ("authors' PyTorch ms", lambda r: f"{r['peer_ms']:.1f}"),
            ("PyTorch / rumjax", lambda r: f"{r['peer_over_rumjax']:.1f}"),
        ],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer-dir", required=True, help="the folder holding the authors' rum_model.py")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="two toy shapes, one repeat: seconds")
    parser.add_argument("--json", help="write the rows (and the versions) to this JSON file")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        raise SystemExit('peer_pytorch: needs torch, an optional extra: pip install -e ".[peer]"') from None
    rum_model = load_peer(args.peer_dir)
    versions = {"jax": jax.__version__, "torch": torch.__version__, "date": time.strftime("%Y-%m-%d")}
    print(f"rumjax on jax {versions['jax']} ({jax.devices()[0].device_kind}), the peer on torch {versions['torch']}")
    rows = run(rum_model, SMOKE if args.smoke else SHAPES, 1 if args.smoke else args.repeats)
    show(markdown(rows), {"versions": versions, "rows": rows}, args.json)


if __name__ == "__main__":
    main()
