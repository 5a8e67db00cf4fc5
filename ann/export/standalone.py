"""The `python` export: one file that runs the trained graph with only httpx installed.

The file is ``ann/export/runtime.py`` with the bundle's calls (from the `prompts` export) filled
in and ann's own reply parser and vote counter copied in as source, so the standalone file
parses and votes exactly as ann does. Team types other than ``single`` and ``vote`` are
approximated by a vote of their members, and the file says so at the top.
"""

from __future__ import annotations

import ast
import inspect
import pprint
import re
from pathlib import Path
from typing import Any

from ann import errors, field_types, replies
from ann.datasets import normalize, numeric_metric
from ann.errors import ConfigError
from ann.export.chat import agent_calls
from ann.graph import Graph
from ann.layers import vote
from ann.spec import Spec

EXACT_TEAM_TYPES = ("single", "vote")
_RUNTIME = Path(__file__).with_name("runtime.py")
_SPLICE = re.compile(r"# BEGIN ann source\n.*?# END ann source\n", re.DOTALL)
_GRAPH = "GRAPH: dict[str, Any] = {}\n"


def _pattern(name: str, compiled: re.Pattern[str]) -> str:
    return f"{name} = re.compile({compiled.pattern!r}, {int(compiled.flags)})"


def ann_source() -> str:
    """The ann functions the runner needs, as source, with the constants they read."""
    parts = [
        "import datetime\nimport math\nimport unicodedata",
        inspect.getsource(errors.AnnError),
        inspect.getsource(errors.ParseError),
        "\n".join(
            f"{name} = {getattr(normalize, name)!r}" for name in ("_QUOTES", "_TRAILING", "_BRACKETS", "_MAX_ROUNDS")
        ),
        inspect.getsource(normalize.normalize_answer),
        _pattern("_NUMBER", numeric_metric._NUMBER),
        inspect.getsource(numeric_metric.extract_last_number),
        inspect.getsource(vote._number_key),
        inspect.getsource(vote.vote_keys),
        _pattern("_FENCE", replies._FENCE),
        inspect.getsource(replies.parse_json_object),
        inspect.getsource(field_types.typed_value),
        inspect.getsource(replies.parse_reply),
    ]
    return (
        "# BEGIN ann source (copied from ann, so replies parse and votes count as in ann)\n"
        + "\n\n".join(part.rstrip() for part in parts)
        + "\n\n\n# END ann source\n"
    )


def graph_data(graph: Graph, spec: Spec) -> dict[str, Any]:
    """The layers in DAG order with each member's exported call.

    Raises:
        ConfigError: An agent uses tools, which the standalone file cannot run.
    """
    calls = agent_calls(graph, spec)
    with_tools = [f"{call.layer}.{call.agent}" for call in calls if call.reply.format == "tool_loop"]
    if with_tools:
        raise ConfigError(f"the python export cannot run tool agents ({', '.join(with_tools)}); "
                          "export --format prompts instead")  # fmt: skip
    layers = []
    for name in graph.order:
        layer = graph.layers[name]
        layers.append({
            "name": name, "team_type": layer.aggregator.value, "samples": layer.samples,
            "temperature": layer.temperature, "inputs": layer.inputs, "outputs": layer.outputs,
            "calls": [
                {"agent": c.agent, "messages": c.messages, "reply": vars(c.reply), "request": c.request,
                 "response_format": c.response_format}
                for c in calls if c.layer == name
            ],
        })  # fmt: skip
    return {"name": graph.name, "inputs": graph.inputs, "outputs": graph.outputs, "layers": layers}


def _header(graph: Graph, version: str) -> str:
    approximated = [f"{name} ({graph.layers[name].aggregator.value})" for name in graph.order
                    if graph.layers[name].aggregator.value not in EXACT_TEAM_TYPES]  # fmt: skip
    team_types = (
        "Team types: `single` and `vote` run as in ann. Approximated: " + ", ".join(approximated) + " — only their "
        "members answer and the majority wins; ann's further calls (a judge, a synthesis, debate rounds, reviews, "
        "routing) are not made."
        if approximated
        else "Team types: every layer is `single` or `vote`, and runs as in ann."
    )
    name = graph.name.replace('"""', "'''").replace("\\", "/")
    return f'''"""Run the trained ann graph '{name}' with only httpx installed (exported from an ann {version} bundle).

    pip install httpx
    python THIS_FILE.py --api-base http://127.0.0.1:8080/v1 --model NAME --input '{{"{graph.inputs[0]}": "..."}}'

{team_types}
Layers run one after another in DAG order; each member's call sends ann's exact messages. Replies
are parsed and votes counted by ann's own functions, copied below. No retries, no cache, no tools.
Prints the graph's outputs as one JSON object.
"""
'''


def export_python(graph: Graph, spec: Spec, *, version: str) -> str:
    """The standalone runner's source text.

    Raises:
        ConfigError: The graph has tool agents.
    """
    data = graph_data(graph, spec)
    source = _RUNTIME.read_text(encoding="utf-8")
    docstring_end = ast.parse(source).body[0].end_lineno or 0
    body = "".join(source.splitlines(keepends=True)[docstring_end:])
    body = _SPLICE.sub(lambda _match: ann_source(), body, count=1)
    body = body.replace(_GRAPH, "GRAPH: dict[str, Any] = " + pprint.pformat(data, width=116, sort_dicts=False) + "\n")
    return _header(graph, version) + body
