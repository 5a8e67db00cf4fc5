"""Optimizers: textual gradients, the training loop and search (see the textual-backprop issue)."""
