"""Optimizers: the textual loss, the backward pass, textual gradient descent and the training loop."""

from ann.optimizers.backward import backward
from ann.optimizers.budget import Budget, BudgetExceeded
from ann.optimizers.draft import refine_tool
from ann.optimizers.gate import Gate, Verdict
from ann.optimizers.guards import Guards
from ann.optimizers.history import StepRecord, TrainingRun
from ann.optimizers.loop import ANNOptimizer
from ann.optimizers.loss import LossItem, TextLoss
from ann.optimizers.optimizer import Optimizer
from ann.optimizers.proposers.draft import DraftSettings
from ann.optimizers.rewrite_rules import check_rewrite
from ann.optimizers.tgd import Change, Proposal, TextualGradientDescent

__all__ = [
    "ANNOptimizer",
    "Budget",
    "BudgetExceeded",
    "Change",
    "DraftSettings",
    "Gate",
    "Guards",
    "LossItem",
    "Optimizer",
    "Proposal",
    "StepRecord",
    "TextLoss",
    "TextualGradientDescent",
    "TrainingRun",
    "Verdict",
    "backward",
    "check_rewrite",
    "refine_tool",
]
