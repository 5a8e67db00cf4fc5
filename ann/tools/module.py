"""Load a user's tools module: every public function defined in a Python file becomes a Tool.

Specs and `ann tools refine` name tools by file (``tools: tools.py``) so a bundle can point back
to the code its tool docs describe; the file is the user's own code, imported like any module.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ann.errors import ConfigError
from ann.tools.http import HttpOperations, http_tool, openapi_operations
from ann.tools.tool import Tool

API_SUFFIXES = {".json", ".yaml", ".yml"}


def load_tools(path: str | Path) -> dict[str, Tool]:
    """The tools a file defines, by name.

    A Python module gives the functions it exports (its ``__all__``, else every public function
    defined in it — not imported ones, not ``_private`` ones). A JSON or YAML file gives web API
    operations: an OpenAPI 3 document, or ``operations:`` in ann's short form (``HttpOperation``).

    Raises:
        ConfigError: The file is missing, fails to import or parse, or defines no tools; one
            line naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: tools module not found")
    tools = _api_tools(path) if path.suffix in API_SUFFIXES else _module_tools(path)
    for tool in tools.values():
        tool.source = str(path.resolve())
    return tools


def read_tools(path: str | Path) -> dict[str, Tool]:
    """The tools a file defines, read without running any of it (for ``ann show``).

    A Python module is parsed, not imported: each exported function gives a tool with its name,
    argument names and docstring, which cannot be called. An API description is read as by
    ``load_tools`` (reading it runs nothing).

    Raises:
        ConfigError: The file is missing or cannot be parsed; one line naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: tools module not found")
    if path.suffix in API_SUFFIXES:
        return load_tools(path)
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError, RecursionError) as exc:
        raise ConfigError(f"{path}: cannot parse tools module ({type(exc).__name__}: {exc})") from exc
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
    exported = _literal_all(tree)
    names = exported if exported is not None else [name for name in functions if not name.startswith("_")]
    tools = {}
    for name in (name for name in names if name in functions):
        node = functions[name]
        tools[name] = Tool(_not_imported, name=name, doc=ast.get_docstring(node) or "", args=_arg_schemas(node))
        tools[name].source = str(path.resolve())
    return tools


# The argument types a tool's schema names when its module is imported, for annotations that need no import.
_SIMPLE_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}


def _arg_schemas(node: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, dict[str, Any]]:
    """Each argument's JSON Schema as importing would give it, where the annotation is a plain
    ``str``/``int``/``float``/``bool`` and the default a literal; otherwise an empty schema."""
    positional = [*node.args.posonlyargs, *node.args.args]
    with_defaults = [a.arg for a in positional][len(positional) - len(node.args.defaults) :]
    defaults = dict(zip(with_defaults, node.args.defaults, strict=True))
    keyword = zip(node.args.kwonlyargs, node.args.kw_defaults, strict=True)
    defaults.update({a.arg: d for a, d in keyword if d is not None})
    schemas: dict[str, dict[str, Any]] = {}
    for arg in [*positional, *node.args.kwonlyargs]:
        kind = _SIMPLE_TYPES.get(arg.annotation.id) if isinstance(arg.annotation, ast.Name) else None
        schema: dict[str, Any] = {"type": kind} if kind else {}
        if kind and arg.arg in defaults:
            try:
                schema["default"] = ast.literal_eval(defaults[arg.arg])
            except (ValueError, TypeError, SyntaxError, RecursionError):
                schema = {}
        schemas[arg.arg] = schema
    return schemas


def _literal_all(tree: ast.Module) -> list[str] | None:
    """The module's ``__all__`` when it is a plain list or tuple of strings."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, RecursionError):
                return None
            return [str(name) for name in value] if isinstance(value, list | tuple) else None
    return None


def _not_imported(**kwargs: object) -> str:
    raise RuntimeError("this tool was read without importing its module, so it cannot be called")


def _api_tools(path: Path) -> dict[str, Tool]:
    try:
        # JSON is YAML too; libyaml when present, as PyYAML's own parser takes minutes on deep nesting
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        if not isinstance(document, dict):
            raise ValueError("expected an OpenAPI document or a mapping with `operations:`")
        if "openapi" in document:
            operations = openapi_operations(document)
        else:
            operations = HttpOperations.model_validate(document).operations
        return {operation.name: http_tool(operation) for operation in operations}
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{path}: {where}: {first['msg']}") from exc
    except (OSError, yaml.YAMLError, ValueError, ConfigError, RecursionError) as exc:
        raise ConfigError(f"{path}: cannot read API tools ({str(exc).splitlines()[0]})") from exc


def _module_tools(path: Path) -> dict[str, Tool]:
    name = f"ann_tools_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look their module up here
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 — any import failure is the user's file, reported in one line
        del sys.modules[name]
        raise ConfigError(f"{path}: cannot import tools module ({type(exc).__name__}: {exc})") from exc
    exported = getattr(module, "__all__", None)
    functions = {
        attr: value
        for attr, value in vars(module).items()
        if inspect.isfunction(value)
        and (attr in exported if exported is not None else value.__module__ == name and not attr.startswith("_"))
    }
    if not functions:
        raise ConfigError(f"{path}: defines no public functions to use as tools")
    return {attr: Tool(fn, name=attr) for attr, fn in functions.items()}


def tools_digest(path: str | Path) -> str:
    """sha256 of the tools file, so a bundle records which code its docs were learned against."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
