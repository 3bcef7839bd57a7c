"""`python -m fcdistill`, which is also how `accelerate launch -m fcdistill train ...` runs it."""

from fcdistill.cli import app

app()
