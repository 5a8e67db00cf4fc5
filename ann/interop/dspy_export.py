"""export_dspy: a trained graph as one standalone Python file defining a ``dspy.Module``.

The file rebuilds each agent as a ``dspy.Predict`` (a ``dspy.ChainOfThought`` when its layer's
first output is ``reasoning``) with the trained instructions and demos, and frames every call
with ann's ``AnnAdapter``, so the model sees the messages ann sends: the framing that makes a
trained prompt work is not lost on the way out (dspy#8042). Only text is generated here; neither
DSPy nor the graph machinery is imported.
"""

from __future__ import annotations

import json
import keyword
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ann.errors import ConfigError
from ann.field_types import anchored
from ann.prompts import AGENT_ROLE
from ann.render import render

if TYPE_CHECKING:
    from ann.bundle import Bundle
    from ann.graph import Graph
    from ann.spec import FieldSpec

EXPORTABLE = ("single", "vote")
_SOURCE = {"text": "str", "number": "float", "integer": "int", "boolean": "bool", "date": "datetime.date"}
REASONING = "reasoning"

FILE = '''"""{title}

Exported by ann {version} (`ann export --format dspy`). One dspy.Predict per agent, each with its
trained instructions and demos; every call is framed by ann's AnnAdapter, so the model sees the
same messages `ann run` sends. Needs dspy and ann installed.

Team types: `single` is reproduced exactly. `vote` is approximated: every agent answers `samples`
times and ann's normalised majority picks the answer, as in ann, but the samples after the first
are drawn by DSPy (one rollout_id each) rather than by ann's client, so on a sampling model they
are other draws. Other team types and tools are not exported. Replies are parsed as ann parses
them, but not constrained by a JSON Schema.

Usage:
    import dspy
    dspy.configure(lm=dspy.LM("openai/gpt-4o-mini"))
    program = Program()
    print(program({example}))
"""

from __future__ import annotations

{stdlib}from typing import {typing}

import dspy
from dspy.utils.exceptions import AdapterParseError
{third_party}
from ann.adapter import AnnAdapter
from ann.errors import ParseError
from ann.layers.base import Candidate
from ann.layers.vote import majority

INPUTS = {inputs}
OUTPUTS = {outputs}
{signatures}

class Program(dspy.Module):
    """{name}: {layers}."""

    def __init__(self) -> None:
        super().__init__()
        self.adapter = AnnAdapter()
        self.agents = {{
{agents}
        }}

    def forward(self, **inputs: Any) -> dspy.Prediction:
        missing = [name for name in INPUTS if name not in inputs]
        if missing:
            raise TypeError(f"missing inputs {{missing}}")
        values = dict(inputs)
        with dspy.context(adapter=self.adapter):  # ann's framing, whatever adapter is configured
{steps}
        return dspy.Prediction(**{{name: values[name] for name in OUTPUTS}})

    def team(self, layer: str) -> list[dspy.Module]:
        """The agents of one layer, in the layer's order."""
        return [agent for key, agent in self.agents.items() if key.split(".")[0] == layer]


def ask(predictor: dspy.Module, values: dict[str, Any], inputs: list[str], *, sample: int = 0,
        temperature: float | None = None) -> dict[str, Any]:
    """One agent's answer as a dict of its output fields."""
    config: dict[str, Any] = {{}} if temperature is None else {{"temperature": temperature}}
    if sample:
        config["rollout_id"] = sample  # a distinct sample, not a cached repeat
    return dict(predictor(**{{name: values[name] for name in inputs}}, config=config).items())


def vote(predictors: list[dspy.Module], values: dict[str, Any], inputs: list[str], outputs: list[str], *,
         samples: int, temperature: float | None) -> dict[str, Any]:
    """Every agent answers `samples` times; ann's normalised majority on the first output wins."""
    candidates = []
    for number, predictor in enumerate(predictors):
        for sample in range(samples):
            heat = temperature if sample == 0 else max(temperature or 0.0, 0.7)
            try:
                answer = ask(predictor, values, inputs, sample=sample, temperature=heat)
            except (ParseError, AdapterParseError) as exc:  # a reply that does not parse loses its vote, as in ann
                candidates.append(Candidate(agent=str(number), sample=sample, outputs=None, error=str(exc)))
                continue
            candidates.append(Candidate(agent=str(number), sample=sample, outputs=answer))
    good = [candidate for candidate in candidates if candidate.outputs is not None]
    if not good:
        raise ParseError(f"no usable answer from the team ({{candidates[0].error}})", raw="")
    winner, _ = majority(good, outputs[0])
    return dict(winner.outputs or {{}})
'''

SIGNATURE = """
{constant} = dspy.make_signature(
    {{
{fields}
    }},
    {instructions},
)
DEMOS_{constant} = {demos}
"""

FIELD = "        {name}: ({annotation}, dspy.{kind}(desc={desc})),"
AGENT = "            {key}: {maker}({constant}, DEMOS_{constant}),"
SINGLE_STEP = "            values.update(ask(self.agents[{key}], values, {inputs}{temperature}))"
VOTE_STEP = (
    "            values.update(vote(self.team({layer}), values, {inputs}, {outputs},\n"
    "                               samples={samples}, temperature={temperature}))"
)
MAKERS = '''

def predict(signature: type[dspy.Signature], demos: list[dict[str, str]]) -> dspy.Predict:
    predictor = dspy.Predict(signature)
    predictor.demos = [dspy.Example(**demo) for demo in demos]
    return predictor


def chain_of_thought(signature: type[dspy.Signature], demos: list[dict[str, str]]) -> dspy.ChainOfThought:
    """DSPy adds the `reasoning` output before the signature's outputs, as the ann layer has it."""
    module = dspy.ChainOfThought(signature)
    module.predict.demos = [dspy.Example(**demo) for demo in demos]
    return module
'''


def export_dspy(source: Bundle | Graph | str | Path) -> str:
    """A standalone Python file defining ``Program``, a ``dspy.Module`` that runs the graph with DSPy.

    Args:
        source: A bundle (as loaded by ``ann.bundle.load_bundle``), its path, or a graph.

    Returns:
        The file's text.

    Raises:
        ConfigError: A layer's team type is not ``single`` or ``vote``, or an agent uses tools;
            the message names the layer.

    Example:
        >>> text = export_dspy(load_bundle("runs/demo/bundle.json"))
        >>> Path("program.py").write_text(text)
    """
    from ann.bundle import Bundle, load_bundle

    if isinstance(source, str | Path):
        source = load_bundle(source)
    if not isinstance(source, Bundle):
        source = _bundle_of(source)
    return _render(source)


def _bundle_of(graph: Graph) -> Bundle:
    from ann.bundle import make_bundle

    for layer in graph.layers.values():
        _check_layer(layer.name, layer.aggregator.value, [a.name for a in layer.agents if a.tools])
    return make_bundle(graph)


def _check_layer(layer: str, aggregator: str, with_tools: list[str]) -> None:
    if aggregator not in EXPORTABLE:
        raise ConfigError(f"layer '{layer}': team type '{aggregator}' has no DSPy export "
                          f"(exported: {', '.join(EXPORTABLE)}); try `ann export --format python`")  # fmt: skip
    if with_tools:
        raise ConfigError(f"layer '{layer}': agent '{with_tools[0]}' uses tools, which the DSPy export leaves out")


def task_text(role: str, instructions: str) -> str:
    """An agent's system text from its role and instructions, as ``ann.agent.Agent.task_text`` makes it."""
    role = role.strip().rstrip(".")
    parts = [render(AGENT_ROLE, role=role)] if role else []
    if instructions.strip():
        parts.append(instructions.strip())
    return "\n\n".join(parts)


def _render(bundle: Bundle) -> str:
    from ann import __version__

    spec = bundle.spec
    if spec.graph is None:
        raise ConfigError("export: the bundle has no graph")
    descriptions, choices, types = spec.descriptions(), spec.choices(), spec.types()
    patterned = any(f.pattern is not None for f in types.values())
    signatures, agents, steps = [], [], []
    for layer in _ordered(spec.inputs, spec.graph.layers):  # the order forward() runs them in
        _check_layer(layer.name, layer.aggregator, [a.name for a in layer.agents if a.tools])
        keys = []
        for agent in layer.agents:
            prefix = f"{layer.name}.{agent.name}"
            text = task_text(_value(bundle, f"{prefix}.role", agent.role),
                             _value(bundle, f"{prefix}.instructions", agent.instructions))  # fmt: skip
            demos = _demos(_value(bundle, f"{prefix}.demos", "[]"))
            constant = f"{layer.name}__{agent.name}".upper()
            cot = _chain_of_thought(layer.outputs, descriptions)
            outputs = layer.outputs[1:] if cot else layer.outputs
            fields = [_field(n, "InputField", descriptions, "str") for n in layer.inputs]
            fields += [_field(n, "OutputField", descriptions, _annotation(n, choices, types)) for n in outputs]
            signatures.append(render(SIGNATURE, constant=constant, fields="\n".join(fields),
                                     instructions=repr(text or " "), demos=_literal(demos)))  # fmt: skip
            maker = "chain_of_thought" if cot else "predict"
            agents.append(render(AGENT, key=repr(prefix), maker=maker, constant=constant))
            keys.append(repr(prefix))
        if layer.aggregator == "single":
            heat = "" if layer.temperature is None else f", temperature={layer.temperature!r}"
            steps.append(render(SINGLE_STEP, key=keys[0], inputs=repr(layer.inputs), temperature=heat))
        else:
            steps.append(render(VOTE_STEP, layer=repr(layer.name),
                                inputs=repr(layer.inputs), outputs=repr(layer.outputs),
                                samples=layer.samples, temperature=repr(layer.temperature)))  # fmt: skip
    order = _ordered(spec.inputs, spec.graph.layers)
    example = ", ".join(f"{name}=..." for name in spec.inputs)
    if any(keyword.iskeyword(name) for name in spec.inputs):  # `class=...` would not parse
        example = "**{" + ", ".join(f"{name!r}: ..." for name in spec.inputs) + "}"
    text = render(
        FILE,
        title=f"{_safe(spec.name)}, a trained ann graph exported as a DSPy program.",
        version=__version__,
        stdlib="import datetime\n" if any("date" in (f.type, f.items) for f in types.values()) else "",
        typing=", ".join(
            name for name, used in [("Annotated", patterned), ("Any", True), ("Literal", bool(choices))] if used
        ),
        third_party="from pydantic import StringConstraints\n" if patterned else "",
        example=example,
        inputs=repr(list(spec.inputs)),
        outputs=repr(list(spec.outputs)),
        signatures="".join(signatures) + MAKERS,
        name=_safe(spec.name),
        layers=" -> ".join(f"{layer.name} ({layer.aggregator})" for layer in order),
        agents="\n".join(agents),
        steps="\n".join(steps),
    )
    return text


def _ordered(inputs: list[str], layers: list[Any]) -> list[Any]:
    """Layers in an order where each runs after the layers whose outputs it reads."""
    available, done, pending = set(inputs), [], list(layers)
    while pending:
        ready = next((layer for layer in pending if set(layer.inputs) <= available), None)
        if ready is None:
            raise ConfigError(f"export: layer '{pending[0].name}' reads a field no layer writes")
        pending.remove(ready)
        done.append(ready)
        available.update(ready.outputs)
    return done


def _chain_of_thought(outputs: list[str], descriptions: dict[str, str]) -> bool:
    """DSPy's ChainOfThought adds exactly this field: ``reasoning``, first, undescribed."""
    return len(outputs) > 1 and outputs[0] == REASONING and not descriptions.get(REASONING)


def _annotation(name: str, choices: dict[str, list[str]], types: dict[str, FieldSpec]) -> str:
    """An output field's annotation as source, as `ann.field_types.annotation` builds it in ann."""
    if name in choices:
        return f"Literal[{', '.join(repr(v) for v in choices[name])}]"
    field = types.get(name)
    if field is None:
        return "str"
    if field.type == "list":
        return f"list[{_SOURCE[field.items or 'text']}]"
    if field.pattern is not None:
        return f"Annotated[str, StringConstraints(pattern={anchored(field.pattern)!r})]"
    return _SOURCE[field.type]


def _field(name: str, kind: str, descriptions: dict[str, str], annotation: str) -> str:
    return render(FIELD, name=repr(name), annotation=annotation, kind=kind, desc=repr(descriptions.get(name, "")))


def _value(bundle: Bundle, name: str, default: str) -> str:
    record = bundle.params.get(name)
    return record.value if record is not None else default


def _demos(value: str) -> list[dict[str, Any]]:
    """The demos param as ``Agent.demo_examples`` reads it: an unreadable value counts as none."""
    try:
        demos = json.loads(value or "[]")
    except json.JSONDecodeError:
        return []
    return [demo for demo in demos if isinstance(demo, dict)] if isinstance(demos, list) else []


def _literal(demos: list[dict[str, Any]]) -> str:
    """Demos as a Python literal, one per line (JSON's true/false/null would not be Python)."""
    if not demos:
        return "[]"
    return "[\n" + "".join(f"    {demo!r},\n" for demo in demos) + "]"


def _safe(text: str) -> str:
    """A name made safe to put inside a docstring."""
    return " ".join(text.replace("\\", "/").replace('"', "'").split())
