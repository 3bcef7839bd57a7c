"""Token sequences for DPO in which only the model's own words count.

A chain-level pair's completion alternates the model's calls with function results (and,
in the rendered text, the template's turn headers). TRL scores every completion token; here
each completion token also carries a mask that is 1 only where the model wrote the token
(its call and its end-of-turn marker) and 0 on function results and template text, so
the DPO log-probabilities, and the NLL term, count the model's words alone.
"""

from __future__ import annotations

import json
from typing import Any

from transformers import PreTrainedTokenizerBase

from fcdistill.backends.render import Renderer
from fcdistill.records import Message


class RenderError(ValueError):
    """The model's template cannot render a pair turn by turn."""


def model_spans(
    renderer: Renderer, messages: list[Message], start: int, tools: list[dict[str, Any]] | None
) -> tuple[str, list[tuple[int, int]]]:
    """The full text of `messages` and the character spans the model wrote in `messages[start:]`.

    An assistant turn spans from the end of the conversation rendered up to it (with the
    generation prompt) to the end of the conversation rendered through it."""
    text = renderer.render(messages, tools, generation_prompt=False)
    spans = []
    for i in range(start, len(messages)):
        if messages[i]["role"] != "assistant":
            continue
        before = renderer.render(messages[:i], tools, generation_prompt=True)
        through = renderer.render(messages[: i + 1], tools, generation_prompt=False)
        if not (text.startswith(through) and through.startswith(before)):
            raise RenderError(
                f"the chat template does not render the conversation turn by turn (turn {i} changes earlier text), "
                "so function results cannot be told apart from the model's words"
            )
        spans.append((len(before), len(through)))
    return text, spans


def encode_completion(
    renderer: Renderer, prompt: list[Message], completion: list[Message], tools: list[dict[str, Any]] | None
) -> tuple[list[int], list[int], list[int]]:
    """(prompt ids, completion ids, completion mask) of one side of a pair."""
    tokenizer: PreTrainedTokenizerBase = renderer.tokenizer
    prompt_text = renderer.render(prompt, tools, generation_prompt=True)
    text, spans = model_spans(renderer, prompt + completion, len(prompt), tools)
    if not text.startswith(prompt_text):
        raise RenderError("the rendered prompt is not a prefix of the rendered prompt and completion")
    enc = tokenizer(text, add_special_tokens=renderer.add_special_tokens, return_offsets_mapping=True)
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    # A token belongs to the prompt when it starts inside the prompt text (special tokens
    # added by the tokenizer have empty offsets at 0).
    n_prompt = sum(1 for s, _ in offsets if s < len(prompt_text))
    mask = [int(any(a <= s < b for a, b in spans)) for s, _ in offsets[n_prompt:]]
    return ids[:n_prompt], ids[n_prompt:], mask


def encode_pair(renderer: Renderer, example: dict[str, Any]) -> dict[str, list[int]]:
    """TRL's `prompt_ids` / `chosen_ids` / `rejected_ids`, plus `chosen_mask` / `rejected_mask`.

    Conversational pairs render through the model's template; plain-text pairs (TRL's
    standard format) are prompt + completion + EOS, every completion token the model's."""
    if isinstance(example["prompt"], str):
        tokenizer = renderer.tokenizer
        prompt_ids = tokenizer(example["prompt"], add_special_tokens=renderer.add_special_tokens)["input_ids"]
        sides = {
            k: tokenizer(example[k], add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
            for k in ("chosen", "rejected")
        }
        return {
            "prompt_ids": prompt_ids,
            "chosen_ids": sides["chosen"],
            "rejected_ids": sides["rejected"],
            "chosen_mask": [1] * len(sides["chosen"]),
            "rejected_mask": [1] * len(sides["rejected"]),
        }
    tools = example.get("tools")
    tools = json.loads(tools) if isinstance(tools, str) else tools
    prompt_ids, chosen_ids, chosen_mask = encode_completion(renderer, example["prompt"], example["chosen"], tools)
    prompt_ids_r, rejected_ids, rejected_mask = encode_completion(
        renderer, example["prompt"], example["rejected"], tools
    )
    if prompt_ids != prompt_ids_r:  # a token merged across the prompt's end differently
        n = next(
            (i for i, (a, b) in enumerate(zip(prompt_ids, prompt_ids_r)) if a != b),
            min(len(prompt_ids), len(prompt_ids_r)),
        )
        chosen_ids, chosen_mask = prompt_ids[n:] + chosen_ids, [0] * (len(prompt_ids) - n) + chosen_mask
        rejected_ids, rejected_mask = prompt_ids_r[n:] + rejected_ids, [0] * (len(prompt_ids_r) - n) + rejected_mask
        prompt_ids = prompt_ids[:n]
    return {
        "prompt_ids": prompt_ids,
        "chosen_ids": chosen_ids,
        "rejected_ids": rejected_ids,
        "chosen_mask": chosen_mask,
        "rejected_mask": rejected_mask,
    }
