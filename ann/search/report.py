"""`ann search --report`: Optuna's own plots of a study, drawn with matplotlib to PNG files."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import optuna

from ann.io import atomic_write_bytes


def write_plots(study: optuna.Study, folder: Path) -> dict[str, str]:
    """History, parameter importance and (with a cost objective) Pareto front; what each became.

    A plot Optuna cannot draw yet (too few finished trials, a parameter that never varied) is
    reported as the reason instead of a file.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as plots

    multi = len(study.directions) > 1
    score = {"target": (lambda t: t.values[0]), "target_name": "validation score"} if multi else {}
    wanted = {
        "history": lambda: plots.plot_optimization_history(study, **score),
        "importance": lambda: plots.plot_param_importances(study, **score),
    }
    if multi:
        wanted["pareto"] = lambda: plots.plot_pareto_front(study, target_names=["validation score", "calls / example"])
    written: dict[str, str] = {}
    for name, draw in wanted.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna marks its matplotlib plots experimental
            try:
                axes = draw()
            except (ValueError, RuntimeError) as exc:
                written[name] = f"not drawn: {exc}"
                continue
        figure = axes.figure if hasattr(axes, "figure") else axes.flat[0].figure
        figure.set_size_inches(8, 5)
        figure.tight_layout()
        path = folder / f"{name}.png"
        buffer = _png(figure)
        plt.close(figure)
        atomic_write_bytes(path, buffer)
        written[name] = str(path)
    return written


def _png(figure: object) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)  # type: ignore[attr-defined]
    return buffer.getvalue()
