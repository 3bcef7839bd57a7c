"""DPO training (`fcdistill train`): the function-result mask, a real run that learns and
whose model the agent then uses, resume, two processes under `accelerate launch`, bad input."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import assert_well_formed
from typer.testing import CliRunner

from fcdistill.agent import Agent, AgentConfig
from fcdistill.cli import app
from fcdistill.files import write_jsonl
from fcdistill.pairs.build import build_pairs
from fcdistill.tasks import get_task

runner = CliRunner()
CONFIG = AgentConfig(n_max=6, worked_examples=1)  # one worked example: shorter sequences, faster steps


@pytest.fixture(scope="module")
def real_pairs(smollm2, tmp_path_factory) -> Path:
    """Chain pairs from real chains: gold solutions vs the embedded model's own greedy chains."""
    task = get_task("arith")
    problems = task.problems(12, split="train", seed=3)
    chains = Agent(None, task, CONFIG).replay(problems) + Agent(smollm2, task, CONFIG).run(problems)
    pairs = build_pairs(chains, {"arith": task.functions()}, strategy="chain", max_per_problem=1)
    assert len(pairs) >= 4, "the embedded model should get most of these wrong"
    pairs.sort(key=lambda p: len(p.rejected) == 1)  # multi-turn completions first
    path = tmp_path_factory.mktemp("pairs") / "pairs.jsonl"
    write_jsonl(path, pairs)
    return path


@pytest.fixture(scope="module")
def trained(real_pairs, tmp_path_factory) -> Path:
    """Four steps on the same two pairs (batch 2, 4 epochs), a checkpoint every two steps."""
    out = tmp_path_factory.mktemp("train") / "run"
    args = [
        "train",
        str(real_pairs),
        "--out",
        str(out),
        "--max-pairs",
        "2",
        "--batch-size",
        "2",
        "--epochs",
        "4",
        "--lr",
        "5e-5",
        "--config",
        str(
            _yaml(
                out.parent / "train.yaml",
                {"warmup_ratio": 0, "save_steps": 2, "nll_weight": 0, "keep_checkpoints": True},
            )
        ),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Trained 4 steps on 2 pairs" in result.output
    return out


def _yaml(path: Path, settings: dict) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(settings))
    return path


# -- the mask ------------------------------------------------------------------------------


def _tokenizer():
    from transformers import AutoTokenizer

    from fcdistill.models import resolve

    return AutoTokenizer.from_pretrained(resolve("smollm2-135m"))


@pytest.mark.model
def test_only_the_models_own_tokens_are_marked(real_pairs):
    from fcdistill.backends.render import Renderer
    from fcdistill.training.sequences import encode_pair

    tokenizer = _tokenizer()
    pair = json.loads(real_pairs.read_text().splitlines()[0])
    assert len(pair["chosen"]) >= 3 or len(pair["rejected"]) >= 3, "a multi-turn completion"
    encoded = encode_pair(Renderer(tokenizer), pair)
    for side in ("chosen", "rejected"):
        ids, mask = encoded[f"{side}_ids"], encoded[f"{side}_mask"]
        own = tokenizer.decode([t for t, m in zip(ids, mask) if m])
        expected = "".join(m["content"] + "<|im_end|>\n" for m in pair[side] if m["role"] == "assistant")
        assert own == expected
        other = tokenizer.decode([t for t, m in zip(ids, mask) if not m])
        for m in pair[side]:
            if m["role"] != "assistant":
                assert m["content"] in other  # every function result is left out
        assert tokenizer.decode(encoded["prompt_ids"] + ids) == tokenizer.decode(
            encoded["prompt_ids"]
        ) + tokenizer.decode(ids)


def _loss(trainer_cls, model, ref, pair: dict, tmp_path: Path, **kwargs) -> float:
    from datasets import Dataset
    from trl import DPOConfig

    args = DPOConfig(
        output_dir=str(tmp_path / "x"),
        use_cpu=True,
        bf16=False,
        precompute_ref_log_probs=False,
        report_to="none",
        remove_unused_columns=False,
        max_length=2048,
    )
    trainer = trainer_cls(
        model=model,
        ref_model=ref,
        args=args,
        train_dataset=Dataset.from_list([pair]),
        processing_class=_tokenizer(),
        **kwargs,
    )
    batch = trainer.data_collator([trainer.train_dataset[0]])
    with torch.no_grad():
        return trainer.compute_loss(trainer.model, batch).item()


@pytest.mark.model
def test_function_results_do_not_count_in_the_dpo_loss(tmp_path):
    """A result token inside the completion changes nothing; a token of the model's call does.
    The changed result ends the completion, so no later token is conditioned on it: any
    change in the loss could only come from scoring the result token itself — which plain
    TRL does."""
    from transformers import AutoModelForCausalLM
    from trl import DPOTrainer

    from fcdistill.models import resolve
    from fcdistill.training.trainer import FunctionCallDPOTrainer

    ref = AutoModelForCausalLM.from_pretrained(resolve("smollm2-135m")).eval()
    policy = copy.deepcopy(ref)
    with torch.no_grad():  # a policy that differs from the reference, so log-ratios are not zero
        policy.model.norm.weight.mul_(1.05)
    prompt = [
        {"role": "system", "content": "Call functions."},
        {"role": "user", "content": "Tom has 2 pens and buys 3. How many?"},
    ]
    chosen = [{"role": "assistant", "content": "Sum(a=2, b=3)"}, {"role": "user", "content": "Result: 5"}]
    rejected = [{"role": "assistant", "content": "Subtract(a=2, b=3)"}, {"role": "user", "content": "Result: -1"}]
    pair = {"prompt": prompt, "chosen": chosen, "rejected": rejected}
    result_changed = {**pair, "chosen": [chosen[0], {"role": "user", "content": "Result: 7"}]}
    call_changed = {**pair, "chosen": [{"role": "assistant", "content": "Sum(a=2, b=4)"}, chosen[1]]}

    ours = {
        name: _loss(FunctionCallDPOTrainer, policy, ref, p, tmp_path)
        for name, p in [("base", pair), ("result", result_changed), ("call", call_changed)]
    }
    assert ours["result"] == ours["base"]
    assert abs(ours["call"] - ours["base"]) > 1e-4

    plain = {
        name: _loss(DPOTrainer, policy, ref, p, tmp_path) for name, p in [("base", pair), ("result", result_changed)]
    }
    assert abs(plain["result"] - plain["base"]) > 1e-4, "plain TRL scores function-result tokens"


@pytest.mark.model
def test_reference_log_probs_sum_the_models_turns_only(real_pairs, tmp_path):
    """On a real multi-turn chain, the trainer's log-probability of a completion equals the
    sum, over the model's turns only, of each turn's log-probability given everything before
    it, computed turn by turn with separate forward passes."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import DPOConfig

    from fcdistill.backends.render import Renderer
    from fcdistill.models import resolve
    from fcdistill.training.trainer import FunctionCallDPOTrainer

    tokenizer = _tokenizer()
    model = AutoModelForCausalLM.from_pretrained(resolve("smollm2-135m")).eval()
    pair = json.loads(real_pairs.read_text().splitlines()[0])
    args = DPOConfig(
        output_dir=str(tmp_path / "x"),
        use_cpu=True,
        bf16=False,
        precompute_ref_log_probs=False,
        report_to="none",
        remove_unused_columns=False,
    )
    trainer = FunctionCallDPOTrainer(
        model=model,
        ref_model=copy.deepcopy(model),
        args=args,
        train_dataset=Dataset.from_list([pair]),
        processing_class=tokenizer,
    )
    with torch.no_grad():
        chosen, rejected = trainer.compute_ref_log_probs(model, trainer.data_collator([trainer.train_dataset[0]]))

    renderer = Renderer(tokenizer)
    tools = json.loads(pair["tools"])

    def turn_by_turn(completion: list[dict]) -> float:
        messages, total = pair["prompt"] + completion, 0.0
        for i in range(len(pair["prompt"]), len(messages)):
            if messages[i]["role"] != "assistant":
                continue
            context = tokenizer(renderer.render(messages[:i], tools), add_special_tokens=False)["input_ids"]
            full = tokenizer(
                renderer.render(messages[: i + 1], tools, generation_prompt=False), add_special_tokens=False
            )["input_ids"]
            assert full[: len(context)] == context
            with torch.no_grad():
                logits = model(torch.tensor([full])).logits[0]
            logps = torch.log_softmax(logits.float(), -1)
            total += sum(logps[t - 1, full[t]].item() for t in range(len(context), len(full)))
        return total

    assert chosen.item() == pytest.approx(turn_by_turn(pair["chosen"]), abs=2e-3)
    assert rejected.item() == pytest.approx(turn_by_turn(pair["rejected"]), abs=2e-3)


@pytest.mark.model
def test_sharing_the_common_prefix_changes_neither_loss_nor_gradients(real_pairs, tmp_path):
    """The batch's common prefix and each pair's shared prompt computed once (with gradients
    through the repeated caches), each pair's activations kept or recomputed in the backward,
    give the loss and gradients of the plain forward. In float32,
    summed in another order: measured up to 5e-5 of a tensor's largest element (in float64 the
    gradients agree to 1e-6 relative, what is left being TRL's LM-head kernel, which
    accumulates in float32)."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import DPOConfig

    from fcdistill.models import resolve
    from fcdistill.training.shared_prefix import shared_prefix_length
    from fcdistill.training.trainer import FunctionCallDPOTrainer

    base = AutoModelForCausalLM.from_pretrained(resolve("smollm2-135m"))
    pairs = [json.loads(line) for line in real_pairs.read_text().splitlines()[:2]]
    results = {}
    for share, recompute in ((False, False), (True, False), (True, True)):
        policy, ref = copy.deepcopy(base), copy.deepcopy(base)
        with torch.no_grad():
            policy.model.norm.weight.mul_(1.05)
        args = DPOConfig(
            output_dir=str(tmp_path / "x"),
            use_cpu=True,
            bf16=False,
            precompute_ref_log_probs=False,
            report_to="none",
            remove_unused_columns=False,
            activation_checkpointing=False,
        )
        trainer = FunctionCallDPOTrainer(
            model=policy,
            ref_model=ref,
            args=args,
            train_dataset=Dataset.from_list(pairs),
            processing_class=_tokenizer(),
            share_prefix=share,
            recompute_pairs=recompute,
        )
        batch = trainer.data_collator([trainer.train_dataset[i] for i in range(2)])
        labels = batch["input_ids"].masked_fill(batch["completion_mask"] == 0, -100)
        assert (
            shared_prefix_length(batch["input_ids"], batch["attention_mask"], labels) > 100
        )  # instructions + worked example
        loss = trainer.compute_loss(policy, batch)
        loss.backward()
        grads = {n: p.grad.clone() for n, p in policy.named_parameters() if p.grad is not None}
        results[share, recompute] = (loss.item(), grads)
    plain, plain_grads = results.pop((False, False))
    for shared, shared_grads in results.values():
        assert shared == pytest.approx(plain, abs=1e-5)
        assert plain_grads.keys() == shared_grads.keys()
        for name, grad in plain_grads.items():
            assert torch.allclose(shared_grads[name], grad, rtol=1e-3, atol=2e-4 * grad.abs().max().item()), name
            assert (shared_grads[name] - grad).norm() <= 1e-4 * grad.norm(), name


# -- a real run ----------------------------------------------------------------------------


@pytest.mark.model
def test_training_lowers_the_loss_and_the_agent_runs_the_saved_model(trained, smollm2):
    from fcdistill.backends.local import LocalBackend

    log = json.loads((trained / "log.json").read_text())
    steps = [h for h in log["history"] if "loss" in h]
    assert [h["step"] for h in steps] == [1, 2, 3, 4]
    assert steps[0]["loss"] == pytest.approx(0.6931, abs=1e-3)  # policy == reference at the first step
    assert steps[-1]["loss"] < steps[0]["loss"] - 0.05
    assert steps[-1]["rewards/margins"] > steps[0]["rewards/margins"] + 0.05
    assert log["seconds_per_pair"] > 0 and log["peak_memory_mb"] > 0
    assert (trained / "training.png").stat().st_size > 1000

    backend = LocalBackend(str(trained / "model"), precision="float32")
    assert not torch.equal(backend.model.lm_head.weight, smollm2.model.lm_head.weight)
    task = get_task("arith")
    config = AgentConfig(n_max=4, worked_examples=1)
    for chain in Agent(backend, task, config).run(task.problems(3, split="test")):
        assert_well_formed(chain, config, {f.name for f in task.functions()})

    result = runner.invoke(
        app,
        ["eval", "--model", str(trained / "model"), "--n", "2", "--n-max", "3", "--out", str(trained.parent / "ev")],
    )
    assert result.exit_code == 0, result.output


@pytest.mark.model
def test_training_resumes_from_its_last_checkpoint(trained, real_pairs, tmp_path):
    """A copy of the run as if killed after step 2: resuming trains steps 3-4 only and ends
    where the uninterrupted run ended."""
    out = tmp_path / "run"
    shutil.copytree(trained, out, ignore=shutil.ignore_patterns("checkpoint-4", "model", "log.json", "training.png"))
    assert sorted(p.name for p in (out / "checkpoints").glob("checkpoint-*")) == ["checkpoint-2"]
    args = [
        "train",
        str(real_pairs),
        "--out",
        str(out),
        "--max-pairs",
        "2",
        "--batch-size",
        "2",
        "--epochs",
        "4",
        "--lr",
        "5e-5",
        "--config",
        str(trained.parent / "train.yaml"),
        "--resume",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    log = json.loads((out / "log.json").read_text())
    assert log["steps"] == 4
    first = json.loads((trained / "log.json").read_text())
    resumed = {h["step"]: h["loss"] for h in log["history"] if "loss" in h}
    done = {h["step"]: h["loss"] for h in first["history"] if "loss" in h}
    last = max(resumed)
    assert resumed[last] == pytest.approx(done[last], abs=1e-3)


@pytest.mark.model
def test_two_processes_under_accelerate_launch(real_pairs, tmp_path):
    out = tmp_path / "ddp"
    config = Path(__file__).parent.parent / "configs" / "accelerate" / "ddp-cpu.yaml"
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(config),
        "-m",
        "fcdistill",
        "train",
        str(real_pairs),
        "--out",
        str(out),
        "--max-pairs",
        "4",
        "--batch-size",
        "1",
        "--max-steps",
        "2",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = json.loads((out / "log.json").read_text())
    assert log["world_size"] == 2
    assert log["steps"] == 2 and log["pairs_trained"] == 4  # two processes, one pair each per step
    assert (out / "model" / "model.safetensors").is_file()


def test_shared_prefix_stops_before_the_first_scored_token_and_at_padding():
    from fcdistill.training.shared_prefix import shared_prefix_length

    ids = torch.tensor([[1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 9, 9], [1, 2, 3, 7, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]])
    unscored = torch.full_like(ids, -100)
    assert shared_prefix_length(ids, mask, unscored) == 3
    scored = unscored.clone()
    scored[0, 2] = 3  # the first scored token is predicted from position 1
    assert shared_prefix_length(ids, mask, scored) == 1
    assert (
        shared_prefix_length(ids[:2], torch.tensor([[0, 1, 1, 1, 1, 1]] * 2), unscored[:2]) == 0
    )  # left padding: nothing shared


def tiny_shape(max_positions: int) -> dict[str, int]:
    """A decoder small enough to compare forwards exactly on a CPU (vocabulary 97)."""
    return dict(
        vocab_size=97,
        hidden_size=32,
        intermediate_size=64,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_positions,
    )


@pytest.mark.parametrize(
    "completions, holes",
    [
        ([([3, 4, 5, 6], [7, 8]), ([20, 21], [22])], []),  # completions differ from their first token, as in step pairs
        # a pair with equal completions, one whose rejected is a prefix of its chosen, a row without padding,
        # an unscored hole (as a function result makes), and one in one sequence only where the two still agree
        ([([3, 4, 5, 6], [7, 8]), ([9, 9, 9], [9, 9, 9]), ([10, 11, 12, 13, 14, 15], [10, 11])], [(2, 2), (1, 1)]),
    ],
)
@pytest.mark.parametrize("recompute", [False, True], ids=["kept", "recomputed"])
@pytest.mark.parametrize("architecture", ["llama", "gemma3"])
def test_shared_parts_give_the_plain_forwards_scores_and_gradients(completions, holes, recompute, architecture):
    """Batch prefix, each pair's shared tokens and each sequence's rest computed apart give the
    plain forward's per-token scores and gradients, in awkward batches too, with a sliding
    attention window, and with each pair's activations recomputed in the backward."""
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig, LlamaConfig, LlamaForCausalLM
    from trl.trainer.utils import add_fused_lm_head

    from fcdistill.training.shared_prefix import SharedPrefixModel

    torch.manual_seed(0)
    shape = tiny_shape(max_positions=128)
    if architecture == "llama":
        model = LlamaForCausalLM(LlamaConfig(num_hidden_layers=2, **shape)).float()
    else:  # Gemma-3's layers: a sliding window shorter than the batch prefix, and one full-attention layer
        layers = ["sliding_attention", "sliding_attention", "full_attention"]
        config = Gemma3TextConfig(num_hidden_layers=3, layer_types=layers, sliding_window=6, head_dim=8, **shape)
        model = Gemma3ForCausalLM(config).float()
    add_fused_lm_head(model, outputs=("log_probs", "entropy", "mean_logits", "is_top1"))
    prefix = torch.randint(1, 97, (20,)).tolist()
    prompts = [torch.randint(1, 97, (n,)).tolist() for n in (5, 9, 1)[: len(completions)]]
    chosen = [prefix + p + c for p, (c, _) in zip(prompts, completions)]
    rejected = [prefix + p + r for p, (_, r) in zip(prompts, completions)]
    rows = chosen + rejected
    width = max(len(r) for r in rows)
    ids = torch.tensor([r + [0] * (width - len(r)) for r in rows])
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    first = [len(prefix) + len(p) for p in prompts * 2]
    labels = torch.stack(
        [torch.where((torch.arange(width) >= f) & (mask[i] == 1), ids[i], -100) for i, f in enumerate(first)]
    )
    for row, offset in holes:
        labels[row, first[row] + offset] = -100
    outputs = {}
    for name, forward in (("plain", model), ("shared", SharedPrefixModel(model, recompute=recompute))):
        model.zero_grad()
        out = forward(input_ids=ids, attention_mask=mask, labels=labels, fused_lm_head=True)
        (out.log_probs * torch.linspace(0.5, 1.5, out.log_probs.numel()).view_as(out.log_probs)).sum().backward()
        outputs[name] = (out, {n: p.grad.clone() for n, p in model.named_parameters()})
    (plain, plain_grads), (shared, shared_grads) = outputs["plain"], outputs["shared"]
    for field in ("log_probs", "entropy", "mean_logits"):
        assert torch.allclose(getattr(shared, field), getattr(plain, field), atol=1e-5), field
    assert torch.equal(shared.is_top1, plain.is_top1)
    for name, grad in plain_grads.items():
        assert torch.allclose(shared_grads[name], grad, rtol=1e-4, atol=1e-5 * grad.abs().max().item()), name


def test_recomputation_keeps_no_activations_for_the_backward():
    """With `recompute`, the forward saves almost nothing for the backward outside its
    checkpoints: neither each pair's activations nor the batch prefix's, so what it saves grows
    with neither the pairs' tokens nor the prefix's, and is far below what the kept forward saves."""
    from transformers import LlamaConfig, LlamaForCausalLM
    from trl.trainer.utils import add_fused_lm_head

    from fcdistill.training.shared_prefix import SharedPrefixModel

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(num_hidden_layers=2, **tiny_shape(max_positions=512))).float()
    add_fused_lm_head(model, outputs=("log_probs",))

    def saved_bytes(recompute: bool, prefix_length: int, completion: int) -> int:
        prefix = torch.randint(1, 97, (prefix_length,)).tolist()
        rows = [prefix + torch.randint(1, 97, (completion,)).tolist() for _ in range(4)]
        ids = torch.tensor(rows)
        labels = ids.clone()
        labels[:, : len(prefix)] = -100
        total = 0

        def pack(t: torch.Tensor) -> torch.Tensor:
            nonlocal total
            total += t.numel() * t.element_size()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            SharedPrefixModel(model, recompute=recompute)(
                input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels, fused_lm_head=True
            )
        return total

    kept, recomputed = saved_bytes(False, 100, 60), saved_bytes(True, 100, 60)
    assert recomputed < kept / 10
    # twice the pairs' tokens, three times the prefix: the kept forward saves more activations,
    # the recomputed one little more than the scored positions' indices
    for longer in ((100, 120), (300, 60)):
        assert saved_bytes(True, *longer) - recomputed < (saved_bytes(False, *longer) - kept) / 10, longer


def test_shipped_training_configs_are_valid():
    from accelerate.commands.config.config_args import load_config_from_file

    from fcdistill.configfile import load_yaml_model
    from fcdistill.training import TrainConfig

    root = Path(__file__).parent.parent / "configs"
    paper = load_yaml_model(root / "train-paper.yaml", TrainConfig)
    assert paper.method == "lora" and paper.gradient_checkpointing
    kinds = {p.stem: load_config_from_file(str(p)).distributed_type for p in (root / "accelerate").glob("*.yaml")}
    assert {str(k).split(".")[-1] for k in kinds.values()} == {"MULTI_GPU", "DEEPSPEED", "FSDP"}
    assert kinds.keys() == {"ddp-cpu", "ddp", "deepspeed-zero2", "deepspeed-zero3", "fsdp"}


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lines, message",
    [
        (['{"prompt": "a", "chosen": "b", "rejected": "c"}', "{not json"], "pairs.jsonl:2: not valid JSON"),
        (['{"prompt": "a", "chosen": "b"}'], "pairs.jsonl:1: missing field(s) rejected"),
        (
            ['{"prompt": "a", "chosen": 3, "rejected": "c"}'],
            "pairs.jsonl:1: field 'chosen' must be text or a list of messages",
        ),
        (["[1, 2]"], "pairs.jsonl:1: a preference pair must be a JSON object"),
        ([""], "no preference pairs in the file"),
    ],
)
def test_bad_pairs_files_name_file_and_line(tmp_path, lines, message):
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["train", str(path), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "run" / "model").exists()


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"beta": -1}, "beta: Input should be greater than 0"),
        ({"loss": ["dpo-ish"]}, "loss.0: Input should be"),
        ({"loss": ["robust"]}, "label_smoothing > 0"),
        ({"learning_rate": "fast"}, "learning_rate: Input should be a valid number"),
        ({"lora": {"r": 0}}, "lora.r: Input should be greater than or equal to 1"),
        ({"epochs": 1, "unknown_field": 3}, "unknown_field: Extra inputs are not permitted"),
    ],
)
def test_bad_training_settings_name_the_field(tmp_path, settings, message):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"prompt": "a", "chosen": "b", "rejected": "c"}\n')
    config = _yaml(tmp_path / "train.yaml", settings)
    result = runner.invoke(app, ["train", str(pairs), "--out", str(tmp_path / "run"), "--config", str(config)])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert str(config) in text and message in text
    assert not (tmp_path / "run").exists()


def test_unreadable_config_and_missing_pairs(tmp_path):
    bad = tmp_path / "train.yaml"
    bad.write_text("beta: [1,\n")
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"prompt": "a", "chosen": "b", "rejected": "c"}\n')
    result = runner.invoke(app, ["train", str(pairs), "--out", str(tmp_path / "r"), "--config", str(bad)])
    assert result.exit_code == 2 and "not valid YAML" in result.output
    result = runner.invoke(app, ["train", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "no such file or directory" in result.output


def test_an_existing_run_directory_is_not_overwritten(tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"prompt": "a", "chosen": "b", "rejected": "c"}\n')
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = runner.invoke(app, ["train", str(pairs), "--out", str(out)])
    assert result.exit_code == 2 and "already exists" in result.output
    assert (out / "keep.txt").read_text() == "mine" and sorted(p.name for p in out.iterdir()) == ["keep.txt"]
