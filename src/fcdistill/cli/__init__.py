"""The `fcdistill` command line: each command parses its flags, calls the stage function the
pipeline also calls, and prints. Importing a module registers its commands, in the pipeline's
order (the order `fcdistill --help` lists them)."""

# isort: off
from fcdistill.cli.common import app
from fcdistill.cli import chains  # noqa: F401  gold, generate, pairs
from fcdistill.cli import training  # noqa: F401  train
from fcdistill.cli import evaluate  # noqa: F401  eval, compare
from fcdistill.cli import run  # noqa: F401  run
from fcdistill.cli import use  # noqa: F401  solve, export, tasks, config, models
# isort: on

__all__ = ["app"]
