"""The model-family seam: each family's anatomy, inputs and answer head, and the refusals
(an unknown family, a checkpoint of another family, what a family cannot do)."""

from __future__ import annotations

import copy

import pytest
import torch

from conftest import ROOT, check_study_digests, load_config
from lxmert_lth.core.checkpoints import CheckpointMeta
from lxmert_lth.core.errors import ConfigError, InputError
from lxmert_lth.models import families
from lxmert_lth.models.modeling import (
    PRETRAINED_ANSWERS,
    init_answer_head,
    load_checkpoint,
    load_pretrained,
    load_theta0,
    num_parameters,
    save_checkpoint,
)
from lxmert_lth.pruning.anatomy import module_of
from lxmert_lth.pruning.enforcement import prunable_parameter_names
from lxmert_lth.training.inference import answer_logits
from lxmert_lth.workflow.checks import prunable_pattern, validate_config
from tiny_models import small_model

SCHEMA = ROOT / "schemas" / "config.schema.yaml"
RUNS = {  # each family's test configuration other than LXMERT's
    "visualbert": ROOT / "tests" / "config" / "test_visualbert.yaml",
    "vilt": ROOT / "tests" / "config" / "test_vilt.yaml",
}


def batch(n: int = 3, regions: int = 4, dim: int = 6) -> dict:
    """A batch of both visual inputs: each family takes the one it reads."""
    g = torch.Generator().manual_seed(0)
    mask = torch.ones(n, 24, 16, dtype=torch.long)
    mask[0, 16:] = 0  # the first image is 16 x 16 in a batch padded to 24 x 16
    return {
        "input_ids": torch.randint(5, 40, (n, 7), generator=g),
        "attention_mask": torch.ones(n, 7, dtype=torch.long),
        "token_type_ids": torch.zeros(n, 7, dtype=torch.long),
        "visual_feats": torch.rand(n, regions, dim, generator=g),
        "visual_pos": torch.rand(n, regions, 4, generator=g),
        "pixel_values": (torch.rand(n, 3, 24, 16, generator=g) * 2 - 1) * mask[:, None],
        "pixel_mask": mask,
    }


@pytest.mark.parametrize("name", sorted(families.FAMILIES))
def test_each_family_answers_a_batch_and_maps_every_prunable_weight(name):
    family = families.get(name)
    model = small_model(name)
    assert families.of_model(model) is family
    assert answer_logits(model, batch()).shape == (3, 5)
    names = prunable_parameter_names(model, family.prunable_modules)
    assert names and all(n.endswith(".weight") for n in names)
    modules = {module_of(n, name) for n in names}
    encoders = {encoder for encoder, _, _ in modules}
    assert set(family.encoders.values()) <= encoders
    assert {part for _, _, part in modules} >= {"attention", "feed-forward"}
    # Embeddings, the visual input projection and the answer head are not prunable.
    assert not any("embeddings" in n or n.startswith(family.answer_head_name) for n in names)


def saved_activation_bytes(model, inputs: dict) -> int:
    """Bytes of the tensors (not parameters) that autograd keeps for the backward pass of
    one training forward, each storage once."""
    return _saved_bytes(lambda: answer_logits(model, inputs), model)


@pytest.mark.parametrize("name", sorted(families.FAMILIES))
def test_the_activation_estimate_counts_what_autograd_keeps(name):
    """workflow.sizes.training_activations against the tensors a training step saves:
    per layer within 1 % (two depths apart), and the whole forward under the estimate."""
    from lxmert_lth.workflow.sizes import training_activations

    family, n, text = families.get(name), 8, 7
    shape = {"hidden_size": 64, "num_attention_heads": 4, "intermediate_size": 256, "dropout": 0.1}
    depth = {"lxmert": ("l_layers", "r_layers")}.get(name, ("num_hidden_layers",))
    visual = {"vilt": 1 + (24 // 8) * (16 // 8)}.get(name, 4)  # patches, or 4 regions
    measured, estimated = [], []
    for layers in (2, 4):
        model = small_model(name, **shape, **dict.fromkeys(depth, layers)).train()
        measured.append(saved_activation_bytes(model, batch(n)))
        stacks = family.encoder_stacks(model.config, text, visual)
        estimated.append(training_activations(stacks, 64, 4, n))
    per_layer = (measured[1] - measured[0]) / 2
    assert per_layer == pytest.approx((estimated[1] - estimated[0]) / 2, rel=0.01)
    assert measured[0] <= estimated[0] and measured[1] <= estimated[1]


def test_visualberts_anatomy_is_one_stream_of_attention_and_feed_forward_layers():
    model = small_model("visualbert")
    names = prunable_parameter_names(model, families.get("visualbert").prunable_modules)
    assert module_of("visual_bert.encoder.layer.1.attention.self.query.weight", "visualbert") == (
        "single-stream", 1, "attention")  # fmt: skip
    assert (
        module_of("visual_bert.encoder.layer.0.attention.output.dense.weight", "visualbert")[2]
        == "attention"
    )
    assert module_of("visual_bert.encoder.layer.0.intermediate.dense.weight", "visualbert")[2] == (
        "feed-forward"
    )
    assert module_of("visual_bert.pooler.dense.weight", "visualbert") == ("pooler", 0, "pooler")
    # 2 layers x (q, k, v, attention output, intermediate, output) + the pooler.
    assert len(names) == 2 * 6 + 1
    with pytest.raises(ValueError, match="no encoder layer of VisualBERT"):
        module_of("visual_bert.embeddings.word_embeddings.weight", "visualbert")


def test_vilts_anatomy_is_one_stream_over_patches():
    model = small_model("vilt")
    vilt = families.get("vilt")
    names = prunable_parameter_names(model, vilt.prunable_modules)
    assert module_of("vilt.encoder.layer.1.attention.attention.key.weight", "vilt") == (
        "single-stream", 1, "attention")  # fmt: skip
    assert module_of("vilt.encoder.layer.0.output.dense.weight", "vilt")[2] == "feed-forward"
    assert module_of("vilt.pooler.dense.weight", "vilt") == ("pooler", 0, "pooler")
    assert len(names) == 2 * 6 + 1  # q, k, v, attention output, intermediate, output; pooler
    # The patch embedding (a convolution) and the answer head are not prunable.
    assert not any("patch_embeddings" in n or n.startswith("classifier") for n in names)
    assert vilt.visual_input == "pixels"
    # The answer head's output layer is the last of its four modules.
    assert vilt.answer_head(model).get_submodule(vilt.answer_output).out_features == 5


def test_vilt_reads_pixels_and_ignores_the_padding():
    """A padded image answers as it does alone (its padding is masked out)."""
    model = small_model("vilt").eval()
    full = batch()
    alone = {k: v[:1] for k, v in full.items()}
    alone["pixel_values"] = alone["pixel_values"][:, :, :16]
    alone["pixel_mask"] = alone["pixel_mask"][:, :16]
    torch.manual_seed(0)
    a = answer_logits(model, full)[0]
    b = answer_logits(model, alone)[0]
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_the_answer_head_is_drawn_from_the_seed_for_every_family():
    for name in families.FAMILIES:
        one, two, other = small_model(name), small_model(name), small_model(name)
        init_answer_head(one, 3)
        init_answer_head(two, 3)
        init_answer_head(other, 4)
        head = families.get(name).answer_head
        a, b, c = (head(m).state_dict() for m in (one, two, other))
        assert all(torch.equal(a[k], b[k]) for k in a)
        assert not all(torch.equal(a[k], c[k]) for k in a)


def test_an_unknown_family_is_refused_by_name():
    with pytest.raises(InputError, match=r"model.family: 'uniter' is not a model family \(known: "):
        families.get("uniter")
    config = load_config(RUNS["visualbert"])
    config["model"]["family"] = "uniter"
    with pytest.raises(
        ConfigError,
        match=r"^model.family: 'uniter' is not a model family \(known: lxmert, visualbert, vilt\)$",
    ):
        validate_config(config, SCHEMA)


def test_each_family_has_its_own_architecture_keys():
    config = load_config(RUNS["visualbert"])
    validate_config(copy.deepcopy(config), SCHEMA)
    lxmert_keys = copy.deepcopy(config)
    lxmert_keys["model"]["l_layers"] = 2
    with pytest.raises(ConfigError, match="^model: "):
        validate_config(lxmert_keys, SCHEMA)
    missing = copy.deepcopy(config)
    del missing["model"]["num_hidden_layers"]
    with pytest.raises(ConfigError, match="'num_hidden_layers' is a required property"):
        validate_config(missing, SCHEMA)
    lxmert = load_config()  # the LXMERT test configuration, without a family key
    validate_config(lxmert, SCHEMA)
    assert lxmert["model"]["family"] == "lxmert"
    assert prunable_pattern(lxmert) == lxmert["pruning"]["prunable_modules"]
    validated = validate_config(config, SCHEMA) or config
    assert prunable_pattern(validated) == families.get("visualbert").prunable_modules


@pytest.mark.parametrize(
    "change, message",
    [
        ({"pruning": {"scope": "vision"}}, "pruning.scope: VisualBERT has no part 'vision'"),
        ({"pruning": {"prunable_set": "authors"}}, "pruning.prunable_set: the authors' code's"),
        ({"pretrain": {"aux_weight": 0.2}}, "pretrain.aux_weight: VisualBERT's embedded"),
        ({"pretrain": {"augment": {"flip": True}}}, "pretrain.augment: .* VisualBERT reads"),
    ],
)
def test_what_a_family_cannot_do_is_refused_at_the_dry_run(change, message):
    config = load_config(RUNS["visualbert"])
    for section, values in change.items():
        config[section].update(values)
    with pytest.raises(ConfigError, match=message):
        validate_config(config, SCHEMA)


@pytest.mark.parametrize(
    "family, change, message",
    [
        ("visualbert", {"tokenizer": {"max_length": 40}},
         r"tokenizer.max_length: 40 word pieces, more than model.max_position_embeddings \(32\)"),
        ("vilt", {"images": {"size_divisor": 12}},
         r"images.size_divisor: 12 is not a multiple of model.patch_size \(8\)"),
        ("vilt", {"images": {"shortest_edge": 4}},
         r"images.shortest_edge: 4 is less than images.size_divisor \(8\)"),
    ],
)  # fmt: skip
def test_keys_of_two_sections_that_must_agree_are_checked_at_the_dry_run(family, change, message):
    config = load_config(RUNS[family])
    for section, values in change.items():
        config[section] = {**config.get(section, {}), **values}
    with pytest.raises(ConfigError, match=message):
        validate_config(config, SCHEMA)


def _theta0(tmp_path, name: str):
    model = small_model(name)
    meta = CheckpointMeta(
        config=model.config.to_dict(),
        answers=list("abcde"),
        seed=0,
        prunable=prunable_parameter_names(model, families.get(name).prunable_modules),
        num_total_parameters=num_parameters(model),
    )
    path = tmp_path / f"{name}.safetensors"
    save_checkpoint(path, model, meta)
    return path, model


def test_a_checkpoint_loads_as_its_own_family_and_another_family_is_refused(tmp_path):
    for name in families.FAMILIES:
        path, model = _theta0(tmp_path, name)
        loaded, meta = load_checkpoint(path, family=name)
        assert type(loaded) is type(model) and families.of_config(meta.config).name == name
        assert all(torch.equal(a, b) for a, b in zip(
            loaded.state_dict().values(), model.state_dict().values(), strict=True))  # fmt: skip
    path, _ = _theta0(tmp_path, "visualbert")
    with pytest.raises(InputError, match=r"a VisualBERT checkpoint, but the configuration's "
                       r"model.family is 'lxmert'"):  # fmt: skip
        load_checkpoint(path, family="lxmert")


def test_a_pretrained_model_of_another_family_is_refused(tmp_path):
    folder = tmp_path / "pretrained-visualbert"
    small_model("visualbert").save_pretrained(folder)
    with pytest.raises(InputError, match=f"{folder}: a VisualBERT checkpoint, but the "):
        load_theta0(folder, ["a", "b"], seed=0, answer_head="random", family="lxmert")
    theta0 = load_theta0(folder, ["a", "b"], seed=0, answer_head="random", family="visualbert")
    assert families.of_model(theta0).name == "visualbert"
    assert answer_logits(theta0, batch()).shape == (3, 2)


@pytest.mark.parametrize(("saved", "asked"), [("visualbert", "lxmert"), ("lxmert", "visualbert"),
                                              ("vilt", "visualbert")])  # fmt: skip
def test_importing_another_familys_folder_is_refused_before_loading(tmp_path, saved, asked):
    """pretrained.source of another family: one line naming the folder and both model
    types, before transformers would load no weight (or fail inside its config classes)."""
    folder = tmp_path / f"pretrained-{saved}"
    small_model(saved).save_pretrained(folder)
    found = families.get(saved).model_type
    with pytest.raises(InputError) as err:
        load_pretrained(folder, family=asked)
    assert str(err.value) == (
        f"{folder}: holds a {found!r} model (model.family: {saved}) (config.json's "
        f"model_type), not {families.get(asked).model_type!r}: set model.family to the "
        "family that saved it"
    )


def test_a_pretrained_folder_missing_encoder_weights_is_refused(tmp_path):
    """Weights the file lacks would start at random: refused with the count; the heads the
    study makes itself (the answer head) may be missing."""
    from safetensors.numpy import load_file, save_file

    folder = tmp_path / "pretrained"
    small_model("lxmert").save_pretrained(folder)
    assert families.of_model(load_pretrained(folder, family="lxmert")).name == "lxmert"
    weights = folder / "model.safetensors"
    tensors = load_file(weights)
    gone = [k for k in tensors if k.startswith("lxmert.encoder.layer.0.")]
    save_file({k: v for k, v in tensors.items() if k not in gone}, weights, {"format": "pt"})
    with pytest.raises(InputError, match=rf"{weights}: {len(gone)} tensors of the "
                       r"LxmertForPreTraining encoder are not in the file"):  # fmt: skip
        load_pretrained(folder, family="lxmert")


def test_visualbert_copies_the_pretrained_answer_rows_it_knows(tmp_path):
    import json

    folder = tmp_path / "pretrained"
    pretrained = small_model("visualbert", answers=3)
    pretrained.save_pretrained(folder)
    (folder / PRETRAINED_ANSWERS).write_text(json.dumps(["red", "yes", "2"]))
    theta0 = load_theta0(
        folder, ["yes", "blue", "two"], seed=0, answer_head="copy_pretrained", family="visualbert"
    )
    ours, theirs = theta0.cls.weight.detach(), pretrained.cls.weight.detach()
    assert torch.equal(ours[0], theirs[1]) and torch.equal(ours[2], theirs[2])  # "two" -> "2"
    assert torch.count_nonzero(ours[1]) == 0 and theta0.cls.bias[1] == 0


# --- the whole study for the other families (tests/config/test_<family>.yaml) -------------


@pytest.fixture(scope="module", params=sorted(RUNS))
def family_run(request, tmp_path_factory):
    from conftest import snakemake

    workdir = tmp_path_factory.mktemp(request.param)
    snakemake(workdir, "--cores", "2", configfile=RUNS[request.param])
    return request.param, workdir / load_config(RUNS[request.param])["results"]


@pytest.mark.slow
def test_the_whole_study_runs_for_each_family(family_run):
    import pandas as pd

    from lxmert_lth.core.masks import Mask

    name, results = family_run
    family = families.get(name)
    prefix = family.prunable_modules.split("\\.")[0].lstrip("^")  # visual_bert, vilt
    study = load_config(RUNS[name])["study"]
    scores = pd.read_csv(results / "scores.csv")
    assert len(scores) == len(study["seeds"]) * (1 + len(study["kinds"]) * len(study["sparsities"]))
    assert f"| {family.label} (dense) " in (results / "table1.md").read_text()
    modules = (results / "module_sparsity.md").read_text()
    assert "single-stream" in modules and "language" not in modules
    for seed in study["seeds"]:
        _, meta = load_checkpoint(results / f"seed{seed}/theta0.safetensors", name)
        assert meta.config["model_type"] == family.model_type
        for s in study["sparsities"]:
            mask, _ = Mask.load(results / f"seed{seed}/low{s}/mask.safetensors")
            assert mask.num_pruned == round(mask.num_prunable * s / 100)
            assert all(n.startswith(f"{prefix}.") for n in mask.tensors)
        trained, _ = load_checkpoint(results / f"seed{seed}/low50/model.safetensors")
        for tensor, keep in Mask.load(results / f"seed{seed}/low50/mask.safetensors")[
            0
        ].tensors.items():
            weight = trained.get_parameter(tensor).detach().numpy()
            assert not weight[~keep].any(), tensor  # the mask held through retraining
    assert (results / "curves" / "curves.pdf").exists()
    assert (results / "seed0" / "low50" / "predictions.json").exists()  # the EvalAI file
    check_study_digests(name, results)


@pytest.mark.slow
def test_export_of_a_ticket_loads_as_its_family(family_run, tmp_path):
    """export_network writes a standard folder; its family's class reads it back and
    answers as the project's checkpoint does."""
    from transformers import AutoConfig

    from lxmert_lth.core.network import Network
    from lxmert_lth.workflow.stages.export import export_network

    name, results = family_run
    family = families.get(name)
    out = tmp_path / "low50"
    export_network(
        str(results / "seed0/low50/model.safetensors"),
        str(results / "tokenizer"),
        Network(0, "low", 50),
        str(out),
    )
    assert AutoConfig.from_pretrained(out).model_type == family.model_type
    model = family.qa_class().from_pretrained(out).eval()
    ours, meta = load_checkpoint(results / "seed0/low50/model.safetensors")
    assert model.config.num_labels == len(meta.answers)
    inputs = batch(dim=ours.config.to_dict().get("visual_embedding_dim", 6))
    torch.manual_seed(0)
    expected = answer_logits(ours.eval(), inputs)
    torch.manual_seed(0)
    torch.testing.assert_close(answer_logits(model, inputs), expected)


@pytest.mark.parametrize("name", sorted(families.FAMILIES))
def test_the_activation_estimate_counts_a_verification_pair(name):
    """A statement about two images: LXMERT and ViLT read the statement with each image
    (twice the passes), VisualBERT both images' regions in one sequence; per layer within
    1 % of what autograd saves, as for a question."""
    from test_verification import pair_batch

    from lxmert_lth.models.tasks import task_logits
    from lxmert_lth.models.verification import verification_model
    from lxmert_lth.workflow.sizes import training_activations

    family, n, text = families.get(name), 8, 7
    shape = {"hidden_size": 64, "num_attention_heads": 4, "intermediate_size": 256, "dropout": 0.1}
    depth = {"lxmert": ("l_layers", "r_layers")}.get(name, ("num_hidden_layers",))
    visual = {"vilt": 1 + (24 // 8) * (16 // 8)}.get(name, 4)
    passes, positions = family.passes(2, visual)
    measured, estimated = [], []
    for layers in (2, 4):
        source = small_model(name, **shape, **dict.fromkeys(depth, layers))
        model = verification_model(family, source).train()
        measured.append(_saved_bytes(lambda m=model: task_logits(m, pair_batch(n)), model))
        stacks = family.encoder_stacks(model.config, text, positions)
        estimated.append(training_activations(stacks, 64, 4, passes * n))
    per_layer = (measured[1] - measured[0]) / 2
    assert per_layer == pytest.approx((estimated[1] - estimated[0]) / 2, rel=0.01)
    assert measured[0] <= estimated[0] and measured[1] <= estimated[1]


def _saved_bytes(forward, model) -> int:
    """Bytes of the non-parameter tensors autograd keeps for one ``forward``."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    kept = {}

    def pack(t):
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            kept[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        forward()
    return sum(kept.values())
