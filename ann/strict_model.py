"""The base of every model users write by hand (specs, search spaces): unknown keys are errors."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Unknown keys are errors: a typo in a spec must not be silently ignored.

    Validators are built on first use, not at import (`defer_build`): `ann show` and the other
    commands that call no model import every model but validate only a few.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)
