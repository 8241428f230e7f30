"""rumjax: the Rotational Unit of Memory and its recurrent-memory baselines in JAX / Flax NNX."""

__version__ = "0.3.0"

from rumjax.rnn import RNN
from rumjax.rotation import compose, rotate, rotation_components, rotation_matrix
from rumjax.rum import RUMCarry, RUMCell, RUMInputs, RUMParams, rum_initial_carry, rum_inputs, rum_recurrence, rum_step

__all__ = [
    "__version__",
    "RNN",
    "rotation_components",
    "rotate",
    "rotation_matrix",
    "compose",
    "RUMParams",
    "RUMCarry",
    "RUMInputs",
    "rum_inputs",
    "rum_recurrence",
    "rum_step",
    "rum_initial_carry",
    "RUMCell",
]
