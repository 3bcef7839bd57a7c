"""What the first-order-logic tasks share: the functions, the answer labels, gold calls."""

from __future__ import annotations

from collections.abc import Sequence

from fcdistill.functions.calls import format_call
from fcdistill.functions.fol.functions import PREMISES_DESIGNS, TRUTH_LABELS, PremisesDesign, fol_functions
from fcdistill.functions.fol.prover import DEFAULT_TIMEOUT_S
from fcdistill.functions.registry import FunctionSet
from fcdistill.records import Problem
from fcdistill.tasks.base import Task

_ALIASES = {"true": "True", "false": "False", "uncertain": "Uncertain", "unknown": "Uncertain"}


WHOLE = PREMISES_DESIGNS["whole"]


def truth_instruction(labels: str = "True, False or Uncertain", design: PremisesDesign = WHOLE) -> str:
    """The last line of every true/false question: one wording across the logic tasks."""
    return f"{design.instruction}, test the statement with Check, then call Answer with {labels}."


def premise_text(sentences: Sequence[str], design: PremisesDesign = WHOLE) -> str:
    """A problem's sentences as the question shows them: prose for `whole`; numbered lines where
    calls add up (`pieces`), so that a chain recording them a few at a time can tell where it is."""
    if design.adds:
        return "\n".join(f"{i}. {sentence.strip()}" for i, sentence in enumerate(sentences, 1))
    return " ".join(sentence.strip() for sentence in sentences)


def premises_design(name: str) -> PremisesDesign:
    if name not in PREMISES_DESIGNS:
        raise ValueError(f"unknown premises design '{name}'; choose one of: {', '.join(PREMISES_DESIGNS)}")
    return PREMISES_DESIGNS[name]


def normalise_label(text: str | None) -> str | None:
    """'true', ' Unknown.', 'C) Uncertain' -> True / False / Uncertain; None if no label."""
    if text is None:
        return None
    word = text.strip().rstrip(".").split(")")[-1].strip().lower()
    return _ALIASES.get(word)


def fol_solution(
    premises: Sequence[str], conclusion: str | Sequence[str], answer: str, design: PremisesDesign = WHOLE
) -> list[str]:
    """Gold calls: the premises as `design` records them, a Check per conclusion, then Answer."""
    checks = [conclusion] if isinstance(conclusion, str) else list(conclusion)
    return [
        *design.calls(premises),
        *(format_call("Check", {"conclusion": c}) for c in checks),
        format_call("Answer", {"answer": answer}),
    ]


class FolTask(Task):
    """A task answered through Premises / Check / Answer; answers are True, False or Uncertain."""

    reply_tokens = 512  # one Premises call holds a whole problem's formulas
    labels: tuple[str, ...] = TRUTH_LABELS  # what Answer takes; anything else is a refused call

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S, think: bool = False, premises: str = "whole") -> None:
        """`premises`: how a chain records them, a name of PREMISES_DESIGNS (whole, pieces)."""
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self.timeout_s = timeout_s
        self.think = think
        self.design = premises_design(premises)
        if self.design.piece:
            self.reply_tokens = 32 + 32 * self.design.piece  # a piece: ~20-30 tokens a ProofWriter rule

    def functions(self) -> FunctionSet:
        """A fresh set per call: the recorded premises belong to one chain."""
        return fol_functions(self.timeout_s, self.think, self.labels, _ALIASES, self.design)

    def solution(self, premises: Sequence[str], conclusion: str | Sequence[str], answer: str) -> list[str]:
        """The gold calls in this task's premises design."""
        return fol_solution(premises, conclusion, answer, self.design)

    def check(self, answer: str | None, problem: Problem) -> bool:
        return normalise_label(answer) == problem.answer

    def group(self, problem: Problem) -> str | None:
        """The proof depth where the generator knows it, else the answer label."""
        depth = problem.meta.get("depth")
        return f"depth {depth}" if depth is not None else f"label {problem.answer}"
