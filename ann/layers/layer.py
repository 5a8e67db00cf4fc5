"""Layer: a team of agents on one subtask, combined by an aggregator."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ann.agent import Agent, check_name
from ann.errors import GraphError
from ann.layers.base import Aggregator, LayerOutcome, TeamRun
from ann.layers.registry import AGGREGATORS, aggregator_class
from ann.params import Param

if TYPE_CHECKING:
    from ann.tools.tool import Tool


class Layer:
    """A team on one subtask: agents that read ``inputs`` and write ``outputs``.

    Args:
        name: Unique in the graph; the prefix of its parameter names.
        agents: The team, at least one agent with distinct names.
        aggregator: How answers are combined: ``single``, ``vote``, ``judge`` or ``synthesize``.
        inputs: Fields this layer reads (graph inputs or upstream layers' outputs).
        outputs: Fields this layer writes.
        samples: Answers per agent (``vote`` with one agent and ``samples=5`` is self-consistency).
        temperature: Sampling temperature of the first sample; None uses the model's default.
        options: Settings of the team type, e.g. ``{"rounds": 2}`` for ``debate`` or
            ``{"rubric": "..."}`` for ``best_of_n``.
        tools: Tools the team type calls itself, not through an agent: the function a
            ``verify`` layer names as its ``verifier``.

    Raises:
        GraphError: Empty team, duplicate agent names, an unknown aggregator, a team size the
            aggregator does not accept or a tool it names but was not given.

    Example:
        >>> Layer("solve", [Agent("a"), Agent("b"), Agent("c")], "vote", inputs=["question"], outputs=["answer"])
    """

    def __init__(
        self,
        name: str,
        agents: Sequence[Agent],
        aggregator: str = "single",
        *,
        inputs: Sequence[str],
        outputs: Sequence[str],
        samples: int = 1,
        temperature: float | None = None,
        options: dict[str, Any] | None = None,
        tools: Sequence[Tool] = (),
    ) -> None:
        check_name("layer", name)
        self.name = name
        self.agents = list(agents)
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        if samples < 1:
            raise GraphError(f"layer '{name}': samples must be >= 1, got {samples}")
        self.samples = samples
        self.temperature = temperature
        self.options = dict(options or {})
        self.tools = list(tools)
        self.team_type: Aggregator | None = None
        self.aggregator = Param(
            aggregator, description=f"the aggregation method of layer '{name}'", trainable=False, kind="choice"
        )
        self.check()

    def check(self) -> None:
        """Validate the team and its aggregator (again after any structural edit)."""
        if not self.agents:
            raise GraphError(f"layer '{self.name}': the team is empty; give it at least one agent")
        names = [agent.name for agent in self.agents]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise GraphError(f"layer '{self.name}': duplicate agent names {duplicates}")
        if not self.outputs:
            raise GraphError(f"layer '{self.name}': no outputs; name at least one output field")
        for field in [*self.inputs, *self.outputs]:
            check_name(f"layer '{self.name}' field", field)
        team_type = self.make_aggregator()  # the instance: a router's limits depend on its options
        size = len(self.agents) * self.samples
        low, high = team_type.min_agents, team_type.max_agents
        if size < low or (high is not None and len(self.agents) > high):
            most = "" if high is None else f" and at most {high}"
            raise GraphError(
                f"layer '{self.name}': aggregator '{team_type.name}' does not take {len(self.agents)} agents "
                f"(it needs at least {low}{most})"
            )
        missing = sorted(set(team_type.tool_names(self.options)) - {tool.name for tool in self.tools})
        if missing:
            raise GraphError(
                f"layer '{self.name}': aggregator '{team_type.name}' calls tool {missing[0]!r}, "
                "which the layer was not given (name a function of the spec's tools module)"
            )

    def _aggregator_class(self) -> type[Aggregator]:
        cls = aggregator_class(self.aggregator.value)
        if cls is None:
            raise GraphError(
                f"layer '{self.name}': unknown aggregator '{self.aggregator.value}'; known: {', '.join(AGGREGATORS)}"
            )
        return cls

    def make_aggregator(self) -> Aggregator:
        """The team type, rebuilt only when the aggregator choice has changed."""
        cls = self._aggregator_class()
        if self.team_type is None or self.team_type.name != cls.name:
            self.team_type = cls(**self.options)
        return self.team_type

    def named_parameters(self) -> Iterator[tuple[str, Param]]:
        yield "aggregator", self.aggregator
        for agent in self.agents:
            for name, param in agent.named_parameters():
                yield f"{agent.name}.{name}", param
        if self.team_type is not None:
            for name, param in self.team_type.named_parameters():
                yield f"{self.team_type.name}.{name}", param

    async def run(self, team: TeamRun) -> LayerOutcome:
        return await self.make_aggregator().run(team)

    def __repr__(self) -> str:
        return (
            f"Layer({self.name!r}, {len(self.agents)} agents, {self.aggregator.value!r}, "
            f"inputs={self.inputs}, outputs={self.outputs})"
        )
