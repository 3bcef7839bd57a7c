"""YAML settings files read into pydantic models, with errors that name the file and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigFileError(ValueError):
    pass


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot read the config file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigFileError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigFileError(f"{path}: the config must be a mapping of settings, got {type(data).__name__}")
    return data


def load_yaml_model(path: Path | None, model: type[M], overrides: dict[str, Any] | None = None) -> M:
    data = read_yaml(path) if path is not None else {}
    return model.model_validate({**data, **(overrides or {})})


def format_validation_error(exc: ValidationError, path: Path | None = None) -> str:
    """One line per problem: `file: field.sub: message`."""
    lines = []
    for problem in exc.errors():
        field = ".".join(str(p) for p in problem["loc"]) or "(top level)"
        lines.append(f"{path}: {field}: {problem['msg']}" if path else f"{field}: {problem['msg']}")
    return "invalid settings:\n  " + "\n  ".join(lines)
