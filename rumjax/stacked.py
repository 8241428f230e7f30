"""Stacked RNN: layer l reads the output of layer l − 1 at the same step (e.g. 2×RUM of the paper's Table 3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Sequence

from flax import nnx

__all__ = ["StackedCell"]


class StackedCell(nnx.RNNCellBase):
    """cells[0](carry_0, x_t) → y^1, cells[1](carry_1, y^1) → y^2, …; the carry is the tuple of carries."""

    def __init__(self, cells: Sequence[nnx.RNNCellBase]):
        if not cells:
            raise ValueError("StackedCell needs at least one cell.")
        self.cells = nnx.List(cells)
        self.hidden_features: int = getattr(cells[-1], "hidden_features")  # every zoo cell has it

    def __call__(self, carry, x):  # type: ignore[override]
        new = []
        for cell, c in zip(self.cells, carry):
            c, x = cell(c, x)
            new.append(c)
        return tuple(new), x

    def initialize_carry(  # type: ignore[override]
        self, input_shape: tuple[int, ...], rngs: nnx.Rngs | None = None, carry_init: Callable | None = None
    ) -> tuple:
        batch = tuple(input_shape[:-1])
        carries = [self.cells[0].initialize_carry(input_shape, rngs)]
        for prev, cell in zip(self.cells[:-1], self.cells[1:]):
            carries.append(cell.initialize_carry((*batch, getattr(prev, "hidden_features")), rngs))
        return tuple(carries)

    @property
    def num_feature_axes(self) -> int:
        return 1
