"""The `search:` section of a spec: which graph and training settings a search may vary, and how.

A dimension is a list of choices (categorical) or a range (``{low, high}``, with ``step`` or
``log``). Layers are named as in the graph; an absent section gets `default_space`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from ann.strict_model import StrictModel


class IntRange(StrictModel):
    low: int
    high: int
    step: int = Field(default=1, ge=1)
    log: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> IntRange:
        if self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        return self


class FloatRange(StrictModel):
    low: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)
    step: float | None = Field(default=None, gt=0)
    log: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> FloatRange:
        if self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        if self.log and self.low <= 0:
            raise ValueError("a log range needs low > 0")
        return self


Ints = IntRange | list[int]
Floats = FloatRange | list[float]


class LayerSearch(StrictModel):
    """What may vary in one layer; an absent key stays as the graph has it."""

    aggregator: list[str] | None = Field(default=None, min_length=1)
    agents: Ints | None = None
    samples: Ints | None = None
    temperature: Floats | None = None


class TrainSearch(StrictModel):
    """Training settings a trial's short compile may use; absent ones come from the spec's `train:`."""

    epochs: Ints | None = None
    batch_size: Ints | None = None
    candidates: Ints | None = None
    demos: Ints | None = None
    lr: Floats | None = None
    demo_source: list[Literal["bootstrap", "labeled"]] | None = Field(default=None, min_length=1)


class SearchSpec(StrictModel):
    """A spec's search space: the model, per-layer choices and training choices."""

    model: list[str] | None = Field(default=None, min_length=1, description="LiteLLM model strings to try")
    layers: dict[str, LayerSearch] = Field(default_factory=dict)
    train: TrainSearch = Field(default_factory=TrainSearch)

    def dimensions(self) -> dict[str, Any]:
        """Every dimension by its trial parameter name: ``model``, ``solve.aggregator``, ``train.lr``…"""
        found: dict[str, Any] = {"model": self.model} if self.model else {}
        for prefix, choices in [*self.layers.items(), ("train", self.train)]:
            for key in type(choices).model_fields:
                if getattr(choices, key) is not None:
                    found[f"{prefix}.{key}"] = getattr(choices, key)
        return found

    def grid_size(self) -> int | None:
        """How many distinct trials the space holds; None when a float range makes it unbounded."""
        size = 1
        for dimension in self.dimensions().values():
            if isinstance(dimension, list):
                size *= len(set(dimension))
            elif isinstance(dimension, IntRange) and not dimension.log:
                size *= (dimension.high - dimension.low) // dimension.step + 1
            elif isinstance(dimension, FloatRange) and dimension.step is not None and not dimension.log:
                size *= int((dimension.high - dimension.low) / dimension.step + 1e-9) + 1
            else:
                return None
        return size


def default_space(layers: list[tuple[str, str]], *, training: bool) -> SearchSpec:
    """The space searched when a spec has none: per layer its team type against single and vote,
    one to three samples; with ``training`` (a compile per trial), also no demos or three.

    Args:
        layers: (name, aggregator) of each layer in the graph.
        training: Trials run a compile, so training settings matter.
    """
    return SearchSpec(
        layers={
            name: LayerSearch(aggregator=list(dict.fromkeys([aggregator, "single", "vote"])), samples=[1, 3])
            for name, aggregator in layers
        },
        train=TrainSearch(demos=[0, 3]) if training else TrainSearch(),
    )
