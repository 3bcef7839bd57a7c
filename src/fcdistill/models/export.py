"""A trained student to a GGUF file that llama.cpp and Ollama load, plus an Ollama Modelfile.

The embedded models arrived as GGUF files, and a student keeps its base model's architecture
and tokenizer: the base GGUF's metadata (tokenizer, chat template, hyper-parameters) is carried
over, and its tensors are replaced by the student's, named and laid out as the base file has
them. `gguf` (llama.cpp's own Python package) holds the HF -> GGUF tensor-name maps, the writer
and the quantizers; what is written here is only the glue: the layouts transformers undoes when
it reads a GGUF (llama's rotary permutation of q/k, Gemma's norm weights stored as 1 + w) are
redone.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import gguf
import numpy as np
from safetensors.numpy import load_file

from fcdistill.models.embedded import EMBEDDED, cache_dir

TYPES = {"f16": gguf.GGMLQuantizationType.F16, "q8_0": gguf.GGMLQuantizationType.Q8_0}
BASES = {"llama": "smollm2-135m", "gemma3_text": "gemma3-270m"}


class ExportError(ValueError):
    """A model that cannot be exported; the message says why and what to do."""


def _permute(weights: np.ndarray, n_head: int, n_kv: int) -> np.ndarray:
    """llama.cpp's rotary layout of a q/k projection (the inverse of transformers' reverse permute)."""
    heads = n_kv if n_kv != n_head else n_head
    return (
        weights.reshape(heads, 2, weights.shape[0] // heads // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def _state(model_dir: Path) -> dict[str, np.ndarray]:
    files = sorted(model_dir.glob("*.safetensors"))
    if not files:
        raise ExportError(f"{model_dir} has no *.safetensors weights; export a model fcdistill train saved (DIR/model)")
    state: dict[str, np.ndarray] = {}
    for file in files:
        state.update(load_file(file))
    return state


def export_gguf(
    model_dir: Path, out: Path, type_: str = "f16", base: str | None = None, log: Callable[[str], None] = print
) -> Path:
    """Write `out` (a .gguf file): the model in `model_dir` with `type_` weights (f16 or q8_0;
    norms and other 1-D tensors stay f32), the metadata of its base model's GGUF."""
    if type_ not in TYPES:
        raise ExportError(f"--type: choose one of {', '.join(TYPES)}, not {type_!r}")
    config_path = model_dir / "config.json"
    if not config_path.is_file():
        raise ExportError(
            f"{model_dir} has no config.json; export a model directory (e.g. runs/default/round-1/train/model)"
        )
    config = json.loads(config_path.read_text())
    base = base or BASES.get(config.get("model_type", ""))
    if base not in EMBEDDED:
        raise ExportError(
            f"{model_dir}: model type {config.get('model_type')!r} has no embedded base GGUF to carry "
            f"metadata from; exportable: {', '.join(BASES.values())} students"
        )
    reader = gguf.GGUFReader(EMBEDDED[base].locate(cache_dir()))
    arch = reader.get_field(gguf.Keys.General.ARCHITECTURE).contents()
    names = gguf.get_tensor_name_map(
        next(a for a, n in gguf.MODEL_ARCH_NAMES.items() if n == arch), config["num_hidden_layers"]
    )
    state = _state(model_dir)
    by_gguf = {}
    for key in state:
        name = names.get_name(key, try_suffixes=(".weight", ".bias"))
        if name is not None:
            by_gguf[name] = key
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(out, arch)
    for field in reader.fields.values():
        if (
            field.name == gguf.Keys.General.ARCHITECTURE
            or field.name.startswith("GGUF.")
            or field.name == gguf.Keys.General.FILE_TYPE
        ):
            continue
        kind = field.types[0]
        writer.add_key_value(
            field.name, field.contents(), kind, sub_type=field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        )
    writer.add_file_type({"f16": gguf.LlamaFileType.MOSTLY_F16, "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}[type_])
    n_head, n_kv = config["num_attention_heads"], config.get("num_key_value_heads", config["num_attention_heads"])
    for tensor in reader.tensors:
        key = by_gguf.get(tensor.name)
        if key is None:
            raise ExportError(f"{model_dir}: no weight for the base GGUF's tensor {tensor.name}")
        data = np.asarray(state[key], dtype=np.float32)
        if arch == "llama" and ".attn_q." in tensor.name:
            data = _permute(data, n_head, n_head)
        elif arch == "llama" and ".attn_k." in tensor.name:
            data = _permute(data, n_head, n_kv)
        elif arch.startswith("gemma") and tensor.name.endswith("norm.weight"):
            data = data + 1
        if data.ndim == 1:
            writer.add_tensor(tensor.name, data)
        elif type_ == "f16":
            writer.add_tensor(tensor.name, data.astype(np.float16))
        else:
            writer.add_tensor(tensor.name, gguf.quants.quantize(data, TYPES[type_]), raw_dtype=TYPES[type_])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    log(f"{out}: {out.stat().st_size / 1e6:.0f} MB ({type_}), metadata and chat template from {base}'s GGUF")
    return out


def modelfile(gguf_file: Path, system: str | None = None) -> str:
    """An Ollama Modelfile for the export: `ollama create NAME -f Modelfile`. The chat template is
    the one inside the GGUF; the agent sends the system prompt with the functions itself."""
    lines = [f"FROM ./{gguf_file.name}", "PARAMETER temperature 0", "PARAMETER num_ctx 4096"]
    if system:
        lines.append(f'SYSTEM """{system}"""')
    return "\n".join(lines) + "\n"
