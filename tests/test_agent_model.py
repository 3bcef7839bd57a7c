"""The agent driven by the real embedded models."""

from __future__ import annotations

import pytest
from conftest import assert_well_formed

from fcdistill.agent import Agent, AgentConfig
from fcdistill.records import Chain
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
            assert chain.correct == task.check(
                chain.answer, next(p for p in task.problems(6, seed=3) if p.id == chain.problem_id)
            )
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


def test_kv_cache_changes_nothing_but_speed(smollm2):
    from fcdistill.backends.local import LocalBackend

    task = ArithTask(difficulty=2)
    problems = task.problems(6, seed=13)
    config = AgentConfig(n_max=4)
    backend = LocalBackend("smollm2-135m", kv_cache="off", batch_size=4, precision="float32")
    uncached = Agent(backend, task, config).run(problems)
    reused = {}
    for mode in ("prefix", "steps"):
        for batch in (4, 1):  # one by one, the first prompt is all there is to reuse
            backend.configure(kv_cache=mode, batch_size=batch)  # a new cache, and a batch of these slots
            assert backend.engine is None if mode == "prefix" else backend.engine.slots == batch
            chains = Agent(backend, task, config).run(problems)
            assert [c.messages for c in chains] == [c.messages for c in uncached], (mode, batch)
            assert [c.prompt_tokens for c in chains] == [c.prompt_tokens for c in uncached]
            reused[mode, batch] = backend.kv_cache.reused_tokens
            if backend.engine is not None:  # every chain ended: nothing but the shared prefix is held after the call
                assert len(backend.kv_cache.entries) <= 1 and backend.engine.cache is None
    # Across steps, a chain's own earlier turns are reused too: well under half as much to encode.
    prompt_tokens = sum(c.prompt_tokens for c in uncached)
    assert 0 < reused["prefix", 4] < reused["steps", 4] <= prompt_tokens
    assert prompt_tokens - reused["steps", 4] < (prompt_tokens - reused["prefix", 4]) / 2
    assert reused["prefix", 1] > 0 and reused["steps", 1] > 0


def test_the_shared_prefix_outlives_the_call(smollm2, monkeypatch):
    """After a call the cache holds the pinned shared prefix alone, and the next call over
    the same prompts starts from it instead of encoding it again."""
    task = ArithTask(difficulty=2)
    problems = task.problems(2, seed=5)
    config = AgentConfig(n_max=1)
    Agent(smollm2, task, config).run(problems)
    kv = smollm2.kv_cache
    [prefix] = kv.entries
    encoded, encode = [], kv._encode
    monkeypatch.setattr(kv, "_encode", lambda ids: (encoded.append(len(ids)), encode(ids)))
    Agent(smollm2, task, config).run(problems)
    assert encoded == [] and [id(e) for e in kv.entries] == [id(prefix)]


def test_a_turns_entry_replaces_the_earlier_turns_it_extends(smollm2):
    """A finished turn's KV entry drops the entries after the same prefix whose tokens it
    extends (its chain's earlier turns); others stay."""
    import numpy as np

    from fcdistill.backends.kv_cache import Entry, KVCache

    kv = KVCache(smollm2.model)
    prefix = Entry(np.arange(40), [], 0)
    turn_1, turn_2 = Entry(np.arange(60), [], 1, prefix), Entry(np.arange(90), [], 2, prefix)
    diverging = Entry(np.r_[np.arange(50), 7, 7], [], 1, prefix)  # another chain, the same start
    own_prefix = Entry(np.arange(50), [], 1, None)  # after another prefix
    kv.entries = [prefix, turn_1, diverging, own_prefix]
    kv.add(turn_2)
    assert [id(e) for e in kv.entries] == [id(e) for e in (prefix, diverging, own_prefix, turn_2)]


def test_continuous_batching_writes_the_chains_generate_writes(smollm2):
    """The continuous batch (rows leave when their reply is done, others join) against
    `model.generate` in lockstep batches: the same greedy and the same sampled chains, with
    chains of different lengths so that rows join and leave at different steps."""
    from fcdistill.backends.local import LocalBackend
    from fcdistill.records import Sampling
    from fcdistill.tasks.fol_gen import FolGenTask

    lockstep = LocalBackend("smollm2-135m", kv_cache="prefix", batch_size=8, precision="float32")
    continuous = LocalBackend("smollm2-135m", batch_size=8, precision="float32")
    assert continuous.engine is not None and lockstep.engine is None
    decoded, step = [], continuous.engine._step  # the slots each step's forward covers, its tokens

    def counted_step():
        live = sum(row is not None for row in continuous.engine.rows)
        hook = continuous.model.register_forward_pre_hook(
            lambda _, args, kwargs: decoded.append(
                (kwargs["past_key_values"].layers[0].step.top, live, kwargs["input_ids"].shape)
            ),
            with_kwargs=True,
        )
        step()
        hook.remove()

    continuous.engine._step = counted_step
    for task, sampling in [
        (ArithTask(difficulty=2), Sampling()),
        (FolGenTask(depth=1, distractors=1), Sampling(temperature=0.9, seed=2)),
    ]:
        problems = task.problems(6, seed=21)
        config = AgentConfig(n_max=3, worked_examples=1, sampling=sampling)
        a, b = (Agent(backend, task, config).run(problems, samples=2) for backend in (lockstep, continuous))
        assert [c.messages for c in a] == [c.messages for c in b]
        assert [(c.prompt_tokens, c.completion_tokens) for c in a] == [
            (c.prompt_tokens, c.completion_tokens) for c in b
        ]
        assert (
            len({c.steps for c in b}) > 1 or len({c.completion_tokens for c in b}) > 1
        )  # rows did leave at different times
    # Rows moved down into free slots: a step covers the live rows only, all their tokens in one sequence.
    assert all(top == live and shape[0] == 1 and shape[1] >= live for top, live, shape in decoded)
    assert min(top for top, _, _ in decoded) < 8 == max(top for top, _, _ in decoded)


def test_drafted_tokens_change_no_reply(smollm2):
    """A greedy row checks tokens drafted from its context in the step that writes its next
    token: the same chains as decoding one token at a time (float32), and drafts were kept."""
    from fcdistill.backends.engine import LOOKAHEAD
    from fcdistill.tasks.fol_gen import FolGenTask

    engine = smollm2.engine
    try:
        for task in (ArithTask(difficulty=2), FolGenTask(depth=2, distractors=2)):
            problems = task.problems(8, seed=17)
            runs = {}
            for lookahead in (0, LOOKAHEAD):
                engine.lookahead, drafted, kept = lookahead, engine.drafted, engine.confirmed
                runs[lookahead] = Agent(smollm2, task, AgentConfig(n_max=4)).run(problems)
                if lookahead:  # measured: about half the drafts are kept
                    assert engine.drafted > drafted and engine.confirmed - kept > (engine.drafted - drafted) / 4
                else:
                    assert (engine.drafted, engine.confirmed) == (drafted, kept)
            assert [c.messages for c in runs[0]] == [c.messages for c in runs[LOOKAHEAD]], task.name
            assert [c.completion_tokens for c in runs[0]] == [c.completion_tokens for c in runs[LOOKAHEAD]]
    finally:
        engine.lookahead = LOOKAHEAD


def test_generation_precision_follows_the_machine():
    """`auto` generates in bfloat16 exactly where the probe finds it native; bfloat16 weights
    write well-formed chains whose answers the checker scores as usual. Their linear layers
    are packed for oneDNN (where this torch can), with the plain layers' logits."""
    import torch

    from fcdistill.backends import packed_linear
    from fcdistill.backends.local import LocalBackend
    from fcdistill.models.precision import bf16_is_fast

    auto = LocalBackend("smollm2-135m", batch_size=4)
    assert auto.precision == ("bfloat16" if bf16_is_fast() else "float32")
    assert next(auto.model.parameters()).dtype == getattr(torch, auto.precision)
    bf16 = auto if auto.precision == "bfloat16" else LocalBackend("smollm2-135m", batch_size=4, precision="bfloat16")
    task = ArithTask(difficulty=2)
    config = AgentConfig(n_max=4)
    chains = Agent(bf16, task, config).run(task.problems(4, seed=3))
    for chain in chains:
        assert_well_formed(chain, config, {f.name for f in task.functions()})
    if packed_linear.packable(bf16.model):
        assert not any(type(m) is torch.nn.Linear for m in bf16.model.modules())
        packed_linear.PACK = False
        try:
            plain = LocalBackend("smollm2-135m", batch_size=4, precision="bfloat16")
        finally:
            packed_linear.PACK = True
        assert any(type(m) is torch.nn.Linear for m in plain.model.modules())
        ids = bf16.tokenizer(["Sum(3, 4) returns"] * 2, return_tensors="pt")["input_ids"]
        with torch.inference_mode():
            packed_logits, plain_logits = (b.model(input_ids=ids).logits.float() for b in (bf16, plain))
        torch.testing.assert_close(packed_logits, plain_logits, rtol=0.05, atol=0.1)
        assert (packed_logits.argmax(-1) == plain_logits.argmax(-1)).all()
    with pytest.raises(ValueError, match="precision must be one of auto, float32, bfloat16"):
        LocalBackend("smollm2-135m", precision="float16")


def test_sampling_is_seeded(smollm2):
    from fcdistill.records import Sampling

    task = ArithTask(difficulty=2)
    problems = task.problems(3, seed=5)

    def sampled(seed):
        return Agent(smollm2, task, AgentConfig(n_max=3, sampling=Sampling(temperature=1.0, seed=seed))).run(problems)

    first, again = sampled(1), sampled(1)
    assert [c.messages for c in first] == [c.messages for c in again]
    assert [c.sampling.temperature for c in first] == [1.0] * 3
    assert [c.messages for c in first] != [c.messages for c in sampled(2)]


def test_a_sampled_chain_does_not_depend_on_its_batch(smollm2):
    """Each row samples from its own seeded generator: the chains a resumed run makes in
    other batches are the ones the uninterrupted run made."""
    from fcdistill.records import Sampling

    task = ArithTask(difficulty=2)
    problems = task.problems(5, seed=7)
    agent = Agent(smollm2, task, AgentConfig(n_max=3, sampling=Sampling(temperature=0.8, top_p=0.95, seed=4)))
    together = agent.run(problems, samples=2)
    alone = [c for p in reversed(problems) for c in agent.run([p], samples=2)]
    assert {(c.problem_id, c.sample): c.messages for c in together} == {
        (c.problem_id, c.sample): c.messages for c in alone
    }
    assert len({str(c.messages[c.prompt_length :]) for c in together}) > len(
        problems
    )  # the samples differ from each other


def test_base_model_runs_through_plain_transcripts():
    from fcdistill.backends.local import LocalBackend

    gemma = LocalBackend("gemma3-270m", batch_size=4)
    assert not gemma.chat
    task = ArithTask(difficulty=1)
    config = AgentConfig(n_max=3, max_invalid=1)
    chains = Agent(gemma, task, config).run(task.problems(4, seed=2))
    assert not gemma.kv_cache.enabled  # sliding-window layers: every prompt is encoded whole
    gemma.configure(kv_cache="off")
    assert [c.messages for c in Agent(gemma, task, config).run(task.problems(4, seed=2))] == [
        c.messages for c in chains
    ]
    for chain in chains:
        assert_well_formed(chain, config, {f.name for f in task.functions()})
    prompt = gemma.render(chains[0].messages[: chains[0].prompt_length], None)
    assert prompt.endswith("Call:") and "\nResult: " in prompt and "Problem: " in prompt
    # Plain completion keeps the format: every reply is a single call (stop at newline).
    assert all("\n" not in call.raw for chain in chains for call in chain.calls)
