"""HTTP tools: an operation of a web API as a Tool, from a short JSON description or an OpenAPI 3 file.

The call is real (httpx): path arguments fill the URL template, query arguments go in the query
string, the rest in a JSON body. A status of 400 or more comes back to the agent as an error
observation with the server's own message, which is what DRAFT learns from. Header values may
name environment variables (``"Bearer ${API_KEY}"``), read at call time, so a key is never
written into a spec, bundle or trace — but only variables the operation declares in ``env`` and
the user allows in ``ANN_TOOL_ENV`` (``VAR`` for any such operation, ``VAR@host`` for one host):
a tools file from elsewhere cannot make ann send an arbitrary variable to an arbitrary URL.
"""

from __future__ import annotations

import os
import re
from string import Template
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import Field, model_validator

from ann.errors import ConfigError
from ann.strict_model import StrictModel
from ann.tools.tool import Tool

Location = Literal["path", "query", "body"]
BODY_METHODS = {"POST", "PUT", "PATCH"}
TOOL_ENV = "ANN_TOOL_ENV"  # the user's allow-list of variables HTTP tool headers may read


class HttpOperation(StrictModel):
    """One API operation, described the short way (or read from an OpenAPI file)."""

    name: str
    method: str = "GET"
    url: str = Field(description="with {placeholders} for path arguments")
    description: str = ""
    parameters: dict[str, dict[str, Any]] = Field(default_factory=dict, description="argument -> JSON Schema")
    required: list[str] | None = Field(default=None, description="default: every parameter")
    locations: dict[str, Location] = Field(default_factory=dict, description="default: path if in the url, else "
                                           "query for GET/DELETE, body otherwise")  # fmt: skip
    headers: dict[str, str] = Field(default_factory=dict, description="values may use ${VAR} for a VAR in env")
    env: list[str] = Field(default_factory=list, description="environment variables the headers read; each is "
                           "read only if the user also allows it in ANN_TOOL_ENV")  # fmt: skip

    @model_validator(mode="after")
    def _headers_read_only_declared_variables(self) -> HttpOperation:
        for header, value in self.headers.items():
            undeclared = [name for name in Template(value).get_identifiers() if name not in self.env]
            if undeclared:
                raise ValueError(f"header {header} reads ${{{undeclared[0]}}}, which `env:` does not declare")
        if self.env and "{" in urlsplit(self.url).netloc:
            raise ValueError("url: an operation with `env:` must name its host, not take it from an argument")
        return self


class HttpOperations(StrictModel):
    """A file of operations in the short form: ``operations: [{name, method, url, ...}]``."""

    operations: list[HttpOperation] = Field(min_length=1)


def _location(operation: HttpOperation, arg: str) -> Location:
    if arg in operation.locations:
        return operation.locations[arg]
    if f"{{{arg}}}" in operation.url:
        return "path"
    return "body" if operation.method.upper() in BODY_METHODS else "query"


def allowed_variables(url: str) -> set[str]:
    """The environment variables the user lets HTTP tool headers send to ``url``'s host (``ANN_TOOL_ENV``)."""
    host = urlsplit(url).hostname
    allowed = set()
    for entry in os.environ.get(TOOL_ENV, "").split(","):
        name, _, only_host = entry.strip().partition("@")
        if name and (not only_host or only_host.lower() == host):
            allowed.add(name)
    return allowed


def _headers(operation: HttpOperation, url: str) -> dict[str, str]:
    """The headers, filled from declared variables the user allows for this host; else the call fails."""
    allowed, values = allowed_variables(url), {}
    for value in operation.headers.values():
        for name in Template(value).get_identifiers():
            if name not in allowed:
                raise RuntimeError(f"a header needs environment variable {name}, which the user has not allowed "
                                   f"for {urlsplit(url).hostname} (set {TOOL_ENV}={name})")  # fmt: skip
            if name not in os.environ:
                raise RuntimeError(f"a header needs environment variable {name}, which is not set")
            values[name] = os.environ[name]
    return {name: Template(value).substitute(values) for name, value in operation.headers.items()}


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
        import httpx  # a fifth of a second to import; `ann show` of an HTTP tool calls none

        async with httpx.AsyncClient(timeout=timeout_s) as client:
            response = await client.request(operation.method.upper(), url, params=parts["query"] or None,
                                            json=parts["body"] or None, headers=_headers(operation, url))  # fmt: skip
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
    tool.method = operation.method.upper()
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
