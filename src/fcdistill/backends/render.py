"""How a conversation becomes the text a local model reads: its chat template, or a plain
transcript for base models. Generation and training both render through here, so the
student is trained on exactly the text it later sees."""

from __future__ import annotations

from typing import Any

from transformers import PreTrainedTokenizerBase

from fcdistill.records import Message

PLAIN_STOP = "\n"  # base models write one `Call:` line; the line break ends their turn


def render_plain(messages: list[Message], generation_prompt: bool = True) -> str:
    """The system text, then `Problem:` / `Call:` / `Result:` lines. With `generation_prompt`
    it ends on `Call:` for the model to complete; without, each turn ends with its line break."""
    lines: list[str] = []
    for m in messages:
        content = (m.get("content") or "").strip()
        if m["role"] == "system":
            lines.append(content)
        elif m["role"] == "assistant":
            lines.append(f"Call: {content}")
        elif m["role"] == "tool":
            lines.append(f"Result: {content}")
        elif content.startswith(("Result:", "Error:")):
            lines.append(content)
        else:
            lines.append(f"\nProblem: {content}")
    text = "\n".join(lines)
    return text + "\nCall:" if generation_prompt else text + PLAIN_STOP


class Renderer:
    def __init__(self, tokenizer: PreTrainedTokenizerBase) -> None:
        self.tokenizer = tokenizer
        self.chat = bool(tokenizer.chat_template)
        self.native_tools = self.chat and self._template_renders_tools()
        # Chat templates write their own special tokens; plain transcripts get the tokenizer's (BOS).
        self.add_special_tokens = not self.chat
        self.stop = [] if self.chat else [PLAIN_STOP]

    def _template_renders_tools(self) -> bool:
        probe = [{"role": "user", "content": "hi"}]
        tool = {
            "type": "function",
            "function": {"name": "ProbeTool", "description": "x", "parameters": {"type": "object", "properties": {}}},
        }
        try:
            text = self.tokenizer.apply_chat_template(probe, tools=[tool], tokenize=False)
        except Exception:  # templates raise arbitrary errors on unknown arguments
            return False
        return "ProbeTool" in text

    def render(
        self, messages: list[Message], tools: list[dict[str, Any]] | None = None, *, generation_prompt: bool = True
    ) -> str:
        if not self.chat:
            return render_plain(messages, generation_prompt)
        return self.tokenizer.apply_chat_template(
            messages,
            tools=tools if self.native_tools else None,
            add_generation_prompt=generation_prompt,
            tokenize=False,
        )
