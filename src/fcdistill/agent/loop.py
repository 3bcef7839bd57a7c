"""The step-by-step agent: generate one call, parse, validate, execute, return the result;
until Answer, `n_max` steps, or the budget of invalid calls is spent. Gold solutions and
worked examples are played through the very same path.

Chains advance independently: the agent is the backend's `TurnSource`, and a chain's next
turn is ready as soon as its reply has come back and been run. The backend's `window`
bounds how many chains run at once; a chain that ends makes room for the next.
"""

from __future__ import annotations

import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from fcdistill.agent.prompt import initial_messages, system_prompt
from fcdistill.agent.protocols import get_protocol
from fcdistill.backends.base import Backend, Completion, Turn
from fcdistill.functions.calls import CallError, CallFault
from fcdistill.functions.registry import FunctionSet, format_arguments
from fcdistill.records import CallRecord, Chain, Message, Problem, ProtocolName, Sampling, StopReason
from fcdistill.tasks.base import Task


@dataclass
class AgentConfig:
    """The agent's settings; these defaults are the CLI's and the run config's."""

    n_max: int = 10  # most steps (calls) per chain; the paper evaluates at 10 and 20
    max_invalid: int = 3  # invalid calls tolerated before a chain stops
    protocol: ProtocolName = "text"
    worked_examples: int | None = 1  # how many of the task's worked examples go in the prompt (None: all)
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


class _Schedule:
    """The agent as a `TurnSource`: at most `window` chains live at once; a chain's next turn is
    ready when its reply has come back and been run, the next waiting chain starts when one ends."""

    def __init__(
        self,
        agent: Agent,
        chains: list[_Running],
        window: int,
        on_step: Callable[[int, int], None] | None,
        on_call: Callable[[int, CallRecord], None] | None,
    ) -> None:
        self.agent, self.chains, self.window, self.on_step, self.on_call = agent, chains, window, on_step, on_call
        self.waiting = deque(range(len(chains)))
        self.turns: deque[Turn] = deque()
        self.live = 0
        self.finished = 0
        self.prefix = (
            agent.conversation(initial_messages(chains[0].problem, agent.system, agent.examples)[:-1]) if chains else []
        )

    def _turn(self, key: int) -> Turn:
        running = self.chains[key]
        running.step += 1
        return Turn(key, self.agent.conversation(running.messages), running.seed + running.step)

    def ready(self, limit: int) -> list[Turn]:
        while self.waiting and self.live < self.window:
            self.turns.append(self._turn(self.waiting.popleft()))
            self.live += 1
        return [self.turns.popleft() for _ in range(min(limit, len(self.turns)))]

    def done(self, turn: Turn, completion: Completion) -> None:
        running = self.chains[turn.key]
        self.agent._advance(running, completion, running.step, self.agent.config.n_max)
        if self.on_call and running.calls and running.calls[-1].step == running.step:
            self.on_call(turn.key, running.calls[-1])
        if running.stop_reason is None:
            self.turns.append(self._turn(turn.key))
            return
        self.live -= 1
        self.finished += 1
        if self.on_step:
            self.on_step(self.finished, len(self.chains))


class Agent:
    def __init__(self, backend: Backend | None, task: Task, config: AgentConfig | None = None) -> None:
        """`backend` may be None for an agent that only replays gold solutions."""
        self.backend = backend
        self.task = task
        self.config = config or AgentConfig()
        sampling = self.config.sampling
        self.sampling = (
            sampling if sampling.max_new_tokens else sampling.model_copy(update={"max_new_tokens": task.reply_tokens})
        )
        self.protocol = get_protocol(self.config.protocol)
        self.functions = task.functions()
        self.tools = self.functions.json_schemas()
        self.system = system_prompt(self.functions, self.protocol.instructions)
        self.examples: list[Message] = []
        for example in task.worked_examples()[: self.config.worked_examples]:
            played = self._play(self._start(example, [{"role": "user", "content": example.question}]))
            if not self.task.check(played.answer, example):
                raise ValueError(
                    f"worked example {example.id} does not reach its answer: "
                    f"{played.calls[-1].result if played.calls else 'no calls'}"
                )
            self.examples += played.messages

    def _start(self, problem: Problem, messages: list[Message], sample: int = 0) -> _Running:
        seed = zlib.crc32(f"{self.sampling.seed}/{problem.id}/{sample}".encode())
        # A fresh function set per chain: tasks whose functions keep state (premises) isolate it.
        return _Running(problem, messages, self.task.functions(), seed, time.perf_counter(), sample)

    def replay(self, problems: list[Problem]) -> list[Chain]:
        """Gold chains (source 'gold'): each problem's gold solution played through the same
        parse, validate and execute path as a model's calls."""
        return [
            self._record(self._play(self._start(p, initial_messages(p, self.system, self.examples))), "gold")
            for p in problems
        ]

    def _play(self, running: _Running) -> _Running:
        if not running.problem.solution:
            raise ValueError(f"problem {running.problem.id} has no gold solution")
        for step, text in enumerate(running.problem.solution, start=1):
            self._advance(
                running, self.protocol.scripted(text, running.functions), step, n_max=len(running.problem.solution)
            )
            if running.stop_reason:
                break
        return running

    def run(
        self,
        problems: list[Problem],
        on_step: Callable[[int, int], None] | None = None,
        samples: int = 1,
        on_call: Callable[[int, CallRecord], None] | None = None,
    ) -> list[Chain]:
        """Run every problem to the end, `samples` chains each; `on_step(finished, total)`
        reports progress, `on_call(chain, call)` each call as it is run. The backend writes each
        chain's next reply as soon as it can (see `_Schedule`), so the chains advance
        independently of each other."""
        if self.backend is None:
            raise ValueError("this agent has no backend; it can only replay gold solutions")
        chains = [
            self._start(p, initial_messages(p, self.system, self.examples), k) for p in problems for k in range(samples)
        ]
        schedule = _Schedule(self, chains, self.backend.window or len(chains), on_step, on_call)
        _, tools = self.protocol.request([], self.tools, self.backend.native_tools)
        self.backend.serve(schedule, self.sampling, tools=tools, until=self.protocol.reply_end)
        unfinished = [c.problem.id for c in chains if c.stop_reason is None]
        if unfinished:
            raise RuntimeError(f"the backend stopped before chains ended: {unfinished[:5]}")
        return [self._record(c, self.backend.name) for c in chains]

    def conversation(self, messages: list[Message]) -> list[Message]:
        """The messages as the backend gets them."""
        return self.protocol.request(messages, self.tools, self.backend.native_tools)[0]

    def _advance(self, running: _Running, completion: Completion, step: int, n_max: int) -> None:
        running.prompt_tokens += completion.prompt_tokens
        running.completion_tokens += completion.completion_tokens
        if completion.error:
            running.stop_reason, running.error = "error", completion.error
            running.seconds = time.perf_counter() - running.started
            return
        end = self.protocol.reply_end(completion.text)
        if end is not None:  # the reply as far as it counts: its first call, or the prose before none came
            completion = replace(completion, text=completion.text[:end])
        assistant = self.protocol.assistant_message(completion, step)
        running.messages.append(assistant)
        raw = completion.text if not completion.tool_calls else str(completion.tool_calls)
        try:
            call = self.protocol.parse(completion)
            execution = running.functions.execute(call)
        except CallError as exc:
            running.invalid += 1
            fault = exc.fault if isinstance(exc, CallFault) else None
            running.calls.append(CallRecord(step=step, raw=raw, valid=False, result=str(exc), fault=fault))
            result, ok = str(exc), False
        else:
            arguments = format_arguments(execution.arguments)
            running.calls.append(
                CallRecord(
                    step=step, raw=raw, name=execution.name, arguments=arguments, valid=True, result=execution.result
                )
            )
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
            protocol=self.config.protocol,
            messages=running.messages,
            prompt_length=len(self.examples) + 2,
            tools=self.tools,
            calls=running.calls,
            answer=running.answer,
            gold_answer=running.problem.answer,
            correct=bool(running.problem.answer) and self.task.check(running.answer, running.problem),
            stop_reason=running.stop_reason or "error",
            steps=len(running.calls),
            invalid_calls=running.invalid,
            prompt_tokens=running.prompt_tokens,
            completion_tokens=running.completion_tokens,
            seconds=round(running.seconds, 3),
            sampling=self.sampling,
            error=running.error,
        )
