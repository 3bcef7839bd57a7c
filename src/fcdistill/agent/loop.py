"""The step-by-step agent: generate one call, parse, validate, execute, return the result;
until Answer, `n_max` steps, or the budget of invalid calls is spent. Gold solutions and
worked examples are played through the very same path.

Running chains advance together: each step is one `backend.complete` over every chain
still running, so a local model batches them into one `generate` call. The backend's
`window` bounds how many run at once; a chain that ends makes room for the next.
"""

from __future__ import annotations

import json
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from fcdistill.agent.prompt import initial_messages, system_prompt
from fcdistill.agent.protocols import get_protocol, hermes_messages
from fcdistill.backends.base import Backend, Completion
from fcdistill.chains.records import CallRecord, Chain, Message, Problem, Sampling, StopReason
from fcdistill.functions.calls import CallError, parse_call
from fcdistill.functions.registry import FunctionSet, format_arguments
from fcdistill.tasks.base import Task


@dataclass
class AgentConfig:
    n_max: int = 10
    max_invalid: int = 3
    protocol: str = "text"
    worked_examples: int | None = None  # how many of the task's worked examples go in the prompt (None: all)
    sampling: Sampling = field(default_factory=Sampling)


@dataclass
class _Running:
    problem: Problem
    messages: list[Message]
    functions: FunctionSet
    seed: int
    started: float
    sample: int = 0
    step: int = 0
    calls: list[CallRecord] = field(default_factory=list)
    answer: str | None = None
    stop_reason: StopReason | None = None
    error: str | None = None
    invalid: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0


class Agent:
    def __init__(self, backend: Backend | None, task: Task, config: AgentConfig | None = None) -> None:
        """`backend` may be None for an agent that only replays gold solutions."""
        self.backend = backend
        self.task = task
        self.config = config or AgentConfig()
        self.protocol = get_protocol(self.config.protocol)
        self.functions = task.functions()
        self.tools = self.functions.json_schemas()
        self.system = system_prompt(self.functions, self.protocol.name)
        self.examples: list[Message] = []
        for example in task.worked_examples()[: self.config.worked_examples]:
            played = self._play(self._start(example, [{"role": "user", "content": example.question}]))
            if not self.task.check(played.answer, example):
                raise ValueError(f"worked example {example.id} does not reach its answer: {played.calls[-1].result if played.calls else 'no calls'}")
            self.examples += played.messages

    def _start(self, problem: Problem, messages: list[Message], sample: int = 0) -> _Running:
        seed = zlib.crc32(f"{self.config.sampling.seed}/{problem.id}/{sample}".encode())
        # A fresh function set per chain: tasks whose functions keep state (premises) isolate it.
        return _Running(problem, messages, self.task.functions(), seed, time.perf_counter(), sample)

    def replay(self, problems: list[Problem]) -> list[Chain]:
        """Gold chains (source 'gold'): each problem's gold solution played through the same
        parse, validate and execute path as a model's calls."""
        return [self._record(self._play(self._start(p, initial_messages(p, self.system, self.examples))), "gold") for p in problems]

    def _play(self, running: _Running) -> _Running:
        if not running.problem.solution:
            raise ValueError(f"problem {running.problem.id} has no gold solution")
        for step, text in enumerate(running.problem.solution, start=1):
            self._advance(running, self._scripted(text, running.functions), step, n_max=len(running.problem.solution))
            if running.stop_reason:
                break
        return running

    def _scripted(self, text: str, functions: FunctionSet) -> Completion:
        """A gold call as the model would have written it under this protocol."""
        if self.protocol.name == "text":
            return Completion(text=text)
        try:
            call = parse_call(text)
            arguments = format_arguments(functions.get(call.name).bind(call))
        except CallError:
            return Completion(text=text)  # recorded as the invalid call it is
        return Completion(text="", tool_calls=[{"function": {"name": call.name, "arguments": json.dumps(arguments)}}])

    def run(
        self, problems: list[Problem], on_step: Callable[[int, int], None] | None = None, samples: int = 1
    ) -> list[Chain]:
        """Run every problem to the end, `samples` chains each (all advancing together);
        `on_step(finished, total)` reports progress."""
        if self.backend is None:
            raise ValueError("this agent has no backend; it can only replay gold solutions")
        chains = [self._start(p, initial_messages(p, self.system, self.examples), k) for p in problems for k in range(samples)]
        waiting = deque(chains)
        live: list[_Running] = []
        window = self.backend.window or len(chains)
        while live or waiting:
            while waiting and len(live) < window:
                live.append(waiting.popleft())
            for running in live:
                running.step += 1
            completions = self.backend.complete(
                [self._conversation(c.messages) for c in live],
                self.config.sampling,
                [c.seed + c.step for c in live],
                tools=self.tools if self.protocol.name == "json" and self.backend.native_tools else None,
            )
            for running, completion in zip(live, completions):
                self._advance(running, completion, running.step, self.config.n_max)
            live = [c for c in live if c.stop_reason is None]
            if on_step:
                on_step(len(chains) - len(live) - len(waiting), len(chains))
        return [self._record(c, self.backend.name) for c in chains]

    def _conversation(self, messages: list[Message]) -> list[Message]:
        if self.protocol.name == "json" and not self.backend.native_tools:
            return hermes_messages(messages, self.tools)
        return messages

    def _advance(self, running: _Running, completion: Completion, step: int, n_max: int) -> None:
        running.prompt_tokens += completion.prompt_tokens
        running.completion_tokens += completion.completion_tokens
        if completion.error:
            running.stop_reason, running.error = "error", completion.error
            running.seconds = time.perf_counter() - running.started
            return
        assistant = self.protocol.assistant_message(completion, step)
        running.messages.append(assistant)
        raw = completion.text if not completion.tool_calls else str(completion.tool_calls)
        try:
            call = self.protocol.parse(completion)
            execution = running.functions.execute(call)
        except CallError as exc:
            running.invalid += 1
            running.calls.append(CallRecord(step=step, raw=raw, valid=False, result=str(exc)))
            result, ok = str(exc), False
        else:
            arguments = format_arguments(execution.arguments)
            running.calls.append(CallRecord(step=step, raw=raw, name=execution.name, arguments=arguments, valid=True, result=execution.result))
            if execution.terminal:
                running.answer, running.stop_reason = execution.result, "answer"
            result, ok = execution.result, True
        if running.stop_reason is None and running.invalid > self.config.max_invalid:
            running.stop_reason = "invalid"
        elif running.stop_reason is None and step >= n_max:
            running.stop_reason = "n_max"
        if running.stop_reason is None:
            running.messages.append(self.protocol.result_message(assistant, result, ok))
        else:
            running.seconds = time.perf_counter() - running.started

    def _record(self, running: _Running, source: str) -> Chain:
        return Chain(
            problem_id=running.problem.id,
            task=running.problem.task,
            source=source,
            sample=running.sample,
            protocol=self.protocol.name,  # type: ignore[arg-type]
            messages=running.messages,
            prompt_length=len(self.examples) + 2,
            tools=self.tools,
            calls=running.calls,
            answer=running.answer,
            gold_answer=running.problem.answer,
            correct=self.task.check(running.answer, running.problem),
            stop_reason=running.stop_reason or "error",
            steps=len(running.calls),
            invalid_calls=running.invalid,
            prompt_tokens=running.prompt_tokens,
            completion_tokens=running.completion_tokens,
            seconds=round(running.seconds, 3),
            sampling=self.config.sampling,
            error=running.error,
        )
