"""`ann search`: an Optuna study over a spec's discrete choices (team types, sizes, models, settings).

The space lives in `ann.search.space` (light: the spec imports it); the study, the trial and the
reports import Optuna, so they load only when a search runs.
"""
