"""The `search:` section: validation, dimensions, grid size, and how a trial's choices change a spec."""

import pytest
from pydantic import ValidationError

from ann.errors import ConfigError
from ann.search.space import FloatRange, IntRange, SearchSpec, default_space
from ann.search.trial import apply, check_space, suggest
from ann.spec import Spec

SPEC = {
    "name": "t", "inputs": ["q"], "outputs": ["a"],
    "graph": {"layers": [
        {"name": "read", "inputs": ["q"], "outputs": ["facts"], "agents": [{"name": "reader"}]},
        {"name": "solve", "inputs": ["facts"], "outputs": ["a"], "aggregator": "best_of_n",
         "options": {"rubric": "be right"}, "agents": [{"name": "x", "role": "a solver"}, {"name": "y"}]},
    ]},
}  # fmt: skip


class FixedTrial:
    """Stands in for an Optuna trial: every suggest_* returns the value set for its name."""

    def __init__(self, values: dict) -> None:
        self.values = values

    def suggest_categorical(self, name, choices):
        assert self.values[name] in choices
        return self.values[name]

    def suggest_int(self, name, low, high, step=1, log=False):
        assert low <= self.values[name] <= high
        return self.values[name]

    def suggest_float(self, name, low, high, step=None, log=False):
        assert low <= self.values[name] <= high
        return self.values[name]


def test_a_space_names_its_dimensions_and_counts_its_grid() -> None:
    space = SearchSpec.model_validate({
        "model": ["a", "b"],
        "layers": {"solve": {"aggregator": ["vote", "single"], "samples": {"low": 1, "high": 5, "step": 2}}},
        "train": {"demos": [0, 3], "lr": {"low": 0.2, "high": 1.0, "step": 0.4}},
    })  # fmt: skip
    dims = space.dimensions()
    assert list(dims) == ["model", "solve.aggregator", "solve.samples", "train.demos", "train.lr"]
    assert dims["solve.samples"] == IntRange(low=1, high=5, step=2)
    assert space.grid_size() == 2 * 2 * 3 * 2 * 3
    unbounded = SearchSpec.model_validate({"train": {"lr": {"low": 0.1, "high": 1.0}}})
    assert isinstance(unbounded.train.lr, FloatRange)
    assert unbounded.grid_size() is None


@pytest.mark.parametrize("bad", [
    {"layers": {"solve": {"samples": {"low": 5, "high": 1}}}},
    {"layers": {"solve": {"aggregator": []}}},
    {"layers": {"solve": {"temprature": [0.0]}}},
    {"train": {"demo_source": ["invented"]}},
    {"train": {"lr": {"low": 0.0, "high": 1.0, "log": True}}},
])  # fmt: skip
def test_a_bad_space_is_refused_by_the_spec(bad) -> None:
    with pytest.raises(ValidationError):
        Spec.model_validate({**SPEC, "search": bad})


def test_a_space_naming_an_unknown_layer_fails_before_any_trial() -> None:
    spec = Spec.model_validate({**SPEC, "search": {"layers": {"slove": {"samples": [1, 2]}}}})
    with pytest.raises(ConfigError, match=r"spec.yaml: search.layers.slove: no such layer; the graph has read, solve"):
        check_space(spec, spec.search, "spec.yaml", training=False)


def test_training_choices_without_a_compile_are_refused() -> None:
    spec = Spec.model_validate({**SPEC, "search": {"train": {"demos": [0, 3]}}})
    with pytest.raises(ConfigError, match=r"search.train: trials run no compile.*--compile-calls"):
        check_space(spec, spec.search, "spec.yaml", training=False)
    check_space(spec, spec.search, "spec.yaml", training=True)


def test_a_trial_changes_a_copy_of_the_spec() -> None:
    spec = Spec.model_validate(SPEC)
    space = SearchSpec.model_validate({
        "model": ["m1"], "layers": {"solve": {"aggregator": ["vote"], "agents": [3], "temperature": [0.5]}},
        "train": {"demos": [2]},
    })  # fmt: skip
    chosen = suggest(FixedTrial({"model": "m1", "solve.aggregator": "vote", "solve.agents": 3,
                                 "solve.temperature": 0.5, "train.demos": 2}), space)  # fmt: skip
    setup = apply(spec, chosen)
    solve = setup.spec.graph.layers[1]
    assert solve.aggregator == "vote" and solve.options == {}  # best_of_n's rubric means nothing to vote
    assert [a.name for a in solve.agents] == ["x", "y", "x_2"]
    assert solve.agents[2].role == "a solver"
    assert solve.temperature == 0.5
    assert setup.train == {"demos": 2}
    assert setup.model == "m1" and setup.spec.model.name == "m1"
    assert spec.graph.layers[1].aggregator == "best_of_n" and len(spec.graph.layers[1].agents) == 2  # untouched
    assert setup.spec.graph.layers[0] == spec.graph.layers[0]


def test_a_smaller_team_keeps_its_first_agents_and_an_unchanged_type_keeps_its_options() -> None:
    spec = Spec.model_validate(SPEC)
    setup = apply(spec, {"solve.agents": 1, "solve.aggregator": "best_of_n"})
    solve = setup.spec.graph.layers[1]
    assert [a.name for a in solve.agents] == ["x"]
    assert solve.options == {"rubric": "be right"}


def test_the_default_space_tries_each_layer_against_single_and_vote() -> None:
    space = default_space([("read", "single"), ("solve", "best_of_n")], training=True)
    assert space.layers["read"].aggregator == ["single", "vote"]
    assert space.layers["solve"].aggregator == ["best_of_n", "single", "vote"]
    assert space.grid_size() == (2 * 2) * (3 * 2) * 2
    assert default_space([("read", "single")], training=False).dimensions() == {
        "read.aggregator": ["single", "vote"], "read.samples": [1, 3]}  # fmt: skip
