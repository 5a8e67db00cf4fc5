"""TextualGradientDescent: rewrite each param from its value, description, gradients and momentum.

Per step and per param with gradients: the minibatch's feedback is deduplicated and, when long,
summarised into a few bullets (so prompt size stays bounded however big the minibatch); then a
rewriter model proposes new text in constrained JSON. A proposal that fails to parse, fails
``check_rewrite``, moves further than the learning rate allows or fails the overfitting guards
is retried once, then skipped — never applied. With ``momentum=k`` the last k updates of the
param and how each fared on validation go into the prompt, so it does not oscillate; with
``candidates=n`` there are n alternative proposals to screen.

``lr`` is a textual learning rate: the largest fraction of a text's words one step may change
(word-level edit distance over the current text's length; a short text may always change
``MIN_EDIT_WORDS`` words). Small rewriter models replace a whole prompt with a paraphrase of one
failure; a bounded, minimal edit keeps what already works.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ann.agent import Agent
from ann.calls import ask_agent
from ann.errors import LMError, ParseError
from ann.lm import ModelClient
from ann.optimizers.describe import clip
from ann.optimizers.guards import Guards, edit_fraction
from ann.optimizers.optimizer import Optimizer, ParamSpec
from ann.optimizers.prompts import (
    FEEDBACK_ITEM,
    KIND_RULES,
    NO_PAST_UPDATES,
    PAST_UPDATE,
    REWRITER_INSTRUCTIONS,
    REWRITER_LR_RULE,
    REWRITER_OUTPUT,
    REWRITER_ROLE,
    SUMMARISER_INSTRUCTIONS,
    SUMMARISER_OUTPUT,
    SUMMARISER_ROLE,
)
from ann.optimizers.rewrite_rules import check_rewrite
from ann.params import Param
from ann.render import placeholders, render
from ann.tasks import gather_all
from ann.trace import Trace

SUMMARISER = Agent("summariser", role=SUMMARISER_ROLE, instructions=SUMMARISER_INSTRUCTIONS)
REWRITER_INPUTS = ["task", "purpose", "current", "feedback", "past_attempts"]
MAX_GRAD_CHARS = 500
MIN_EDIT_WORDS = 12  # however small lr is, a step may change this many words (a one-line text must be able to grow)


def edit_allowance(old: str, lr: float) -> int:
    """How many words of ``old`` one step may change at learning rate ``lr``."""
    return max(MIN_EDIT_WORDS, round(lr * len(old.split())))


def edit_words(old: str, new: str) -> int:
    """Word-level edit distance between two texts."""
    return round(edit_fraction(old, new) * max(len(old.split()), 1))


def _kind_rule(kind: str, max_words: int) -> str:
    template = KIND_RULES.get(kind, KIND_RULES["text"])
    return render(template, max_words=max_words) if "max_words" in placeholders(template) else render(template)


@dataclass
class Change:
    """One param's proposed new value, and the feedback that produced it."""

    name: str
    old: str
    new: str
    feedback: str


@dataclass
class Proposal:
    """A set of changes applied together; ``rejected`` lists rewrites that were not applied and why."""

    changes: list[Change] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)


class TextualGradientDescent(Optimizer):
    """Textual gradient descent over params (torch.optim-shaped).

    Args:
        params: Params or ``(name, param)`` pairs, e.g. ``graph.named_parameters()``.
        lm: The optimizer's model.
        momentum: How many past updates of each param (with their validation outcome) the
            rewriter sees.
        candidates: Alternative proposals per step.
        max_words: Longest instructions a rewrite may produce.
        lr: Largest fraction of a text's words one step may change (1.0: unbounded).
        task: What the whole system is for, shown to the rewriter.
        summarise_over: Feedback longer than this many characters is summarised first.

    Example:
        >>> opt = TextualGradientDescent(graph.named_parameters(), lm=lm, momentum=2)
        >>> loss.backward(); opt.step(); opt.zero_grad()
    """

    def __init__(
        self,
        params: Iterable[ParamSpec],
        *,
        lm: ModelClient,
        momentum: int = 2,
        candidates: int = 1,
        max_words: int = 120,
        lr: float = 1.0,
        task: str = "",
        summarise_over: int = 1200,
    ) -> None:
        if not 0 < lr <= 1:
            raise ValueError(f"lr must be in (0, 1], got {lr}")
        if momentum < 0:
            raise ValueError(f"momentum must be >= 0, got {momentum}")
        if candidates < 1:
            raise ValueError(f"candidates must be >= 1, got {candidates}")
        super().__init__(params, {"momentum": momentum, "candidates": candidates, "max_words": max_words, "lr": lr})
        self.lm = lm
        self.task = task
        self.summarise_over = summarise_over
        self.trace = Trace(example_id="optimizer")

    async def _feedback(self, param: Param) -> str:
        unique: list[str] = []
        for grad in param.grads:
            text = clip(" ".join(grad.split()), MAX_GRAD_CHARS)
            if text and text not in unique:
                unique.append(text)
        joined = "\n".join(render(FEEDBACK_ITEM, text=text) for text in unique)
        if len(unique) < 2 or len(joined) <= self.summarise_over:
            return joined
        try:
            reply = await ask_agent(
                self.lm, self.trace, SUMMARISER, {"feedback": joined}, inputs=["feedback"], outputs=["merged"],
                descriptions={"merged": SUMMARISER_OUTPUT}, layer="step", purpose="summarise", json_reply=True,
            )  # fmt: skip
        except (ParseError, LMError):
            return clip(joined, self.summarise_over)
        return clip(str(reply["merged"]), self.summarise_over)

    def _past(self, name: str, limit: int) -> str:
        updates = self.state.get(name, {}).get("updates", [])[-limit:] if limit else []
        lines = [
            render(PAST_UPDATE, value=clip(u["new"], 200), before=u["before"], after=u["after"],
                   verdict="kept" if u["accepted"] else "reverted")
            for u in updates
        ]  # fmt: skip
        return "\n".join(lines) or NO_PAST_UPDATES

    async def _rewrite(
        self, name: str, param: Param, feedback: str, group: dict[str, Any], sample: int, guards: Guards | None
    ) -> tuple[str | None, list[str]]:
        rule = _kind_rule(param.kind, group["max_words"])
        allowance = edit_allowance(param.value, group["lr"]) if group["lr"] < 1 else None
        if allowance is not None:
            rule = f"{rule} {render(REWRITER_LR_RULE, words=allowance)}"
        rewriter = Agent("rewriter", role=REWRITER_ROLE, instructions=render(REWRITER_INSTRUCTIONS, kind_rule=rule))
        values = {
            "task": self.task or "(not described)",
            "purpose": param.description,
            "current": param.value or "(empty)",
            "feedback": feedback,
            "past_attempts": self._past(name, group["momentum"]),
        }
        reasons = []
        for attempt in range(2):
            try:
                reply = await ask_agent(
                    self.lm, self.trace, rewriter, values, inputs=REWRITER_INPUTS, outputs=["new_text"],
                    descriptions={"new_text": REWRITER_OUTPUT}, layer="step", purpose=f"rewrite:{name}",
                    sample=sample * 2 + attempt, temperature=None if sample == 0 and attempt == 0 else 0.8,
                    json_reply=True,
                )  # fmt: skip
            except ParseError as exc:
                reasons.append(f"unparseable: {exc}")
                continue
            except LMError as exc:
                reasons.append(f"the model call failed: {exc}")
                continue
            new = str(reply["new_text"]).strip()
            tried = [u["new"] for u in self.state.get(name, {}).get("updates", []) if not u["accepted"]]
            reason = check_rewrite(param.kind, param.value, new, max_words=group["max_words"], tried=tried)
            if reason is None and allowance is not None and edit_words(param.value, new) > allowance:
                reason = f"too big a step: {edit_words(param.value, new)} words changed (lr allows {allowance})"
            if reason is None and guards is not None:
                reason = await guards.check(new, allowed=f"{self.task}\n{param.description}\n{param.value}")
            if reason is None:
                return new, reasons
            reasons.append(f"{reason}: {clip(new, 160)!r}")
        return None, reasons

    async def propose(self, *, guards: Guards | None = None) -> list[Proposal]:
        """Alternative proposals (``candidates`` of them) for every trainable param with gradients.

        Args:
            guards: Overfitting guards every rewrite must pass (training-set copies, identifiers,
                paraphrases).
        """
        todo = [(n, p, g) for n, p, g in self.named_params() if p.trainable and p.grads]
        feedbacks = await gather_all(*(self._feedback(p) for _, p, _ in todo))
        count = max((g["candidates"] for _, _, g in todo), default=1)
        proposals = [Proposal() for _ in range(count)]
        jobs = [
            (index, name, param, feedback, self._rewrite(name, param, feedback, group, index, guards))
            for (name, param, group), feedback in zip(todo, feedbacks, strict=True)
            for index in range(group["candidates"])
        ]
        results = await gather_all(*(job[-1] for job in jobs))
        for (index, name, param, feedback, _), (new, reasons) in zip(jobs, results, strict=True):
            proposals[index].rejected.extend({"param": name, "reason": reason} for reason in reasons)
            if new is not None:
                proposals[index].changes.append(Change(name, param.value, new, feedback))
        return proposals

    def apply(self, proposal: Proposal) -> None:
        """Set the proposed values."""
        params = {name: param for name, param, _ in self.named_params()}
        for change in proposal.changes:
            params[change.name].value = change.new

    def revert(self, proposal: Proposal) -> None:
        """Put back the values a proposal replaced."""
        params = {name: param for name, param, _ in self.named_params()}
        for change in proposal.changes:
            params[change.name].value = change.old

    def record(self, proposal: Proposal, *, before: float, after: float, accepted: bool) -> None:
        """Remember how a proposal fared on validation (the momentum memory)."""
        for change in proposal.changes:
            updates = self.state.setdefault(change.name, {}).setdefault("updates", [])
            updates.append({"new": change.new, "before": before, "after": after, "accepted": accepted})
            keep = max(g["momentum"] for n, _, g in self.named_params() if n == change.name) or 1
            del updates[:-keep]

    async def astep(self, *, guards: Guards | None = None) -> Proposal:
        """Propose and apply the first proposal; returns it (so it can be reverted)."""
        proposal = (await self.propose(guards=guards))[0]
        self.apply(proposal)
        return proposal

    def step(self, *, guards: Guards | None = None) -> Proposal:
        """Synchronous ``astep``."""
        return asyncio.run(self.astep(guards=guards))
