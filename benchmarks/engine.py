"""Engine benchmark: scheduling efficiency and per-call overhead, ann vs DSPy, in one run.

1. Wall time of a 3-layer graph (3 agents per layer) over 40 examples against a loopback
   OpenAI-compatible server with a fixed latency, divided by the ideal time at the same
   concurrency (every slot busy: ceil(calls / concurrency) x latency, and never less than the
   critical path of one example), and the client's CPU time per call. The same work as a DSPy
   program under ``dspy.Evaluate`` is measured beside it.
2. Per-call overhead at zero server latency, one call at a time: ann's framed agent call vs a
   bare ``dspy.Predict`` through the same LiteLLM engine and the same server.

The server runs in a process of its own (``--serve``), so its threads do not take the client's GIL
and the client's CPU time is the client's alone.

Run: .venv/bin/python benchmarks/engine.py [--examples 40 --latency 0.2 --concurrency 4,16 --calls 200]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import dspy  # noqa: E402

from ann import Agent, Example, Graph, Layer  # noqa: E402
from ann.lm import ModelClient, ModelConfig  # noqa: E402
from ann.testing import OpenAIServer  # noqa: E402

LAYERS, AGENTS = 3, 3


def ann_graph(client: ModelClient) -> Graph:
    fields = ["question", "notes", "draft", "answer"]
    layers = [
        Layer(
            f"l{i}",
            [Agent(f"a{j}", role=f"agent {j}", instructions="Answer briefly.") for j in range(AGENTS)],
            "vote",
            inputs=[fields[i]],
            outputs=[fields[i + 1]],
        )
        for i in range(LAYERS)
    ]
    return Graph(layers, inputs=["question"], outputs=["answer"], lm=client)


class DspyThreeStage(dspy.Module):
    """The same work in DSPy: three stages of three predictors, run one after another."""

    def __init__(self) -> None:
        super().__init__()
        self.stages = [[dspy.Predict(f"{a} -> {b}") for _ in range(AGENTS)] for a, b in
                       (("question", "notes"), ("notes", "draft"), ("draft", "answer"))]  # fmt: skip

    def forward(self, question: str) -> dspy.Prediction:
        value = question
        for stage in self.stages:
            name = next(iter(stage[0].signature.input_fields))
            outputs = [predict(**{name: value}) for predict in stage]
            value = next(iter(outputs[0].values()))
        return dspy.Prediction(answer=value)


def dspy_reply(request: dict) -> str:
    """A reply DSPy's ChatAdapter parses for any of the three stages (it ignores extra fields)."""
    return "".join(f"[[ ## {name} ## ]]\n42\n\n" for name in ("notes", "draft", "answer")) + "[[ ## completed ## ]]"


REPLIES = {"ann": lambda request: "42", "dspy": dspy_reply}


def serve(reply: str, latency: float) -> None:
    """The server process: print the base URL, answer "count" lines with the request count, stop at EOF."""
    with OpenAIServer(reply=REPLIES[reply], latency_s=latency) as server:
        print(server.base_url, flush=True)
        for line in sys.stdin:
            if line.strip() == "count":
                print(server.request_count, flush=True)


class ServerProcess:
    """An ``OpenAIServer`` in a child process (this script with ``--serve``); lives until closed."""

    def __init__(self, reply: str, latency: float = 0.0) -> None:
        command = [sys.executable, __file__, "--serve", reply, "--latency", str(latency)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.base_url = self._line()

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line:
            raise RuntimeError(f"the benchmark server exited with {self.process.wait()}")
        return line

    @property
    def request_count(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.write("count\n")
        self.process.stdin.flush()
        return int(self._line())

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


def client_for(server: ServerProcess, concurrency: int) -> ModelClient:
    config = ModelConfig("openai/bench", api_base=server.base_url, api_key="sk-bench", num_retries=0)
    return ModelClient(config, cache=None, concurrency=concurrency)


def dspy_lm(server: ServerProcess) -> dspy.LM:
    return dspy.LM("openai/bench", engine="litellm", api_base=server.base_url, api_key="sk-bench", cache=False,
                   num_retries=0)  # fmt: skip


def scheduling(examples: int, latency: float, concurrency: int) -> tuple[float, float, float, float, float]:
    """Ideal time, then wall time and client CPU seconds per call of ann and of DSPy on the same work.

    Each side is warmed up first (imports, clients).
    """
    calls = examples * LAYERS * AGENTS
    ideal = max(math.ceil(calls / concurrency) * latency, LAYERS * latency)
    data = [Example(inputs={"question": f"q{i}"}, id=str(i)) for i in range(examples)]
    with ServerProcess("ann", latency) as server:
        graph = ann_graph(client_for(server, concurrency))
        graph.batch(data[:2])
        before = server.request_count
        started, cpu = time.perf_counter(), time.process_time()
        results = graph.batch(data)
        ann_wall, ann_cpu = time.perf_counter() - started, (time.process_time() - cpu) / calls
        assert all(r.error is None for r in results) and server.request_count - before == calls
    with ServerProcess("dspy", latency) as server:
        program = DspyThreeStage()
        devset = [dspy.Example(question=f"q{i}", answer="42").with_inputs("question") for i in range(examples)]
        evaluate = dspy.Evaluate(devset=devset, num_threads=concurrency, display_progress=False)
        warmup = dspy.Evaluate(devset=devset[:2], num_threads=concurrency, display_progress=False)
        with dspy.context(lm=dspy_lm(server)):
            warmup(program, metric=lambda e, p, t=None: 1.0)
            before = server.request_count
            started, cpu = time.perf_counter(), time.process_time()
            evaluate(program, metric=lambda e, p, t=None: 1.0)
            dspy_wall, dspy_cpu = time.perf_counter() - started, (time.process_time() - cpu) / calls
        assert server.request_count - before == calls, server.request_count
    return ideal, ann_wall, ann_cpu, dspy_wall, dspy_cpu


def per_call(calls: int) -> tuple[float, float, float]:
    with ServerProcess("ann") as server:
        client = client_for(server, 1)
        agent = Agent("a", role="a solver", instructions="Answer briefly.")
        graph = Graph([Layer("s", [agent], inputs=["question"], outputs=["answer"])], inputs=["question"],
                      outputs=["answer"], lm=client)  # fmt: skip

        async def ann_calls() -> list[float]:
            times = []
            for i in range(calls):
                started = time.perf_counter()
                await graph.acall(question=f"q{i}")
                times.append(time.perf_counter() - started)
            return times

        ann_times = asyncio.run(ann_calls())
    with ServerProcess("dspy") as server:
        predict = dspy.Predict("question -> answer")
        dspy_times = []
        with dspy.context(lm=dspy_lm(server)):
            for i in range(calls):
                started = time.perf_counter()
                predict(question=f"q{i}")
                dspy_times.append(time.perf_counter() - started)
    with ServerProcess("ann") as server:
        lm = dspy_lm(server)
        raw_times = []
        for i in range(calls):
            started = time.perf_counter()
            lm.forward(messages=[{"role": "user", "content": f"q{i}"}])
            raw_times.append(time.perf_counter() - started)
    return statistics.median(ann_times), statistics.median(dspy_times), statistics.median(raw_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", default="4,8,16,32,64", help="comma-separated concurrency levels")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--serve", choices=sorted(REPLIES), help=argparse.SUPPRESS)  # the server process
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.latency)
        return
    python = platform.python_version()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {python}, dspy {dspy.__version__}, "
          f"load average {load}")  # fmt: skip
    calls = args.examples * LAYERS * AGENTS
    print(f"scheduling: {args.examples} examples x {LAYERS} layers x {AGENTS} agents = {calls} calls, "
          f"server latency {args.latency}s; wall time / ideal time at the same concurrency")  # fmt: skip
    print("  concurrency   ideal s   ann s  ann/ideal  ann cpu ms/call   dspy s  dspy/ideal  dspy cpu ms/call")
    for concurrency in (int(c) for c in args.concurrency.split(",")):
        ideal, ann_wall, ann_cpu, dspy_wall, dspy_cpu = scheduling(args.examples, args.latency, concurrency)
        print(f"  {concurrency:11d} {ideal:9.2f} {ann_wall:7.2f} {ann_wall / ideal:10.3f} {ann_cpu * 1000:16.2f} "
              f"{dspy_wall:8.2f} {dspy_wall / ideal:11.3f} {dspy_cpu * 1000:17.2f}", flush=True)  # fmt: skip
    ann_call, dspy_call, raw_call = per_call(args.calls)
    print(f"per call (median of {args.calls}, zero server latency, one at a time):")
    print(f"  bare dspy.LM.forward {raw_call * 1000:7.2f} ms")
    print(f"  dspy.Predict         {dspy_call * 1000:7.2f} ms")
    print(f"  ann agent call       {ann_call * 1000:7.2f} ms   = {ann_call / dspy_call:.3f} x dspy.Predict")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
