"""Preference pairs from labelled chains of the same problem, in TRL's conversational format.

Strategies:
* `chain` (the paper): chosen = a correct chain, rejected = an incorrect chain of the same
  problem, both from the first assistant turn on; the prompt is the shared prompt
  (system, worked examples, problem).
* `step`: chosen and rejected share the history up to the first assistant turn where they
  differ; that shared history is the prompt and the pair is that one turn. Much shorter
  sequences for DPO, and the preference sits exactly where the chains part.
* `branch`: the same prompt, the correct chain's whole rest as chosen and the incorrect
  chain's turn there as rejected: the preference sits where the chains part, and an NLL term
  on the chosen side teaches the whole correct continuation, not one turn of it. What an
  incorrect chain does after its first wrong turn (reacting to error messages) is left out.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from itertools import product
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fcdistill.functions.registry import FunctionSet
from fcdistill.pairs.checks import check_chain
from fcdistill.records import Chain, Message

Strategy = Literal["chain", "step", "branch"]
STRATEGIES: tuple[Strategy, ...] = ("chain", "step", "branch")


class PairSettings(BaseModel):
    """How chains become pairs (the `pairs` section of a run config, the flags of `fcdistill pairs`)."""

    model_config = ConfigDict(extra="forbid")

    strategy: Strategy = Field(
        "step",
        description="chain (whole chains, the paper), step (the first differing turn) or branch "
        "(the correct chain's rest against the wrong turn)",
    )
    max_per_problem: int = Field(4, ge=1, description="most pairs from one problem")
    require_clean: bool = Field(
        False, description="chosen chains must have every call valid, every value used, the answer from a function"
    )
    per_task: int | dict[str, int] | None = Field(
        None,
        description="pairs per task: a number (every task gives the same, the smallest task's, at most this) or "
        "a number for each task by name (each gives at most its own, e.g. {gsm8k: 1200, arith: 300})",
    )

    @field_validator("per_task")
    @classmethod
    def _positive(cls, value: int | dict[str, int] | None) -> int | dict[str, int] | None:
        numbers = value.values() if isinstance(value, dict) else [] if value is None else [value]
        if any(n < 1 for n in numbers):
            raise ValueError(f"every number of pairs must be at least 1 (got {value})")
        return value

    def kept(self, found: dict[str, int]) -> dict[str, int]:
        """How many of each task's pairs to keep, given how many each task found."""
        if isinstance(self.per_task, dict):
            missing = sorted(set(found) - set(self.per_task))
            if missing:
                raise ValueError(f"pairs.per_task gives no number for task(s) {', '.join(missing)}")
            return {task: min(n, self.per_task[task]) for task, n in found.items()}
        counts = [n for n in found.values() if n]
        keep = min([*counts, *([self.per_task] if self.per_task else [])], default=0)
        return {task: keep for task in found}


class Pair(BaseModel):
    """One DPO example: TRL's `prompt` / `chosen` / `rejected` / `tools`, plus where it came from.

    `tools` is the JSON text of the tool schemas, as TRL accepts it: kept as text, `datasets`
    does not merge the differing schemas of the functions into one Arrow struct."""

    prompt: list[Message]
    chosen: list[Message]
    rejected: list[Message]
    tools: str
    problem_id: str
    task: str
    strategy: Strategy
    chosen_chain: str
    rejected_chain: str


def chain_key(chain: Chain) -> str:
    return f"{chain.source}#{chain.sample}"


def make_pair(chosen: Chain, rejected: Chain, strategy: Strategy) -> Pair | None:
    """The pair of two chains of one problem, or None when they cannot form one."""
    n = chosen.prompt_length
    if chosen.messages[:n] != rejected.messages[:n] or chosen.protocol != rejected.protocol:
        return None  # different prompts: not a preference between two answers to one prompt
    if strategy == "chain":
        start = n
    else:
        start = next(
            (
                i
                for i in range(n, min(len(chosen.messages), len(rejected.messages)))
                if chosen.messages[i] != rejected.messages[i]
            ),
            None,
        )
        if start is None or chosen.messages[start]["role"] != "assistant":
            return None
    chosen_turns = chosen.messages[start:] if strategy in ("chain", "branch") else [chosen.messages[start]]
    rejected_turns = rejected.messages[start:] if strategy == "chain" else [rejected.messages[start]]
    if chosen_turns == rejected_turns or not rejected_turns:
        return None
    return Pair(
        prompt=chosen.messages[:start],
        chosen=chosen_turns,
        rejected=rejected_turns,
        tools=json.dumps(chosen.tools),
        problem_id=chosen.problem_id,
        task=chosen.task,
        strategy=strategy,
        chosen_chain=chain_key(chosen),
        rejected_chain=chain_key(rejected),
    )


def _distinct(chains: list[Chain]) -> list[Chain]:
    """Drop chains whose turns repeat an earlier chain's (identical samples, or a model
    reproducing the gold chain)."""
    seen, out = set(), []
    for chain in chains:
        key = json.dumps(chain.messages[chain.prompt_length :], sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(chain)
    return out


def build_pairs(
    chains: list[Chain],
    functions: dict[str, FunctionSet],
    *,
    strategy: Strategy = "chain",
    max_per_problem: int = 4,
    require_clean: bool = False,
    seed: int = 0,
) -> list[Pair]:
    """Pairs for every problem with at least one correct and one incorrect chain.

    `functions` maps task name to its function set (for the per-call checks);
    `require_clean` keeps only chosen chains whose every call was valid, every value used,
    and whose answer came from a function; `max_per_problem` caps pairs per problem so no
    problem dominates, choosing distinct chosen and rejected chains round-robin.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown pairing strategy '{strategy}'; choose one of: {', '.join(STRATEGIES)}")
    rng = random.Random(seed)
    by_problem: dict[str, list[Chain]] = defaultdict(list)
    for chain in chains:
        by_problem[chain.problem_id].append(chain)
    pairs: list[Pair] = []
    for problem_id in sorted(by_problem):
        group = _distinct(by_problem[problem_id])
        good = [c for c in group if c.correct and (not require_clean or check_chain(c, functions[c.task]).clean)]
        bad = [c for c in group if not c.correct]
        rng.shuffle(good)
        rng.shuffle(bad)
        # Diagonals first: the first pairs use distinct chosen and distinct rejected chains.
        combos = sorted(product(range(len(good)), range(len(bad))), key=lambda gb: ((gb[1] - gb[0]) % len(bad), gb[0]))
        seen: set[str] = set()
        for g, b in combos:
            if len(seen) >= max_per_problem:
                break
            pair = make_pair(good[g], bad[b], strategy)
            key = pair and json.dumps([pair.prompt, pair.chosen, pair.rejected], sort_keys=True)
            if pair is not None and key not in seen:
                seen.add(key)
                pairs.append(pair)
    return pairs


def balanced_pairs(
    chains: list[Chain], functions: dict[str, FunctionSet], settings: PairSettings, seed: int = 0
) -> list[Pair]:
    """Pairs of each task's chains, shuffled together: every task gives as many as the task with
    fewest (at most `per_task`), so one student learns its tasks alike, or each task its own
    number when `per_task` names them."""
    rng = random.Random(seed)
    per_task: dict[str, list[Pair]] = {}
    for task in sorted({c.task for c in chains}):
        found = build_pairs(
            [c for c in chains if c.task == task],
            functions,
            strategy=settings.strategy,
            max_per_problem=settings.max_per_problem,
            require_clean=settings.require_clean,
            seed=seed,
        )
        rng.shuffle(found)
        per_task[task] = found
    keep = settings.kept({task: len(found) for task, found in per_task.items()})
    pairs = [pair for task, found in per_task.items() for pair in found[: keep[task]]]
    rng.shuffle(pairs)
    return pairs
