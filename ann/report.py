"""The training report: report.md with a validation curve (PNG) and each param's before/after text."""

from __future__ import annotations

import io
import json
from pathlib import Path

from ann.io import atomic_write_bytes, atomic_write_text
from ann.optimizers.history import StepRecord, TrainingRun


def write_history(run: TrainingRun, path: Path) -> None:
    """history.jsonl: one line per step — changes, their gradients, validation score, accepted."""
    atomic_write_text(path, "".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in run.history))


def plot_curve(run: TrainingRun, path: Path) -> None:
    """Validation score of each proposal and the best so far, per step."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    steps = [0] + [r.step for r in run.history]
    best = [run.baseline_score] + [r.best_score for r in run.history]
    tried = [(r.step, r.val_score) for r in run.history if r.val_score is not None]
    kept = [(r.step, r.val_score) for r in run.history if r.val_score is not None and r.accepted]
    figure, axes = plt.subplots(figsize=(6, 3.2), dpi=110)
    axes.step(steps, best, where="post", label="best (kept)", color="tab:blue")
    if tried:
        axes.scatter(*zip(*tried, strict=True), label="proposal", color="tab:gray", s=18, zorder=3)
        if kept:
            axes.scatter(*zip(*kept, strict=True), label="accepted", color="tab:green", s=30, zorder=4)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("step")
    axes.set_ylabel("validation score")
    axes.set_ylim(-0.05, 1.05)
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    image = io.BytesIO()
    figure.savefig(image, format="png")
    plt.close(figure)
    atomic_write_bytes(path, image.getvalue())


def _row(record: StepRecord) -> str:
    val = "—" if record.val_score is None else f"{record.val_score:.3f}"
    verdict = "kept" if record.accepted else ("reverted" if record.val_score is not None else record.note)
    changed = ", ".join(c["param"] for c in record.changes) or "—"
    train = "—" if record.train_score is None else f"{record.train_score:.3f}"
    return f"| {record.step} | {record.epoch + 1} | {train} | {val} | {verdict} | {changed} |"


def _structure_section(run: TrainingRun) -> list[str]:
    edits = [r for r in run.history if r.note.startswith("structure:") and r.val_score is not None]
    if not edits:
        return []
    lines = ["## Structural edits", "", "| step | edit | validation | verdict |", "| ---: | --- | ---: | --- |"]
    for r in edits:
        verdict = "kept" if r.accepted else "reverted"
        lines.append(f"| {r.step} | {r.note.removeprefix('structure: ')} | {r.val_score:.3f} | {verdict} |")
    return [*lines, ""]


def write_report(
    run: TrainingRun, before: dict[str, str], after: dict[str, str], path: Path, *, title: str, model: str
) -> None:
    """report.md beside its curve.png."""
    plot_curve(run, path.parent / "curve.png")
    lines = [
        f"# Training report — {title}",
        "",
        f"- validation score: **{run.baseline_score:.3f} → {run.best_score:.3f}**",
        f"- steps: {len(run.history)}, accepted: {sum(r.accepted for r in run.history)}; stopped: {run.stopped}",
        f"- model: {model}",
        f"- calls: {run.usage.calls} (+{run.usage.cache_hits} from cache), tokens: "
        f"{run.usage.prompt_tokens} in / {run.usage.completion_tokens} out, cost: ${run.usage.cost:.4f}, "
        f"time: {run.elapsed_s:.0f} s",
        "",
        "![validation score per step](curve.png)",
        "",
        "## Steps",
        "",
        "| step | epoch | train | validation | verdict | changed |",
        "| ---: | ---: | ---: | ---: | --- | --- |",
        *(_row(r) for r in run.history),
        "",
        *_structure_section(run),
        "## Params",
        "",
    ]
    changed = [name for name in after if before.get(name) != after[name]]
    if not changed:
        lines.append("No param changed: no proposal raised the validation score.")
    for name in changed:
        old = "(none: a structural edit added it)" if name not in before else before[name] or "(empty)"
        lines += [f"### `{name}`", "", "before:", "", f"> {old}", "", "after:", "",
                  f"> {after[name] or '(empty)'}", ""]  # fmt: skip
    atomic_write_text(path, "\n".join(lines) + "\n")
