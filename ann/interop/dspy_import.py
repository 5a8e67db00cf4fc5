"""from_dspy: a DSPy program (Predict, ChainOfThought, or a module chaining them) as an ann Graph.

Each DSPy predictor becomes a one-agent layer whose instructions and demos are trainable params, so
ann's backward pass can train them and ``export_dspy`` can hand them back. ann reads the predictors,
not ``forward()``: it assumes ``forward`` calls them in the order they were defined and passes fields
by name (``self.answer(question=question, draft=draft.draft)``). A ChainOfThought's ``reasoning`` is
an ordinary output field of its layer, asked for before the answer, as DSPy asks for it.

A saved program (``program.save("program.json")``) is read as JSON data, never unpickled.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin

from ann.errors import ConfigError

if TYPE_CHECKING:
    from ann.graph import Graph
    from ann.lm import ModelClient

REASONING = "reasoning"  # the output field dspy.ChainOfThought adds before the signature's outputs

# DSPy's default instructions name every field exactly; a saved program otherwise keeps only prefixes.
_DEFAULT_INSTRUCTIONS = re.compile(r"^Given the fields (?P<inputs>.+), produce the fields (?P<outputs>.+)\.$")
_QUOTED = re.compile(r"`([^`]+)`")
_NOT_A_NAME = re.compile(r"[^A-Za-z0-9_]+")


@dataclass
class Predictor:
    """One DSPy predictor, as plain data: what an ann layer of one agent needs."""

    name: str
    instructions: str
    inputs: list[str]
    outputs: list[str]
    descriptions: dict[str, str] = field(default_factory=dict)
    choices: dict[str, list[str]] = field(default_factory=dict)
    demos: list[dict[str, str]] = field(default_factory=list)


def from_dspy(
    program: Any,
    *,
    inputs: list[str] | None = None,
    name: str | None = None,
    lm: ModelClient | None = None,
) -> Graph:
    """Turn a DSPy program into an ann Graph whose instructions and demos are trainable params.

    Args:
        program: A ``dspy.Predict``, a ``dspy.ChainOfThought``, a ``dspy.Module`` whose predictors
            run one after another and pass fields by name, or the path of a program saved with
            ``program.save("program.json")`` (read as data; pickles are refused).
        inputs: The graph's input fields. Needed only for a saved program whose first predictor
            has custom instructions and no ChainOfThought reasoning: the file keeps field prefixes,
            not which fields are inputs.
        name: The graph's name; defaults to the program's class or file name.
        lm: The graph's default model.

    Returns:
        A graph with one single-agent layer per predictor, in the program's order.

    Raises:
        ConfigError: The program has no predictors, its predictors' fields do not connect by name,
            or the saved file is not a DSPy JSON program.

    Example:
        >>> graph = ann.from_dspy(dspy.ChainOfThought("question -> answer"))
        >>> graph.state_dict()["predict.agent.instructions"]
        'Given the fields `question`, produce the fields `answer`.'
    """
    if isinstance(program, str | Path):
        path = Path(program)
        predictors = _predictors_from_file(path, inputs)
        default_name = path.stem
    else:
        predictors = _predictors_from_module(program)
        default_name = type(program).__name__
    return _graph(predictors, name=name or default_name, inputs=inputs, lm=lm)


def _predictors_from_module(program: Any) -> list[Predictor]:
    import dspy

    if not isinstance(program, dspy.Module):
        raise ConfigError(f"from_dspy: expected a dspy.Module or a saved program's path, got {type(program).__name__}")
    found = program.named_predictors()
    if not found:
        raise ConfigError(f"from_dspy: {type(program).__name__} has no predictors (dspy.Predict) to import")
    predictors = []
    for path, predict in found:
        signature = predict.signature
        descriptions = {n: _description(f.json_schema_extra) for n, f in signature.fields.items()}
        choices = {
            n: [str(v) for v in get_args(f.annotation)]
            for n, f in signature.output_fields.items()
            if get_origin(f.annotation) is Literal
        }
        predictors.append(
            Predictor(
                name=_layer_name(path),
                instructions=signature.instructions,
                inputs=list(signature.input_fields),
                outputs=list(signature.output_fields),
                descriptions={n: d for n, d in descriptions.items() if d},
                choices=choices,
                demos=[_demo(demo, signature.fields) for demo in predict.demos],
            )
        )
    return predictors


def _predictors_from_file(path: Path, inputs: list[str] | None) -> list[Predictor]:
    from ann.spec import read_text_file

    if path.suffix.lower() in (".pkl", ".pickle"):
        raise ConfigError(f"{path}: a pickled program is not read (it could run code); save it as JSON instead")
    try:
        data = json.loads(read_text_file(path, "DSPy program"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: not a saved DSPy program (expected a JSON object of predictors)")
    states = {"predict": data} if "signature" in data else {k: v for k, v in data.items() if k != "metadata"}
    if not states:
        raise ConfigError(f"{path}: the saved program has no predictors")
    available = set(inputs or [])
    predictors = []
    for key, state in states.items():
        predictor = _predictor_from_state(path, key, state, available, first=not predictors)
        available.update(predictor.inputs + predictor.outputs)
        predictors.append(predictor)
    return predictors


def _predictor_from_state(path: Path, key: str, state: Any, available: set[str], *, first: bool) -> Predictor:
    signature = state.get("signature") if isinstance(state, dict) else None
    fields = signature.get("fields") if isinstance(signature, dict) else None
    if not isinstance(fields, list) or not all(isinstance(f, dict) and "prefix" in f for f in fields):
        raise ConfigError(f"{path}: {key}: not a DSPy predictor state (no signature.fields with prefixes); "
                          "save the program with DSPy 2.5 or later")  # fmt: skip
    instructions = str(signature.get("instructions", ""))
    names = [_NOT_A_NAME.sub("_", str(f["prefix"]).rstrip(":").strip()).strip("_").lower() for f in fields]
    default = _DEFAULT_INSTRUCTIONS.match(instructions)
    if default:  # exact names: the prefixes lose case and underscores ("myField" -> "My Field")
        exact = _QUOTED.findall(default["inputs"]) + _QUOTED.findall(default["outputs"])
        by_key = {n.replace("_", "").lower(): n for n in exact}
        names = [by_key.get(n.replace("_", ""), n) for n in names]
        split = len(_QUOTED.findall(default["inputs"]))
    elif REASONING in names and first:
        split = names.index(REASONING)
    else:
        split = 0
        while split < len(names) and names[split] in available:
            split += 1
        if first and not available:
            raise ConfigError(f"{path}: {key}: cannot tell which of the fields {names} are inputs; "
                              "pass from_dspy(..., inputs=[...])")  # fmt: skip
    descriptions = {n: str(f.get("description", "")) for n, f in zip(names, fields, strict=True)}
    demos = state.get("demos") or []
    return Predictor(
        name=_layer_name(key),
        instructions=instructions,
        inputs=names[:split],
        outputs=names[split:],
        descriptions={n: d for n, d in descriptions.items() if d and not d.startswith("${")},
        demos=[_demo(demo, names) for demo in demos if isinstance(demo, dict)],
    )


def _graph(predictors: list[Predictor], *, name: str, inputs: list[str] | None, lm: ModelClient | None) -> Graph:
    """One single-agent layer per predictor; fields connect by name, in the predictors' order."""
    from ann.build import graph_from_spec
    from ann.spec import AgentSpec, FieldSpec, GraphSpec, LayerSpec, Spec

    producer: dict[str, str] = {}
    graph_inputs = list(inputs or [])
    for i, predictor in enumerate(predictors):
        if REASONING in predictor.outputs and REASONING in producer:  # two ChainOfThoughts
            renamed = f"{predictor.name}_{REASONING}"
            predictor.outputs[predictor.outputs.index(REASONING)] = renamed
            for demo in predictor.demos:
                if REASONING in demo:
                    demo[renamed] = demo.pop(REASONING)
        if i and not any(n in producer for n in predictor.inputs):
            written = sorted(producer)
            raise ConfigError(f"from_dspy: predictor '{predictor.name}' reads none of the fields earlier "
                              f"predictors write ({written}); ann imports chains connected by field name")  # fmt: skip
        for field_name in predictor.inputs:
            if field_name not in producer and field_name not in graph_inputs:
                graph_inputs.append(field_name)
        for field_name in predictor.outputs:
            if field_name in producer or field_name in graph_inputs:
                raise ConfigError(f"from_dspy: field '{field_name}' of predictor '{predictor.name}' is already "
                                  "written earlier in the program; ann needs each field written once")  # fmt: skip
            producer[field_name] = predictor.name
    read = {n for p in predictors for n in p.inputs}
    outputs = [n for p in predictors for n in p.outputs if n not in read and not n.endswith(REASONING)]
    outputs = outputs or list(predictors[-1].outputs)
    descriptions: dict[str, str] = {}
    choices: dict[str, list[str]] = {}
    for predictor in predictors:
        for field_name, text in predictor.descriptions.items():
            descriptions.setdefault(_renamed(predictor, field_name), text)
        choices.update(predictor.choices)
    spec = Spec(
        name=name,
        description=f"Imported from the DSPy program {name}.",
        inputs=graph_inputs,
        outputs=outputs,
        fields={
            n: FieldSpec(description=descriptions.get(n, ""), choices=choices.get(n))
            for n in sorted(set(descriptions) | set(choices))
        },
        graph=GraphSpec(
            layers=[
                LayerSpec(
                    name=p.name,
                    inputs=p.inputs,
                    outputs=p.outputs,
                    agents=[AgentSpec(name="agent", instructions=p.instructions)],
                )
                for p in predictors
            ]  # fmt: skip
        ),
    )
    graph = graph_from_spec(spec, lm=lm, source="from_dspy", tools={})
    for predictor in predictors:
        agent = graph.layers[predictor.name].agents[0]
        agent.demos.value = json.dumps(predictor.demos, ensure_ascii=False)
        agent.demos.history[0].value = agent.demos.value
    return graph


def _renamed(predictor: Predictor, field_name: str) -> str:
    if field_name == REASONING and REASONING not in predictor.outputs:
        return f"{predictor.name}_{REASONING}"
    return field_name


def _layer_name(path: str) -> str:
    """``polish.predict`` -> ``polish``; ``steps[0]`` -> ``steps_0``; a bare Predict (``self``) -> ``predict``."""
    if path.endswith(".predict"):
        path = path[: -len(".predict")]
    name = _NOT_A_NAME.sub("_", path).strip("_")
    if not name or name == "self":
        return "predict"
    return name if not name[0].isdigit() else f"predict_{name}"


def _description(extra: dict[str, Any] | None) -> str:
    desc = str((extra or {}).get("desc", ""))
    return "" if desc.startswith("${") else desc  # DSPy's placeholder for "no description"


def _demo(demo: Any, fields: Any) -> dict[str, str]:
    """A demo's field values as text (DSPy's bookkeeping keys such as ``augmented`` dropped)."""
    values = demo.toDict() if hasattr(demo, "toDict") else dict(demo)
    return {n: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for n, v in values.items() if n in fields}
