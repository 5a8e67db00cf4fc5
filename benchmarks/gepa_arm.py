"""The DSPy GEPA arms of the generalization benchmark, on a budget of real LM calls.

GEPA budgets metric calls, but the benchmark compares optimizers at equal LM calls (task-model
calls during optimization plus reflection calls). So both LMs GEPA sees are `MeteredLM`s: each
keeps a per-run in-memory call cache (a repeated request is free, as in ann's call cache), counts
its real calls and cache hits, and charges one shared `Meter`. A GEPA stop callback ends the run
before an iteration that could need more calls than are left, and the meter refuses any call
past the budget, so the total cannot exceed it.
"""

from __future__ import annotations

import copy
import json
import shutil
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import dspy

from ann import Example, Graph
from ann.adapter import AnnAdapter
from ann.datasets.metric_result import MetricResult

# Custom LMs through BaseLM.forward are deprecated in DSPy 3.4 but supported until 3.5; the
# warning would repeat on every call.
warnings.filterwarnings("ignore", message="Implementing custom LMs through BaseLM.forward")

Metric = Callable[[Example, dict], MetricResult]
ADAPTERS = {"gepa": "ChatAdapter (DSPy's default)", "gepa-ann": "ann.adapter.AnnAdapter"}


class BudgetSpent(RuntimeError):
    """A call was refused because the run's LM-call budget is used up."""


@dataclass
class LMUsage:
    """Real calls, cache hits and tokens of one LM."""

    calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    failed_calls: int = 0


@dataclass
class Meter:
    """The shared LM-call budget of one run, and each LM's usage; None as limit means no budget."""

    limit: int | None = None
    usage: dict[str, LMUsage] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def calls(self) -> int:
        return sum(u.calls for u in self.usage.values())

    def charge(self, role: str) -> None:
        with self.lock:
            if self.limit is not None and self.calls >= self.limit:
                raise BudgetSpent(f"the budget of {self.limit} LM calls is used up")
            self.usage.setdefault(role, LMUsage()).calls += 1

    def record(self, role: str, **counts: int) -> None:
        with self.lock:
            usage = self.usage.setdefault(role, LMUsage())
            for name, value in counts.items():
                setattr(usage, name, getattr(usage, name) + value)

    def report(self) -> dict[str, Any]:
        by_lm = {role: asdict(usage) for role, usage in self.usage.items()}
        total = {key: sum(u[key] for u in by_lm.values()) for key in asdict(LMUsage())}
        return {"budget": self.limit, **total, "by_lm": by_lm}


class MeteredLM(dspy.BaseLM):
    """A dspy LM that charges a `Meter` for each real call, with an optional in-memory call cache.

    The cache is single-flight: a request identical to one still in flight waits for it and is
    then a cache hit. DSPy's parallel evaluator resubmits a "straggler" still running after 120 s
    when at most three items remain (every GEPA minibatch), which on a slow local server would
    otherwise pay for the same request twice.

    Args:
        inner: The `dspy.LM` that makes the calls (its own DSPy cache off).
        meter: Charged once per real call, before it is made.
        role: This LM's name in the meter ("task", "reflection", "test").
        cache: Answer a repeated request (same messages and settings) from memory.
        log: Append one JSON line per call here (role, cache hit, seconds, tokens).
    """

    def __init__(self, inner: dspy.LM, meter: Meter, role: str, *, cache: bool, log: Path | None = None) -> None:
        kwargs = inner.kwargs
        super().__init__(inner.model, "chat", kwargs.get("temperature"), kwargs.get("max_tokens"), cache=False)
        self.inner = inner
        self.meter = meter
        self.role = role
        self.use_cache = cache
        self.log = log
        self.responses: dict[str, Any] = {}
        self.in_flight: dict[str, threading.Event] = {}
        self.cache_lock = threading.Lock()

    @property
    def supports_response_schema(self) -> bool:
        return self.inner.supports_response_schema

    @property
    def supported_params(self) -> set[str]:
        return self.inner.supported_params

    def forward(self, prompt: str | None = None, messages: list[dict] | None = None, **kwargs: Any) -> Any:
        key = json.dumps({"prompt": prompt, "messages": messages, **kwargs}, sort_keys=True, default=str)
        started = time.perf_counter()
        while self.use_cache:
            with self.cache_lock:
                hit = self.responses.get(key)
                flight = self.in_flight.get(key) if hit is None else None
                if hit is None and flight is None:
                    self.in_flight[key] = threading.Event()  # this thread makes the call
                    break
            if hit is not None:
                self.meter.record(self.role, cache_hits=1)
                self.write_log(cache_hit=True, seconds=time.perf_counter() - started)
                return copy.deepcopy(hit)
            flight.wait()  # then look again: a hit, or the call failed and this thread makes it
        try:
            return self.call(key, prompt, messages, kwargs, started)
        finally:
            if self.use_cache:
                with self.cache_lock:
                    self.in_flight.pop(key).set()

    def call(self, key: str, prompt: str | None, messages: list[dict] | None, kwargs: dict, started: float) -> Any:
        self.meter.charge(self.role)
        try:
            response = self.inner.forward(prompt=prompt, messages=messages, **kwargs)
        except Exception as exc:
            self.meter.record(self.role, failed_calls=1)
            self.write_log(cache_hit=False, seconds=time.perf_counter() - started, error=str(exc)[:200])
            raise
        usage = getattr(response, "usage", None)
        tokens = {
            "prompt_tokens": int(getattr(usage, "prompt_tokens", 0) or 0),
            "completion_tokens": int(getattr(usage, "completion_tokens", 0) or 0),
        }
        self.meter.record(self.role, **tokens)
        self.write_log(cache_hit=False, seconds=time.perf_counter() - started, **tokens)
        text = response.choices[0].message.content if response.choices else ""
        if self.use_cache and (text or "").strip():  # an empty reply may be transient; ask again
            with self.cache_lock:
                self.responses[key] = copy.deepcopy(response)
        return response

    def write_log(self, **entry: Any) -> None:
        if self.log is not None:
            line = json.dumps({"t": round(time.time(), 1), "role": self.role, "calls": self.meter.calls, **entry})
            with self.cache_lock, self.log.open("a") as handle:
                handle.write(line + "\n")


def restore(meter: Meter, log: Path) -> dict[str, Any]:
    """Charge the meter with the training calls an earlier, killed run logged; what it restored.

    A call still in flight when the run was killed was charged but never logged, so the restored
    count can be short by up to the number of threads. The in-memory call cache is not restored.
    """
    entries = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
    training = [entry for entry in entries if entry["role"] in ("task", "reflection")]
    for entry in training:
        if entry.get("cache_hit"):
            meter.record(entry["role"], cache_hits=1)
        else:
            tokens = {key: entry.get(key, 0) for key in ("prompt_tokens", "completion_tokens")}
            meter.record(entry["role"], calls=1, failed_calls=int("error" in entry), **tokens)
    span = training[-1]["t"] - training[0]["t"] if training else 0.0
    return {"resumed_at_calls": meter.calls, "wall_s_before_resume": round(span, 1)}


class LMBudgetStopper:
    """GEPA stop callback: stop before an iteration that might not fit in the LM calls left.

    ``reserve`` is the most calls one iteration makes when no reply needs a format fallback:
    the parent's minibatch, one reflection, the child's minibatch and, if the child is accepted,
    the whole validation set.
    """

    def __init__(self, meter: Meter, reserve: int) -> None:
        self.meter = meter
        self.reserve = reserve

    def __call__(self, gepa_state: Any) -> bool:
        return self.meter.limit is not None and self.meter.calls + self.reserve > self.meter.limit


@dataclass
class GepaSettings:
    """What the GEPA arm runs with; everything else is dspy.GEPA's default."""

    adapter: str
    budget: int
    reflection_minibatch_size: int = 3
    max_metric_calls: int = 100_000  # dspy.GEPA needs one budget; the LM-call stopper ends the run first
    num_threads: int = 2
    temperature: float = 0.0
    max_tokens: int = 512
    reflection_max_tokens: int = 512
    seed: int = 0
    call_cache: str = "in memory, per run (a repeated request is a free cache hit, as in ann)"


def signature_of(graph: Graph) -> type[dspy.Signature]:
    """The DSPy signature of a one-agent graph's call, exactly as ann frames it (role + instructions)."""
    layers = list(graph.layers.values())
    if len(layers) != 1 or len(layers[0].agents) != 1:
        raise SystemExit("the GEPA arms need a spec with one layer of one agent")
    layer, agent = layers[0], layers[0].agents[0]
    return agent.signature(list(layer.inputs), list(layer.outputs), graph.fields, graph.choices)


def make_lm(base: dspy.LM, meter: Meter, role: str, *, cache: bool, max_tokens: int, log: Path) -> MeteredLM:
    return MeteredLM(base.copy(max_tokens=max_tokens), meter, role, cache=cache, log=log)


def base_lm(model: str, api_base: str, *, settings: GepaSettings, num_retries: int, timeout_s: float) -> dspy.LM:
    """The task and reflection model: the benchmark's llama.cpp server, temperature 0, seeded."""
    return dspy.LM(
        model, engine="litellm", api_base=api_base, api_key="sk-local", cache=False,
        temperature=settings.temperature, max_tokens=settings.max_tokens, num_retries=num_retries,
        timeout=timeout_s, seed=settings.seed,
    )  # fmt: skip


def to_dspy(examples: list[Example], inputs: list[str]) -> list[dspy.Example]:
    return [
        dspy.Example(ann_id=e.id, **{name: e.inputs[name] for name in inputs}).with_inputs(*inputs) for e in examples
    ]


def gepa_metric(metric: Metric, examples: list[Example], outputs: list[str]) -> Callable[..., dspy.Prediction]:
    """The spec's metric as a GEPA feedback metric: its score and its feedback text."""
    by_id = {e.id: e for e in examples}

    def score(gold, pred, trace=None, pred_name=None, pred_trace=None) -> dspy.Prediction:
        values = {name: getattr(pred, name, None) for name in outputs} if pred is not None else {}
        result = metric(by_id[gold.ann_id], {k: v for k, v in values.items() if v is not None})
        return dspy.Prediction(score=result.score, feedback=result.feedback or f"score {result.score}")

    return score


def score_program(
    program: dspy.Module, examples: list[Example], metric: Metric, *, lm: MeteredLM, inputs: list[str], threads: int
) -> tuple[list[float], float]:
    """Per-example scores of a program (a failed call or parse scores 0), in example order, and the wall time."""
    outputs = list(program.signature.output_fields)

    def one(example: Example) -> float:
        with dspy.context(lm=lm):
            try:
                pred = program(**{name: example.inputs[name] for name in inputs})
                values = {name: getattr(pred, name) for name in outputs}
            except Exception as exc:  # noqa: BLE001 — a model or parse failure is a failed example
                values = {outputs[0]: f"# the call failed: {type(exc).__name__}"}
        return metric(example, values).score

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        scores = list(pool.map(one, examples))
    return scores, time.perf_counter() - started


@dataclass
class GepaOutcome:
    scores_before: list[float]
    scores_after: list[float]
    test_wall_s: dict[str, float]
    wall_s: float
    usage: dict[str, Any]
    test_usage: dict[str, Any]
    instructions_before: dict[str, str]
    instructions_after: dict[str, str]
    training: dict[str, Any]


def run_gepa(
    *,
    graph: Graph,
    train: list[Example],
    val: list[Example],
    test: list[Example],
    metric: Metric,
    base: dspy.LM,
    settings: GepaSettings,
    work: Path,
    resume: bool = False,
) -> GepaOutcome:
    """Test the spec's one-agent program, optimize it with dspy.GEPA on the budget, test the result."""
    adapter = AnnAdapter() if settings.adapter == "gepa-ann" else dspy.ChatAdapter()
    inputs = list(graph.inputs)
    student = dspy.Predict(signature_of(graph))
    meter, test_meter = Meter(settings.budget), Meter()
    if not resume:
        shutil.rmtree(work, ignore_errors=True)  # GEPA resumes from a run directory that exists
    work.mkdir(parents=True, exist_ok=True)
    log = work / "calls.jsonl"
    earlier = restore(meter, log) if resume else {}
    task_lm = make_lm(base, meter, "task", cache=True, max_tokens=settings.max_tokens, log=log)
    reflection_lm = make_lm(base, meter, "reflection", cache=True, max_tokens=settings.reflection_max_tokens, log=log)
    test_lm = make_lm(base, test_meter, "test", cache=False, max_tokens=settings.max_tokens, log=log)
    dspy.configure(lm=task_lm, adapter=adapter)

    def score_test(program: dspy.Module) -> tuple[list[float], float]:
        return score_program(program, test, metric, lm=test_lm, inputs=inputs, threads=settings.num_threads)

    saved = work / "test_before.json"
    if resume and saved.is_file():
        before, before_wall = json.loads(saved.read_text())
    else:
        before, before_wall = score_test(student)
        tmp = saved.with_suffix(".tmp")
        tmp.write_text(json.dumps([before, before_wall]))
        tmp.replace(saved)
    print(f"test before: {sum(before)}/{len(before)} ({before_wall:.0f} s)", flush=True)

    reserve = 2 * settings.reflection_minibatch_size + 1 + len(val)
    optimizer = dspy.GEPA(
        metric=gepa_metric(metric, train + val, list(student.signature.output_fields)),
        max_metric_calls=settings.max_metric_calls,
        reflection_lm=reflection_lm,
        reflection_minibatch_size=settings.reflection_minibatch_size,
        num_threads=settings.num_threads,
        seed=settings.seed,
        track_stats=True,
        log_dir=str(work / "gepa"),
        gepa_kwargs={"stop_callbacks": [LMBudgetStopper(meter, reserve)]},
    )
    started = time.perf_counter()
    trained = optimizer.compile(student, trainset=to_dspy(train, inputs), valset=to_dspy(val, inputs))
    wall = time.perf_counter() - started
    print(f"GEPA: {meter.calls} LM calls, {wall:.0f} s", flush=True)

    after, after_wall = score_test(trained)
    print(f"test after: {sum(after)}/{len(after)} ({after_wall:.0f} s)", flush=True)
    return GepaOutcome(
        scores_before=before,
        scores_after=after,
        test_wall_s={"before": before_wall, "after": after_wall},
        wall_s=wall,
        usage=meter.report(),
        test_usage=test_meter.report(),
        instructions_before={name: p.signature.instructions for name, p in student.named_predictors()},
        instructions_after={name: p.signature.instructions for name, p in trained.named_predictors()},
        training={**gepa_summary(trained, reserve), **earlier},
    )


def gepa_summary(trained: dspy.Module, reserve: int) -> dict[str, Any]:
    """What GEPA did: metric calls, candidates with their validation scores, which one won."""
    result = getattr(trained, "detailed_results", None)
    if result is None:
        return {"stopper_reserve": reserve}
    return {
        "stopper_reserve": reserve,
        "metric_calls": result.total_metric_calls,
        "full_val_evals": result.num_full_val_evals,
        "candidates": len(result.candidates),
        "val_scores": list(result.val_aggregate_scores),
        "parents": [list(p) if p is not None else None for p in result.parents],
        "best_idx": result.best_idx,
        "discovery_metric_calls": list(result.discovery_eval_counts),
        "candidate_instructions": [
            {name: p.signature.instructions for name, p in c.named_predictors()}
            if hasattr(c, "named_predictors")
            else c
            for c in result.candidates
        ],
    }
