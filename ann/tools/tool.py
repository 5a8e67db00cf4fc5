"""Tool: a Python callable an agent may call, whose documentation is trainable.

The callable's signature gives the argument schema (through ``dspy.Tool``, which also checks
arguments); its docstring and each argument's description are Params, so textual gradients and
DRAFT can rewrite them. A call never raises into the run: bad arguments, an exception in the
tool and a timeout all come back as a ``ToolResult`` the agent reads as an observation.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ann.agent import check_name
from ann.params import Param
from ann.redact import redact

if TYPE_CHECKING:
    import dspy

SAFE_METHODS = frozenset({"GET", "HEAD"})  # HTTP methods that change nothing on the server


def _in_daemon_thread(fn: Callable[..., Any], args: dict[str, Any]) -> asyncio.Future[Any]:
    """Run a sync tool in a daemon thread: a Python thread cannot be killed, so a tool that hangs
    past its timeout is abandoned — and, being a daemon, never holds up the run's exit."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def work() -> None:
        error: BaseException | None = None
        value: Any = None
        try:
            value = fn(**args)
        except BaseException as exc:  # noqa: BLE001 — handed to the awaiting coroutine
            error = exc

        def deliver() -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(value)

        with contextlib.suppress(RuntimeError):  # the loop closed while the tool ran past its timeout
            loop.call_soon_threadsafe(deliver)

    threading.Thread(target=work, name=f"ann-tool-{getattr(fn, 'name', 'call')}", daemon=True).start()
    return future


@dataclass
class ToolResult:
    """What one tool call returned (``ok``) or why it failed, and how long it took."""

    tool: str
    args: dict[str, Any]
    ok: bool
    output: str
    latency_s: float

    def observation(self) -> str:
        """The text an agent sees after the call."""
        return self.output if self.ok else f"error: {self.output}"


class Tool:
    """A callable with trainable documentation.

    Args:
        fn: The function (sync or async). Its type hints give the argument schema.
        name: Defaults to the function's name.
        doc: Defaults to the function's docstring.
        timeout_s: A call running longer comes back as a timeout error.

        args: The arguments' JSON Schemas, for a callable taking ``**kwargs`` (an HTTP
            operation); by default they come from the type hints.
        required: The arguments that must be given (default: those without a default).
        arg_docs: Starting descriptions of the arguments.

    Example:
        >>> def convert(value: float, unit: str) -> float: ...
        >>> tool = Tool(convert, doc="Converts a value to metres.")
        >>> await tool.call({"value": 3, "unit": "ft"})
    """

    def __init__(
        self, fn: Callable[..., Any], *, name: str | None = None, doc: str | None = None, timeout_s: float = 10.0,
        args: dict[str, dict[str, Any]] | None = None, required: list[str] | None = None,
        arg_docs: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        if not callable(fn):
            raise TypeError(f"a tool must be callable, got {type(fn).__name__}")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        self.name = name or fn.__name__
        check_name("tool", self.name)
        self.fn = fn
        self.timeout_s = timeout_s
        self._args = args
        self._spec: dspy.Tool | None = None
        # The file a bundle reloads this tool from: a Python module, or an API description.
        self.source: str | None = inspect.getsourcefile(fn) if inspect.isfunction(fn) else None
        self.method: str | None = None  # an HTTP operation's method (set by http_tool)
        self.required = required
        described = f"the documentation of tool '{self.name}': what it does and how to call it"
        self.doc = Param(doc if doc is not None else inspect.getdoc(fn) or "", description=described, kind="tool_doc")
        self.arg_docs = {
            arg: Param(
                (arg_docs or {}).get(arg, ""),
                kind="tool_doc",
                description=f"what argument '{arg}' of tool '{self.name}' means",
            )  # fmt: skip
            for arg in self.args
        }

    @property
    def args(self) -> dict[str, dict[str, Any]]:
        """Each argument's JSON Schema: as given, else from the callable's type hints (through ``spec``)."""
        return self._args if self._args is not None else self.spec.args

    @property
    def spec(self) -> dspy.Tool:
        """The ``dspy.Tool`` that checks arguments and calls ``fn``, made on first use.

        A tool whose argument schemas are given (read from a file by ``ann show``, or an HTTP
        operation) is described without it, so without importing DSPy, which takes seconds.
        """
        if self._spec is None:
            import dspy

            self._spec = dspy.Tool(self.fn, name=self.name, args=self._args)
        return self._spec

    @property
    def safe(self) -> bool:
        """Whether a call with made-up arguments may be made unasked: DRAFT calls only safe tools.

        An HTTP operation is safe only for GET or HEAD; a Python function is the user's own code,
        imported only under the rules of ``ann.trust``, and counts as safe.
        """
        return self.method is None or self.method in SAFE_METHODS

    def named_parameters(self) -> Iterator[tuple[str, Param]]:
        yield "doc", self.doc
        for arg, param in self.arg_docs.items():
            yield f"args.{arg}", param

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of the arguments, with the current argument docs as descriptions."""
        properties = {}
        for arg, schema in self.args.items():
            described = dict(schema)
            if self.arg_docs[arg].value:
                described["description"] = self.arg_docs[arg].value
            properties[arg] = described
        required = self.required
        if required is None:
            required = [arg for arg, schema in self.args.items() if "default" not in schema]
        return {"type": "object", "properties": properties, "required": required}

    def describe(self) -> str:
        """The tool as an agent reads it: name, argument schema, documentation."""
        return f"{self.name}({json.dumps(self.schema()['properties'])}): {self.doc.value or '(undocumented)'}"

    async def call(self, args: dict[str, Any]) -> ToolResult:
        """Run the tool for real; any failure becomes an error result, never an exception."""
        started = time.perf_counter()
        try:
            if inspect.iscoroutinefunction(self.fn):
                value = await asyncio.wait_for(self.spec.acall(**args), self.timeout_s)
            else:
                value = await asyncio.wait_for(_in_daemon_thread(self.spec, args), self.timeout_s)
        except TimeoutError:
            return ToolResult(self.name, args, False, f"timed out after {self.timeout_s:g} s",
                              time.perf_counter() - started)  # fmt: skip
        except Exception as exc:  # noqa: BLE001 — a tool's failure is an observation for the agent
            text = redact(f"{type(exc).__name__}: {exc}".strip())
            return ToolResult(self.name, args, False, text[:500], time.perf_counter() - started)
        output = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
        # An API may echo the key its headers sent; the result goes to the model, traces and logs.
        return ToolResult(self.name, args, True, redact(output)[:2000], time.perf_counter() - started)
