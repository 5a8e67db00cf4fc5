"""One trial's choices: drawn from the space by Optuna, then applied to a copy of the spec."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ann.errors import ConfigError
from ann.search.space import IntRange, SearchSpec
from ann.spec import AgentSpec, LayerSpec, Spec


@dataclass
class TrialSetup:
    """What a trial runs: its spec, the training settings it changes, and its model (None: the run's)."""

    spec: Spec
    train: dict[str, Any] = field(default_factory=dict)
    model: str | None = None


def suggest(trial: Any, space: SearchSpec) -> dict[str, Any]:
    """Draw every dimension of ``space`` from an Optuna trial (``trial.suggest_*``), by its name."""
    chosen: dict[str, Any] = {}
    for name, dimension in space.dimensions().items():
        if isinstance(dimension, list):
            chosen[name] = trial.suggest_categorical(name, dimension)
        elif isinstance(dimension, IntRange):
            step = 1 if dimension.log else dimension.step  # Optuna takes no step on a log scale
            chosen[name] = trial.suggest_int(name, dimension.low, dimension.high, step=step, log=dimension.log)
        else:
            chosen[name] = trial.suggest_float(name, dimension.low, dimension.high, step=dimension.step,
                                               log=dimension.log)  # fmt: skip
    return chosen


def check_space(spec: Spec, space: SearchSpec, source: str, *, training: bool) -> None:
    """Fail before any trial when the space names a layer the graph does not have, or training
    settings while trials run no compile (``training`` False): they would change nothing.

    Raises:
        ConfigError: One line naming the spec and the field.
    """
    if not training and any(key.startswith("train.") for key in space.dimensions()):
        raise ConfigError(f"{source}: search.train: trials run no compile, so training settings change nothing; "
                          "pass --compile-calls (and --train)")  # fmt: skip
    known = [layer.name for layer in spec.graph.layers] if spec.graph else []
    for name in space.layers:
        if name in ("model", "train"):
            raise ConfigError(f"{source}: search.layers.{name}: a layer named {name!r} cannot be searched; rename it")
        if name not in known:
            raise ConfigError(f"{source}: search.layers.{name}: no such layer; the graph has {', '.join(known)}")


def apply(spec: Spec, chosen: dict[str, Any]) -> TrialSetup:
    """A copy of ``spec`` with a trial's choices; the spec itself is untouched.

    A layer whose team type changes drops the old type's options (a `rubric` means nothing to
    `vote`). A larger team clones its first agent; a smaller one keeps its first agents.
    """
    assert spec.graph is not None
    by_prefix: dict[str, dict[str, Any]] = {}  # "solve.samples" -> {"solve": {"samples": …}}
    for key, value in chosen.items():
        if "." in key:
            prefix, name = key.rsplit(".", 1)
            by_prefix.setdefault(prefix, {})[name] = value
    layers = [_apply_layer(layer, by_prefix.get(layer.name, {})) for layer in spec.graph.layers]
    update: dict[str, Any] = {"graph": spec.graph.model_copy(update={"layers": layers})}
    model = chosen.get("model")
    if model is not None:
        update["model"] = spec.model.model_copy(update={"name": model})
    return TrialSetup(spec=spec.model_copy(update=update), train=by_prefix.get("train", {}), model=model)


def _apply_layer(layer: LayerSpec, chosen: dict[str, Any]) -> LayerSpec:
    update: dict[str, Any] = {key: chosen[key] for key in ("samples", "temperature") if key in chosen}
    aggregator = chosen.get("aggregator", layer.aggregator)
    if aggregator != layer.aggregator:
        update.update(aggregator=aggregator, options={})
    if "agents" in chosen:
        update["agents"] = _team(layer.agents, chosen["agents"])
    return layer.model_copy(update=update)


def _team(agents: list[AgentSpec], size: int) -> list[AgentSpec]:
    if size <= len(agents):
        return agents[:size]
    names = {agent.name for agent in agents}
    extra: list[AgentSpec] = []
    n = 2
    while len(agents) + len(extra) < size:
        name = f"{agents[0].name}_{n}"
        n += 1
        if name not in names:
            extra.append(agents[0].model_copy(update={"name": name}))
    return [*agents, *extra]
