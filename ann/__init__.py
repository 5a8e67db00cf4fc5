"""ann: build, run and train Agentic Neural Networks — multi-agent LLM graphs.

Importing ann has no side effects: no directories, no log files, no model loaded. It is also
cheap: each public name below is imported from its module on first use (PEP 562), so a command
that only reads a spec never pays for the engine, the optimizers or a model library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

# Bound now, not lazily: `ann.connect` is also a submodule, and importing that submodule first
# would make `ann.connect` the module. ann.connect imports the model machinery only when called.
from ann.connect import connect
from ann.errors import (
    AnnError,
    ConfigError,
    DatasetError,
    GraphError,
    LMError,
    ParseError,
    RunError,
    TooManyFailures,
)

if TYPE_CHECKING:  # what type checkers and editors see; at run time, lazy_loader below
    from ann.agent import Agent
    from ann.build import graph_from_spec
    from ann.datasets.example import Example
    from ann.datasets.metric_result import MetricResult
    from ann.engine import Result
    from ann.evaluate import EvalReport, aevaluate
    from ann.graph import Graph
    from ann.interop import from_dspy
    from ann.layers.layer import Layer
    from ann.lm import ModelClient, ModelConfig
    from ann.params import Param
    from ann.spec import Spec, load_spec
    from ann.trace import Trace, Usage

__version__ = "0.1.0"

# Each lazily imported public name, by the module that defines it; mirrors the imports above.
__getattr__, _, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "agent": ["Agent"],
        "build": ["graph_from_spec"],
        "datasets.example": ["Example"],
        "datasets.metric_result": ["MetricResult"],
        "engine": ["Result"],
        "evaluate": ["EvalReport", "aevaluate"],
        "graph": ["Graph"],
        "interop": ["from_dspy"],
        "layers.layer": ["Layer"],
        "lm": ["ModelClient", "ModelConfig"],
        "params": ["Param"],
        "spec": ["Spec", "load_spec"],
        "trace": ["Trace", "Usage"],
    },
)

__all__ = [
    "Agent",
    "AnnError",
    "ConfigError",
    "DatasetError",
    "EvalReport",
    "Example",
    "Graph",
    "GraphError",
    "LMError",
    "Layer",
    "MetricResult",
    "ModelClient",
    "ModelConfig",
    "Param",
    "ParseError",
    "Result",
    "RunError",
    "Spec",
    "TooManyFailures",
    "Trace",
    "Usage",
    "aevaluate",
    "connect",
    "from_dspy",
    "graph_from_spec",
    "load_spec",
    "__version__",
]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
