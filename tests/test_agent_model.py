"""The agent driven by the real embedded models."""

from __future__ import annotations

import pytest

from conftest import assert_well_formed
from fcdistill.agent import Agent, AgentConfig
from fcdistill.chains.records import Chain
from fcdistill.tasks.arith import ArithTask

pytestmark = pytest.mark.model


@pytest.mark.parametrize("protocol", ["text", "json"])
def test_embedded_model_chains_are_well_formed(smollm2, protocol):
    task = ArithTask(difficulty=2)
    config = AgentConfig(n_max=4, max_invalid=1, protocol=protocol)
    chains = Agent(smollm2, task, config).run(task.problems(6, seed=3))
    registered = {f.name for f in task.functions()}
    assert len(chains) == 6
    for chain in chains:
        assert_well_formed(chain, config, registered)
        assert chain.source == "smollm2-135m" and chain.protocol == protocol
        assert chain.tools == task.functions().json_schemas()
        assert chain.completion_tokens > 0 and chain.prompt_tokens > 0
        assert Chain.model_validate_json(chain.model_dump_json()) == chain
        if chain.stop_reason == "answer":
            assert chain.correct == task.check(chain.answer, next(p for p in task.problems(6, seed=3) if p.id == chain.problem_id))
    if protocol == "text":
        # With worked examples the model keeps the call format (measured: every reply a valid call).
        assert sum(c.valid for chain in chains for c in chain.calls) >= 0.8 * sum(len(chain.calls) for chain in chains)


def test_batched_greedy_chains_equal_one_by_one(smollm2):
    task = ArithTask(difficulty=2)
    problems = task.problems(6, seed=11)
    config = AgentConfig(n_max=4)
    agent = Agent(smollm2, task, config)
    batched = agent.run(problems)
    single = [agent.run([p])[0] for p in problems]
    for a, b in zip(batched, single):
        assert a.messages == b.messages, a.problem_id
        assert (a.answer, a.stop_reason, a.correct) == (b.answer, b.stop_reason, b.correct)


def test_prefix_cache_changes_nothing_but_speed(smollm2):
    from fcdistill.backends.local import LocalBackend
    from fcdistill.backends.prefix_cache import PrefixCache

    task = ArithTask(difficulty=2)
    problems = task.problems(6, seed=13)
    config = AgentConfig(n_max=4)
    uncached_backend = LocalBackend("smollm2-135m", prefix_cache=False)
    uncached = Agent(uncached_backend, task, config).run(problems)
    batched = Agent(smollm2, task, config).run(problems)
    # One by one from a fresh cache: the first prompt is cached whole, later ones crop it.
    uncached_backend.prefix_cache = PrefixCache(uncached_backend.model)
    single = [Agent(uncached_backend, task, config).run([p])[0] for p in problems]
    assert uncached_backend.prefix_cache.encoded_tokens > 0
    for chains in (batched, single):
        assert [c.messages for c in chains] == [c.messages for c in uncached]
        assert [c.prompt_tokens for c in chains] == [c.prompt_tokens for c in uncached]


def test_sampling_is_seeded(smollm2):
    from fcdistill.chains.records import Sampling

    task = ArithTask(difficulty=2)
    problems = task.problems(3, seed=5)
    sampled = lambda seed: Agent(smollm2, task, AgentConfig(n_max=3, sampling=Sampling(temperature=1.0, seed=seed))).run(problems)
    first, again = sampled(1), sampled(1)
    assert [c.messages for c in first] == [c.messages for c in again]
    assert [c.sampling.temperature for c in first] == [1.0] * 3
    assert [c.messages for c in first] != [c.messages for c in sampled(2)]


def test_a_sampled_chain_does_not_depend_on_its_batch(smollm2):
    """Each row samples from its own seeded generator: the chains a resumed run makes in
    other batches are the ones the uninterrupted run made."""
    from fcdistill.chains.records import Sampling

    task = ArithTask(difficulty=2)
    problems = task.problems(5, seed=7)
    agent = Agent(smollm2, task, AgentConfig(n_max=3, sampling=Sampling(temperature=0.8, top_p=0.95, seed=4)))
    together = agent.run(problems, samples=2)
    alone = [c for p in reversed(problems) for c in agent.run([p], samples=2)]
    assert {(c.problem_id, c.sample): c.messages for c in together} == {(c.problem_id, c.sample): c.messages for c in alone}
    assert len({str(c.messages[c.prompt_length :]) for c in together}) > len(problems)  # the samples differ from each other


def test_base_model_runs_through_plain_transcripts():
    from fcdistill.backends.local import LocalBackend

    gemma = LocalBackend("gemma3-270m", batch_size=4)
    assert not gemma.chat
    task = ArithTask(difficulty=1)
    config = AgentConfig(n_max=3, max_invalid=1)
    chains = Agent(gemma, task, config).run(task.problems(4, seed=2))
    gemma.prefix_cache = None
    assert [c.messages for c in Agent(gemma, task, config).run(task.problems(4, seed=2))] == [c.messages for c in chains]
    for chain in chains:
        assert_well_formed(chain, config, {f.name for f in task.functions()})
    prompt = gemma.render(chains[0].messages[: chains[0].prompt_length], None)
    assert prompt.endswith("Call:") and "\nResult: " in prompt and "Problem: " in prompt
    # Plain completion keeps the format: every reply is a single call (stop at newline).
    assert all("\n" not in call.raw for chain in chains for call in chain.calls)
