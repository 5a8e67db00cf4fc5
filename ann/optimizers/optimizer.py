"""Optimizer: the torch.optim shape — param groups with defaults filled in, per-param state by name."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from typing import Any

from ann.errors import ConfigError
from ann.params import Param

ParamSpec = Param | tuple[str, Param] | dict[str, Any]


class Optimizer:
    """Base class: holds ``param_groups`` and ``state``; subclasses implement ``step``.

    Args:
        params: Params, ``(name, param)`` pairs (e.g. ``graph.named_parameters()``), or dicts
            ``{"params": [...], **overrides}`` for groups with their own settings.
        defaults: Settings every group gets unless it overrides them.
    """

    def __init__(self, params: Iterable[ParamSpec], defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: dict[str, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        items = list(params)
        if not items:
            raise ValueError("optimizer got an empty parameter list")
        groups = items if all(isinstance(item, dict) for item in items) else [{"params": items}]
        seen: set[str] = set()
        for group in groups:
            named = [self._named(item, index=len(seen) + i) for i, item in enumerate(group["params"])]
            for name, _ in named:
                if name in seen:
                    raise ValueError(f"param {name!r} appears in more than one group")
                seen.add(name)
            unknown = set(group) - set(self.defaults) - {"params"}
            if unknown:
                raise ValueError(f"unknown optimizer settings {sorted(unknown)}; known: {sorted(self.defaults)}")
            self.param_groups.append({**self.defaults, **group, "params": named})

    @staticmethod
    def _named(item: Param | tuple[str, Param], *, index: int) -> tuple[str, Param]:
        if isinstance(item, Param):
            return f"param{index}", item
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Param):
            return str(item[0]), item[1]
        raise TypeError(f"optimizer params must be Param or (name, Param), got {type(item).__name__}")

    def named_params(self) -> Iterator[tuple[str, Param, dict[str, Any]]]:
        for group in self.param_groups:
            for name, param in group["params"]:
                yield name, param, group

    def zero_grad(self) -> None:
        """Forget the gradients gathered since the last step."""
        for _, param, _ in self.named_params():
            param.grads.clear()

    def state_dict(self) -> dict[str, Any]:
        """Per-param state and group settings, keyed by param name; JSON-serialisable."""
        groups = [{**{k: v for k, v in g.items() if k != "params"}, "params": [n for n, _ in g["params"]]}
                  for g in self.param_groups]  # fmt: skip
        return {"state": copy.deepcopy(self.state), "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore ``state_dict()`` output; checks names and group sizes before changing anything.

        Raises:
            ConfigError: The dict does not fit this optimizer's params.
        """
        groups = state_dict.get("param_groups")
        if not isinstance(groups, list) or len(groups) != len(self.param_groups):
            raise ConfigError("optimizer state does not match: different number of param groups")
        for saved, group in zip(groups, self.param_groups, strict=True):
            if saved.get("params") != [name for name, _ in group["params"]]:
                raise ConfigError("optimizer state does not match: param names differ")
        state = state_dict.get("state")
        if not isinstance(state, dict):
            raise ConfigError("optimizer state does not match: 'state' must be a mapping")
        self.state = copy.deepcopy(state)
        for saved, group in zip(groups, self.param_groups, strict=True):
            group.update({k: v for k, v in saved.items() if k != "params"})
