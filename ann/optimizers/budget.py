"""Budget: caps on calls, money and time that stop a training run cleanly, keeping the best so far."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ann.errors import BudgetExceeded
from ann.lm import ModelClient
from ann.trace import Usage

__all__ = ["Budget", "BudgetExceeded"]


@dataclass
class Budget:
    """Caps over every model call of a run (forward, loss, backward, rewrites, validation).

    Args:
        max_calls: Most model calls, cache hits included: a warm re-run of a capped run then replays
            exactly the calls of the cold one and stops at the same point.
        max_cost: Most US dollars, as LiteLLM prices the calls (unknown prices count as 0).
        max_time: Most seconds of wall time.
        spent_before: Calls, cost and seconds spent before a resume.
    """

    max_calls: int | None = None
    max_cost: float | None = None
    max_time: float | None = None
    clients: list[ModelClient] = field(default_factory=list)
    spent_before: Usage = field(default_factory=Usage)
    seconds_before: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        for name in ("max_calls", "max_cost", "max_time"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be > 0, got {value}")

    def _distinct_clients(self) -> list[ModelClient]:
        """The forward and optimizer clients are often one object; count it once."""
        return list({id(c): c for c in self.clients}.values())

    def usage(self) -> Usage:
        """Everything spent so far, this session and before a resume; one client counted once."""
        total = Usage()
        total.add(self.spent_before)
        for client in self._distinct_clients():
            total.add(client.usage)
        return total

    def elapsed(self) -> float:
        return self.seconds_before + time.monotonic() - self.started

    def check(self) -> None:
        """Raise BudgetExceeded when any cap is reached (calls in flight count as spent)."""
        spent = self.usage()
        spent.calls += sum(c.pending for c in self._distinct_clients())
        calls = spent.calls + spent.cache_hits
        if self.max_calls is not None and calls >= self.max_calls:
            raise BudgetExceeded(f"call budget reached ({calls} of {self.max_calls} calls)")
        if self.max_cost is not None and spent.cost >= self.max_cost:
            raise BudgetExceeded(f"cost budget reached (${spent.cost:.4f} of ${self.max_cost:.4f})")
        if self.max_time is not None and self.elapsed() >= self.max_time:
            raise BudgetExceeded(f"time budget reached ({self.elapsed():.0f} s of {self.max_time:.0f} s)")
