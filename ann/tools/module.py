"""Load a user's tools module: every public function defined in a Python file becomes a Tool.

Specs and `ann tools refine` name tools by file (``tools: tools.py``) so a bundle can point back
to the code its tool docs describe; the file is the user's own code, imported like any module.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
from pathlib import Path

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


def _api_tools(path: Path) -> dict[str, Tool]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))  # JSON is YAML too
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
    except (OSError, yaml.YAMLError, ValueError, ConfigError) as exc:
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
