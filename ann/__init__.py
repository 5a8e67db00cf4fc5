"""ann: build, run and train Agentic Neural Networks — multi-agent LLM graphs.

Importing ann has no side effects: no directories, no log files, no model loaded.
"""

from ann.agent import Agent
from ann.build import graph_from_spec
from ann.connect import connect
from ann.datasets.example import Example
from ann.datasets.metric_result import MetricResult
from ann.engine import Result
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
from ann.evaluate import EvalReport, aevaluate
from ann.graph import Graph
from ann.interop import from_dspy
from ann.layers.layer import Layer
from ann.lm import ModelClient, ModelConfig
from ann.params import Param
from ann.spec import Spec, load_spec
from ann.trace import Trace, Usage

__version__ = "0.1.0"

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
