"""Several train.py commands (a recipe's steps) at once on Ray: every fold of every step is queued
together, so a GPU model's folds and a CPU model's folds run side by side; then one table a step,
as the sequential recipe prints."""
from __future__ import annotations

from parallel.train_on_ray import train_on_ray


def train_steps_on_ray(commands: list[list[str]], workers: str | None, address: str | None,
                       quiet: bool = False) -> list[tuple[str, list[dict], dict | None]]:
    """`commands`: train.py argument lists. Returns each one's (name, fold summaries, metrics)."""
    import train
    from models.catalogue import check_model_name

    parsed = [train.build_parser().parse_args(command) for command in commands]
    for command in parsed:
        check_model_name(command.model)  # a typo is refused before Ray starts
    results = train_on_ray(parsed, workers, address, quiet=quiet)
    for name, summaries, metrics in results:
        train.print_table(name, summaries, metrics)
    return results
