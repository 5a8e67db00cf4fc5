"""The aggregator interface: how a team's members are run and their answers combined.

An aggregator drives the whole team — not just the final combine step — so team types with
rounds (debate, solver → reviewer → refiner, critique-refine) fit the same interface: they call
``team.answer`` as often as their control flow needs and return one ``LayerOutcome``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ann.agent import Agent
from ann.errors import AnnError, GraphError, ParseError
from ann.params import Param
from ann.tasks import gather_all

if TYPE_CHECKING:
    from ann.layers.layer import Layer
    from ann.lm import ModelClient
    from ann.spec import FieldSpec
    from ann.trace import Trace


@dataclass
class Verdict:
    """A verifier's result for one candidate: a score in [0, 1], why, and how long the check took."""

    score: float
    message: str
    latency_s: float = 0.0


@dataclass
class Candidate:
    """One team member's answer (or its failure), and its verdict when a verifier checked it."""

    agent: str
    sample: int
    outputs: dict[str, Any] | None
    error: str | None = None
    verdict: Verdict | None = None

    def record(self) -> dict[str, Any]:
        """The candidate as the trace keeps it; a verdict rides along so the backward pass sees it."""
        record = dict(self.outputs or {"error": self.error})
        if self.verdict is None:
            return record
        return {"verdict": {**asdict(self.verdict), "latency_s": round(self.verdict.latency_s, 3)}, **record}


@dataclass
class LayerOutcome:
    """What a layer produced and why: its outputs, all candidates and the aggregator's decision."""

    outputs: dict[str, Any]
    candidates: list[Candidate] = field(default_factory=list)
    decision: str = ""


class TeamRun:
    """One layer's team at work on one input: runs agents and records every call in the trace."""

    def __init__(
        self,
        layer: Layer,
        values: dict[str, Any],
        client: ModelClient,
        trace: Trace,
        descriptions: dict[str, str],
        choices: dict[str, list[str]] | None = None,
        types: dict[str, FieldSpec] | None = None,
    ) -> None:
        self.layer = layer
        self.values = values
        self.client = client
        self.trace = trace
        self.descriptions = descriptions
        self.choices = choices or {}
        self.types = types or {}

    async def ask(
        self,
        agent: Agent,
        values: dict[str, Any],
        *,
        inputs: list[str],
        outputs: list[str],
        sample: int = 0,
        temperature: float | None = None,
        purpose: str = "answer",
        descriptions: dict[str, str] | None = None,
        choices: dict[str, list[str]] | None = None,
    ) -> dict[str, Any]:
        """One framed, traced call of ``agent`` over the given fields.

        ``descriptions`` and ``choices`` add to the graph's for this call only: a team type's own
        fields (candidates, a review, a routing rule) are described without touching the run.

        Raises:
            ParseError: The reply did not fit the output fields (recorded in the trace).
            LMError: The model could not be reached (recorded in the trace).
        """
        # Imported here, not at the top: building a graph (`ann show`) must not load the model client.
        from ann.calls import ask_agent
        from ann.tools.loop import run_tools

        described = {**self.descriptions, **(descriptions or {})}
        if agent.tools:
            return await run_tools(
                self.client, self.trace, agent, values, inputs=inputs, outputs=outputs,
                descriptions=described, layer=self.layer.name,
            )  # fmt: skip
        return await ask_agent(
            self.client,
            self.trace,
            agent,
            values,
            inputs=inputs,
            outputs=outputs,
            descriptions=described,
            choices={**self.choices, **(choices or {})},
            types=self.types,
            layer=self.layer.name,
            purpose=purpose,
            sample=sample,
            temperature=temperature,
        )

    async def answer(self, agent: Agent, *, sample: int = 0) -> Candidate:
        """One member's answer to the layer's inputs; a parse failure becomes a failed candidate."""
        temperature = self.layer.temperature if sample == 0 else max(self.layer.temperature or 0.0, 0.7)
        try:
            outputs = await self.ask(
                agent,
                self.values,
                inputs=self.layer.inputs,
                outputs=self.layer.outputs,
                sample=sample,
                temperature=temperature,
            )
        except ParseError as exc:
            return Candidate(agent=agent.name, sample=sample, outputs=None, error=str(exc))
        return Candidate(agent=agent.name, sample=sample, outputs=outputs)

    async def answer_all(self) -> list[Candidate]:
        """Every member answers, ``samples`` times each, concurrently; order is agent then sample."""
        jobs = [self.answer(agent, sample=s) for agent in self.layer.agents for s in range(self.layer.samples)]
        return await gather_all(*jobs)


class LayerFailed(AnnError):
    """No member of a layer's team produced a usable answer."""


def usable(candidates: list[Candidate], layer: str) -> list[Candidate]:
    """The candidates that produced outputs; raises when there are none."""
    good = [c for c in candidates if c.outputs is not None]
    if not good:
        first = candidates[0].error if candidates else "no agents ran"
        raise LayerFailed(f"layer '{layer}': no usable answer from its team ({first})")
    return good


class Aggregator(ABC):
    """Runs a layer's team and combines its answers.

    Subclasses set ``name`` (the spec's ``aggregator:`` value), the team size they accept and
    the ``defaults`` of the options they take (``rounds``, ``rubric``, …), and implement ``run``.
    A team type's own agents (a judge, a reviewer) and texts (a rubric, a constitution) are
    params, so training rewrites them too. Register subclasses in ``ann.layers.registry``.
    """

    name: ClassVar[str]
    min_agents: ClassVar[int] = 1
    max_agents: ClassVar[int | None] = None
    defaults: ClassVar[dict[str, Any]] = {}
    # False when an edit that picks this team type (with no options) could not fill its options sensibly.
    proposable: ClassVar[bool] = True

    def __init__(self, **options: Any) -> None:
        unknown = sorted(set(options) - set(self.defaults))
        if unknown:
            takes = ", ".join(sorted(self.defaults)) or "no options"
            raise GraphError(f"aggregator '{self.name}' does not take {unknown}; it takes: {takes}")
        self.options = {**self.defaults, **options}
        self.agents: list[Agent] = []
        self.texts: dict[str, Param] = {}

    @classmethod
    def tool_names(cls, options: dict[str, Any]) -> list[str]:
        """The spec's tools this team type calls itself (not through its agents), given its options."""
        return []

    def named_parameters(self) -> Iterator[tuple[str, Param]]:
        """The team type's own params: its texts, then its agents' role and instructions."""
        yield from self.texts.items()
        for agent in self.agents:
            for name, param in agent.named_parameters():
                if name != "demos":
                    yield f"{agent.name}.{name}", param

    @abstractmethod
    async def run(self, team: TeamRun) -> LayerOutcome:
        """Run the team on ``team.values`` and return the layer's outputs."""
