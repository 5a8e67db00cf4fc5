"""DRAFT proposer: refine every trainable tool doc by exploring the tool, as one candidate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ann.embed import Embedder, LocalEmbedder
from ann.graph import Graph
from ann.lm import ModelClient
from ann.optimizers.draft import refine_tool
from ann.optimizers.guards import Guards
from ann.optimizers.proposers.candidate import Candidate, Proposed, change_records
from ann.optimizers.tgd import Change, Proposal
from ann.tools.exploration import DraftRun
from ann.trace import Trace


@dataclass
class DraftSettings:
    """How ``ANNOptimizer(draft=...)`` explores the graph's tools before training (see ``refine_tool``)."""

    episodes: int = 5
    phi: float = 0.9
    tau: float = 0.75
    embedder: Embedder = field(default_factory=LocalEmbedder)
    allow_unsafe: frozenset[str] = frozenset()  # tools DRAFT may call though they are not safe (POST, DELETE…)

    def knobs(self) -> dict[str, Any]:
        """The settings ``refine_tool`` takes (and a log records): all but the embedder."""
        return {"episodes": self.episodes, "phi": self.phi, "tau": self.tau}


class DraftProposer:
    """Explores each tool with the optimizer's model and proposes the refined docs together."""

    def __init__(
        self, settings: DraftSettings, *, lm: ModelClient, guards: Guards | None, on_phase: Callable[[str], None],
        before_tool: Callable[[], None],
    ) -> None:  # fmt: skip
        self.settings = settings
        self.lm = lm
        self.guards = guards
        self.on_phase = on_phase
        self.before_tool = before_tool  # the budget check
        self.runs: list[DraftRun] = []
        self.trace = Trace(example_id="draft")

    async def propose(self, graph: Graph) -> Proposed:
        names = {id(param): name for name, param in graph.named_parameters()}
        proposal, rejected = Proposal(), []
        for tool in (tool for tool in graph.tools() if tool.doc.trainable):
            self.before_tool()
            self.on_phase(f"DRAFT exploring {tool.name}")
            before = tool.doc.value
            log = await refine_tool(tool, self.lm, self.settings.embedder, **self.settings.knobs(), trace=self.trace,
                                    allow_unsafe=tool.name in self.settings.allow_unsafe)  # fmt: skip
            self.runs.append(log)
            new, tool.doc.value = tool.doc.value, before  # applied later, with the others, if the gate keeps them
            if new == before:
                continue
            # What the tool really did may be named: the doc learned it by calling the tool, not from the data.
            seen = f"{tool.name}\n{before}\n{log.model_dump_json()}"
            reason = None if self.guards is None else await self.guards.check(new, allowed=seen)
            if reason is not None:
                rejected.append({"param": names[id(tool.doc)], "reason": reason})
                continue
            proposal.changes.append(Change(names[id(tool.doc)], before, new, log.stopped))
        if not proposal.changes:
            return Proposed(None, "draft: no tool doc changed", rejected)
        return Proposed(Candidate("draft", "draft: tool docs", proposal, changes=change_records(proposal)), "",
                        rejected)  # fmt: skip
