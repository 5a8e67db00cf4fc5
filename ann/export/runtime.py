"""The body of the `python` export: runs an exported graph with nothing but httpx.

This file is a template that is also real, lintable Python. The exporter (``ann.export.standalone``)
replaces the docstring, swaps the block of ann imports below for the source of those very
functions (so replies are parsed and votes counted exactly as ann does), and fills ``GRAPH`` with
the bundle's calls from the `prompts` export.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import Counter
from typing import Any

import httpx

# BEGIN ann source
from ann.errors import ParseError
from ann.layers.vote import vote_keys
from ann.replies import parse_reply

# END ann source

GRAPH: dict[str, Any] = {}

_PLACEHOLDER = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}")


def fill_messages(messages: list[dict[str, str]], values: dict[str, Any]) -> list[dict[str, str]]:
    """The call's messages with each ``{{field}}`` of the last one replaced, in one pass."""
    last = _PLACEHOLDER.sub(lambda match: str(values.get(match.group(1), "")), messages[-1]["content"])
    return [*messages[:-1], {**messages[-1], "content": last}]


def ask(
    client: httpx.Client, call: dict[str, Any], values: dict[str, Any], temperature: float, sample: int, args: Any
) -> dict[str, Any] | None:
    """One agent's answer, parsed as ann parses it; None when the reply does not fit."""
    body: dict[str, Any] = {
        "model": args.model,
        "messages": fill_messages(call["messages"], values),
        "temperature": temperature,
        "max_tokens": call["request"]["max_tokens"],
    }
    if args.seed is not None:
        body["seed"] = args.seed + sample
    response_format = call["response_format"].get(args.schema_style)
    if response_format is not None:
        body["response_format"] = response_format
    response = client.post("chat/completions", json=body)
    response.raise_for_status()
    text = response.json()["choices"][0]["message"].get("content") or ""
    reply = call["reply"]
    try:
        return parse_reply(reply["outputs"], text, json_reply=reply["format"] != "text", schema=reply["schema"])
    except ParseError:
        return None


def run_layer(client: httpx.Client, layer: dict[str, Any], values: dict[str, Any], args: Any) -> dict[str, str]:
    """A layer's outputs: its first member's answer (single), else the members' majority vote."""
    calls = layer["calls"][:1] if layer["team_type"] == "single" else layer["calls"]
    samples = 1 if layer["team_type"] == "single" else layer["samples"]
    answers = []
    for call in calls:
        for sample in range(samples):
            later = max(layer["temperature"] or 0.0, 0.7)
            answer = ask(client, call, values, call["request"]["temperature"] if sample == 0 else later, sample, args)
            if answer is not None:
                answers.append(answer)
    if not answers:
        raise SystemExit(f"layer '{layer['name']}': no usable answer from its team")
    keys = vote_keys([str(answer.get(layer["outputs"][0], "")) for answer in answers])
    counts = Counter(keys)
    winner = next(key for key in keys if counts[key] == max(counts.values()))
    return answers[keys.index(winner)]


def run(inputs: dict[str, Any], args: Any) -> dict[str, str]:
    """The graph's outputs for one input, layer by layer in DAG order."""
    values = dict(inputs)
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    with httpx.Client(base_url=args.api_base.rstrip("/") + "/", headers=headers, timeout=args.timeout) as client:
        for layer in GRAPH["layers"]:
            values.update(run_layer(client, layer, values, args))
    return {name: values[name] for name in GRAPH["outputs"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=f"Run the trained graph '{GRAPH.get('name')}' on one input.")
    parser.add_argument("--input", required=True, help="the input fields as a JSON object")
    parser.add_argument("--api-base", required=True, help="an OpenAI-compatible endpoint, e.g. http://host/v1")
    parser.add_argument("--model", required=True, help="the model name the endpoint knows")
    parser.add_argument("--api-key", default=os.environ.get("OPENAI_API_KEY"), help="default: $OPENAI_API_KEY")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed of the first sample (default: 0)")
    parser.add_argument(
        "--schema-style",
        choices=["none", "openai", "llamacpp"],
        default="none",
        help="how to ask for schema-constrained JSON replies (default: none, as ann does with hosted models)",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per call (default: 120)")
    args = parser.parse_args(argv)
    inputs = json.loads(args.input)
    missing = [name for name in GRAPH["inputs"] if name not in inputs]
    if missing:
        parser.error(f"--input lacks {missing}")
    print(json.dumps(run(inputs, args), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
