"""Optimizers: the textual loss, the backward pass, textual gradient descent and the training loop."""

from ann.optimizers.backward import backward
from ann.optimizers.budget import Budget, BudgetExceeded
from ann.optimizers.compile import ANNOptimizer, DraftSettings, TrainingRun
from ann.optimizers.draft import refine_tool
from ann.optimizers.history import StepRecord
from ann.optimizers.loss import LossItem, TextLoss
from ann.optimizers.optimizer import Optimizer
from ann.optimizers.rewrite_rules import check_rewrite
from ann.optimizers.tgd import Change, Proposal, TextualGradientDescent

__all__ = [
    "ANNOptimizer",
    "Budget",
    "BudgetExceeded",
    "Change",
    "DraftSettings",
    "LossItem",
    "Optimizer",
    "Proposal",
    "StepRecord",
    "TextLoss",
    "TextualGradientDescent",
    "TrainingRun",
    "backward",
    "check_rewrite",
    "refine_tool",
]
