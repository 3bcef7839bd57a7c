"""Model names: the embedded models and their conversion to Hugging Face checkpoints."""

from fcdistill.models.embedded import DEFAULT_MODEL, EMBEDDED, prepare, resolve

__all__ = ["DEFAULT_MODEL", "EMBEDDED", "prepare", "resolve"]
