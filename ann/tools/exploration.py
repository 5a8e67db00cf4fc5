"""The record of a DRAFT exploration: what was tried on a tool and how its documentation changed.

Kept in bundles and in `ann tools refine` output, so a user can see why a doc says what it says.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Episode(BaseModel):
    """One DRAFT episode: the probe, what the tool did, the analysis, and the doc it led to."""

    model_config = ConfigDict(extra="forbid")

    args: dict[str, Any]
    result: str
    ok: bool
    regenerations: int = Field(description="times the probe was asked again for being too like an earlier one")
    suggestions: str
    doc: str
    delta: float = Field(description="(BLEU + cosine) / 2 of the previous doc and this one; above tau means converged")


class DraftRun(BaseModel):
    """A tool's exploration log and why it stopped."""

    model_config = ConfigDict(extra="forbid")

    tool: str
    initial_doc: str
    episodes: list[Episode] = Field(default_factory=list)
    stopped: str = ""

    @property
    def final_doc(self) -> str:
        return self.episodes[-1].doc if self.episodes else self.initial_doc
