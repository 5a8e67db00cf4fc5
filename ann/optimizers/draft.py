"""DRAFT: refine a tool's documentation by exploring the tool for real (Qu et al., ICLR 2025).

Per episode: an explorer proposes a call that probes behaviour the doc does not explain — it
must differ from every earlier probe (embedding cosine similarity below ``phi``, else it is
asked again, at most 3 times); the tool is called for real; an analyzer compares the doc with
the result; a rewriter writes the new doc. The loop stops early when the doc has converged:
Δ = (BLEU(old, new) + cosine(old, new)) / 2 > ``tau``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from ann.agent import Agent
from ann.calls import ask_agent, traced_call
from ann.errors import ParseError
from ann.lm import ModelClient, json_response_format
from ann.optimizers.describe import clip
from ann.optimizers.prompts import (
    ANALYZER_INSTRUCTIONS,
    ANALYZER_ROLE,
    DRAFT_REWRITER_INSTRUCTIONS,
    DRAFT_REWRITER_ROLE,
    EXPLORATION_LINE,
    EXPLORER_INSTRUCTIONS,
    EXPLORER_ROLE,
    EXPLORER_TOO_SIMILAR,
)
from ann.render import render
from ann.replies import parse_reply
from ann.tools.exploration import DraftRun, Episode
from ann.tools.tool import Tool
from ann.trace import Trace

Embed = Callable[[Sequence[str]], Awaitable[list[list[float]]]]
MAX_REGENERATIONS = 3
REGENERATION_TEMPERATURE = 0.8  # asked again, the explorer samples: at temperature 0 it would repeat itself


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def bleu(old: str, new: str) -> float:
    """Sentence BLEU of the new doc against the old one, in [0, 1] (sacrebleu)."""
    import sacrebleu  # a tenth of a second to import, and only DRAFT needs it

    return sacrebleu.sentence_bleu(new, [old]).score / 100


async def refine_tool(
    tool: Tool,
    lm: ModelClient,
    embed: Embed,
    *,
    episodes: int = 5,
    phi: float = 0.9,
    tau: float = 0.75,
    max_words: int = 150,
    trace: Trace | None = None,
    on_episode: Callable[[DraftRun, Episode], None] | None = None,
    allow_unsafe: bool = False,
) -> DraftRun:
    """Run DRAFT on one tool; its ``doc`` param holds the refined documentation afterwards.

    A tool that is not ``safe`` (an HTTP operation other than GET or HEAD) is not called with
    made-up arguments unless ``allow_unsafe``: its run ends at once, saying why, with no episodes.
    """
    trace = trace or Trace(example_id=f"draft:{tool.name}")
    run = DraftRun(tool=tool.name, initial_doc=tool.doc.value)
    if not tool.safe and not allow_unsafe:
        run.stopped = (f"not explored: {tool.method} is not a safe method (GET, HEAD); "
                       f"--draft-allow-unsafe {tool.name} lets DRAFT call it")  # fmt: skip
        return run
    explorer = Agent("explorer", role=EXPLORER_ROLE, instructions=EXPLORER_INSTRUCTIONS)
    analyzer = Agent("analyzer", role=ANALYZER_ROLE, instructions=ANALYZER_INSTRUCTIONS)
    rewriter = Agent("rewriter", role=DRAFT_REWRITER_ROLE,
                     instructions=render(DRAFT_REWRITER_INSTRUCTIONS, max_words=max_words))  # fmt: skip
    probes: list[str] = []
    probe_vectors: list[list[float]] = []
    for number in range(1, episodes + 1):
        args, regenerations = await _explore(tool, lm, embed, explorer, run, probes, probe_vectors, phi, trace, number)
        if args is None:
            run.stopped = f"episode {number}: the explorer gave no usable call"
            break
        result = await tool.call(args)
        values = {"tool": tool.describe(), "call": json.dumps(args), "result": result.observation()}
        common = {"layer": "draft", "json_reply": True}
        try:
            analysis = await ask_agent(
                lm, trace, analyzer, values, inputs=["tool", "call", "result"], outputs=["suggestions"],
                purpose="analyze", **common,
            )  # fmt: skip
            # The rewriter sees the evidence itself, not only the analysis: a small model's analysis
            # may drop the very detail (a list of valid codes) the doc needs.
            suggestions = str(analysis["suggestions"])
            values = {**values, "documentation": tool.doc.value or "(none)", "suggestions": suggestions}
            rewrite = await ask_agent(
                lm, trace, rewriter, values, inputs=["documentation", "call", "result", "suggestions"],
                outputs=["documentation"], purpose="rewrite", **common,
            )  # fmt: skip
        except ParseError:
            run.stopped = f"episode {number}: the analyzer or rewriter reply could not be parsed"
            break
        old, new = tool.doc.value, str(rewrite["documentation"]).strip() or tool.doc.value
        old_vector, new_vector = await embed([old or " ", new])
        delta = (bleu(old, new) + cosine(old_vector, new_vector)) / 2
        tool.doc.value = new
        episode = Episode(args=args, result=result.output, ok=result.ok, regenerations=regenerations,
                          suggestions=suggestions, doc=new, delta=delta)  # fmt: skip
        run.episodes.append(episode)
        if on_episode is not None:
            on_episode(run, episode)
        if delta > tau:
            run.stopped = f"converged at episode {number} (delta {delta:.2f} > tau {tau})"
            break
    else:
        run.stopped = f"ran all {episodes} episodes"
    return run


async def _explore(
    tool: Tool, lm: ModelClient, embed: Embed, explorer: Agent, run: DraftRun, probes: list[str],
    vectors: list[list[float]], phi: float, trace: Trace, number: int,
) -> tuple[dict[str, Any] | None, int]:  # fmt: skip
    """A probe that differs from every earlier one (cosine < phi), regenerated at most 3 times."""
    history = "\n".join(render(EXPLORATION_LINE, args=json.dumps(e.args), result=clip(e.result, 200))
                        for e in run.episodes) or "(none)"  # fmt: skip
    from ann.adapter import AnnAdapter  # it imports dspy (seconds): only when a model is called

    note = ""
    for regenerations in range(MAX_REGENERATIONS + 1):
        values = {"tool": tool.describe(), "earlier_explorations": history + note}
        signature = explorer.signature(["tool", "earlier_explorations"], ["arguments"])
        messages = AnnAdapter(json_reply=True).format(signature, [], values)
        schema = {"type": "object", "properties": {"arguments": tool.schema()}, "required": ["arguments"]}
        try:
            reply = await traced_call(
                lm, trace, layer="draft", agent="explorer", purpose=f"explore {number}", inputs=values,
                messages=messages, parse=lambda text: parse_reply(["arguments"], text, json_reply=True),
                sample=regenerations, temperature=REGENERATION_TEMPERATURE if regenerations else None,
                response_format=json_response_format(schema, lm.config.schema_style),
            )  # fmt: skip
            args = json.loads(reply["arguments"])
        except (ParseError, json.JSONDecodeError):
            continue
        if not isinstance(args, dict):
            continue
        probe = json.dumps(args, sort_keys=True)
        (vector,) = await embed([probe])
        too_close = [p for p, v in zip(probes, vectors, strict=True) if cosine(vector, v) >= phi]
        if not too_close or regenerations == MAX_REGENERATIONS:
            probes.append(probe)
            vectors.append(vector)
            return args, regenerations
        note = "\n" + render(EXPLORER_TOO_SIMILAR, query=too_close[0])
    return None, MAX_REGENERATIONS
