"""HTTP tools: an operation of a web API as a Tool, from a short JSON description or an OpenAPI 3 file.

The call is real (httpx): path arguments fill the URL template, query arguments go in the query
string, the rest in a JSON body. A status of 400 or more comes back to the agent as an error
observation with the server's own message, which is what DRAFT learns from. Header values may
name environment variables (``"Bearer ${API_KEY}"``), read at call time, so a key is never
written into a spec, bundle or trace.
"""

from __future__ import annotations

import os
import re
from string import Template
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field

from ann.errors import ConfigError
from ann.tools.tool import Tool

Location = Literal["path", "query", "body"]
BODY_METHODS = {"POST", "PUT", "PATCH"}


class HttpOperation(BaseModel):
    """One API operation, described the short way (or read from an OpenAPI file)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    method: str = "GET"
    url: str = Field(description="with {placeholders} for path arguments")
    description: str = ""
    parameters: dict[str, dict[str, Any]] = Field(default_factory=dict, description="argument -> JSON Schema")
    required: list[str] | None = Field(default=None, description="default: every parameter")
    locations: dict[str, Location] = Field(default_factory=dict, description="default: path if in the url, else "
                                           "query for GET/DELETE, body otherwise")  # fmt: skip
    headers: dict[str, str] = Field(default_factory=dict, description="values may use ${ENV_VAR}")


class HttpOperations(BaseModel):
    """A file of operations in the short form: ``operations: [{name, method, url, ...}]``."""

    model_config = ConfigDict(extra="forbid")

    operations: list[HttpOperation] = Field(min_length=1)


def _location(operation: HttpOperation, arg: str) -> Location:
    if arg in operation.locations:
        return operation.locations[arg]
    if f"{{{arg}}}" in operation.url:
        return "path"
    return "body" if operation.method.upper() in BODY_METHODS else "query"


def _headers(operation: HttpOperation) -> dict[str, str]:
    try:
        return {name: Template(value).substitute(os.environ) for name, value in operation.headers.items()}
    except KeyError as exc:
        raise RuntimeError(f"header needs environment variable {exc.args[0]}, which is not set") from None


def http_tool(operation: HttpOperation, *, timeout_s: float = 10.0) -> Tool:
    """A Tool that performs ``operation`` for real."""

    async def call(**kwargs: Any) -> str:
        unknown = sorted(set(kwargs) - set(operation.parameters))
        if unknown:
            raise ValueError(f"unknown argument {unknown[0]!r}; arguments: {', '.join(operation.parameters)}")
        parts: dict[str, dict[str, Any]] = {"path": {}, "query": {}, "body": {}}
        for arg, value in kwargs.items():
            parts[_location(operation, arg)][arg] = value
        url = operation.url
        for arg, value in parts["path"].items():
            url = url.replace(f"{{{arg}}}", quote(str(value), safe=""))
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            response = await client.request(operation.method.upper(), url, params=parts["query"] or None,
                                            json=parts["body"] or None, headers=_headers(operation))  # fmt: skip
        if response.status_code >= 400:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text.strip()[:300]}")
        return response.text

    arg_docs = {arg: str(schema.get("description", "")) for arg, schema in operation.parameters.items()}
    args = {
        arg: {key: value for key, value in schema.items() if key != "description"}
        for arg, schema in operation.parameters.items()
    }
    tool = Tool(call, name=operation.name, doc=operation.description, timeout_s=timeout_s, args=args,
                required=list(operation.parameters) if operation.required is None else operation.required,
                arg_docs=arg_docs)  # fmt: skip
    tool.source = None  # set by load_tools when the operation comes from a file
    return tool


def _resolve(document: dict[str, Any], node: Any) -> Any:
    """Follow a local ``$ref`` (``#/components/schemas/X``); other nodes come back as they are."""
    for _ in range(32):  # a $ref chain this long is a cycle
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/")):
            return node
        target: Any = document
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    raise ConfigError(f"the OpenAPI document's $ref {node.get('$ref')!r} does not resolve (a cycle?)")


def _name(method: str, path: str) -> str:
    return re.sub(r"\W+", "_", f"{method}_{path}").strip("_").lower()


def _operation(document: dict[str, Any], base: str, path: str, method: str, item: dict, spec: dict) -> HttpOperation:
    """One OpenAPI operation: its path and query parameters, and the properties of its JSON body."""
    parameters: dict[str, dict[str, Any]] = {}
    required: list[str] = []
    locations: dict[str, Location] = {}
    for parameter in [*item.get("parameters", []), *spec.get("parameters", [])]:
        parameter = _resolve(document, parameter)
        if parameter.get("in") not in ("path", "query"):
            continue
        schema = dict(_resolve(document, parameter.get("schema", {})))
        if parameter.get("description"):
            schema["description"] = parameter["description"]
        parameters[parameter["name"]] = schema
        locations[parameter["name"]] = parameter["in"]
        if parameter.get("required") or parameter["in"] == "path":
            required.append(parameter["name"])
    body = spec.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    body = _resolve(document, body) if body else {}
    for arg, schema in body.get("properties", {}).items():
        parameters[arg] = dict(_resolve(document, schema))
        locations[arg] = "body"
    required += [arg for arg in body.get("required", []) if arg in parameters]
    return HttpOperation(
        name=spec.get("operationId") or _name(method, path),
        method=method.upper(),
        url=base.rstrip("/") + path,
        description="\n".join(part for part in (spec.get("summary"), spec.get("description")) if part),
        parameters=parameters,
        required=required,
        locations=locations,
    )


def openapi_operations(document: dict[str, Any], *, base_url: str | None = None) -> list[HttpOperation]:
    """Every operation of an OpenAPI 3 document (path, query and JSON-body arguments).

    Raises:
        ConfigError: No base URL (neither ``servers`` nor ``base_url``), or no operations.
    """
    base = base_url or next((server.get("url") for server in document.get("servers", [])), None)
    if not base:
        raise ConfigError("the OpenAPI document has no servers[0].url; give base_url")
    operations = [
        _operation(document, base, path, method, item, spec)
        for path, item in document.get("paths", {}).items()
        for method, spec in item.items()
        if method.upper() in {"GET", "POST", "PUT", "PATCH", "DELETE"}
    ]
    if not operations:
        raise ConfigError("the OpenAPI document has no operations")
    return operations
