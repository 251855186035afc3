"""Named recipes as plain data and the steps a recipe runs: train a model over folds, stack, submit.

The floor between the command lines (recipes.py, train.py, submit.py; the --budget planner) and the
packages they drive (models, ensemble, folds): the commands parse arguments and call these functions,
and nothing here imports a command (docs/layout.md)."""
