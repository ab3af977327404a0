"""The configuration: the schema's defaults, the checks beyond it, and network identity."""

import re

import pytest
import yaml
from snakemake.utils import validate

from conftest import ROOT, load_config
from lxmert_lth.core.errors import ConfigError
from lxmert_lth.core.grid import networks
from lxmert_lth.core.network import Network
from lxmert_lth.pruning import kinds
from lxmert_lth.workflow.checks import check_config

SCHEMA = ROOT / "schemas" / "config.schema.yaml"


def validated(config: dict) -> dict:
    validate(config, str(SCHEMA))
    return config


def test_schema_fills_nested_defaults():
    config = load_config()
    for section in ("execution", "theta0"):
        config.pop(section, None)
    del config["finetune"]["eval_batch_size"]
    validated(config)
    assert config["execution"]["runtime"] == {
        "startup_min": 5,
        "finetune_s_per_mb": 10,
        "pretrain_s_per_mb": 30,
    }
    assert config["execution"]["checkpoint_minutes"] == 10
    assert config["theta0"]["answer_head"] == "random"
    assert config["finetune"]["eval_batch_size"] == 512
    # Pre-training keys belong to pre-training only.
    assert "mlm_probability" not in config["finetune"]
    assert config["pretrain"]["mlm_probability"] == 0.15


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("study", "sparsities", [25, 50.0], "study.sparsities[1]: 50.0 is not an integer"),
        ("pruning", "step", 25.0, "pruning.step: 25.0 is not an integer"),
        ("model", "num_attention_heads", 3, "model.hidden_size: 32 is not a multiple"),
        (
            "pruning",
            "prunable_modules",
            "^lxmert\\.(encoder",
            "pruning.prunable_modules: '.*' is not a regular expression .missing \\)",
        ),
    ],
)
def test_check_config_names_the_key(section, key, value, message):
    config = validated(load_config())
    config[section][key] = value
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        check_config(config, yaml.safe_load(SCHEMA.read_text()))


def test_a_late_rewind_step_beyond_the_fine_tune_is_refused_before_any_job():
    config = validated(load_config())
    config["study"]["kinds"] = [*config["study"]["kinds"], "late"]
    config["study"]["late_rewind_step"] = 24  # 1500 // 64 = 23 steps in one epoch
    with pytest.raises(ConfigError, match="late_rewind_step: 24 is beyond .*at most 23"):
        check_config(config, yaml.safe_load(SCHEMA.read_text()))
    config["study"]["late_rewind_step"] = 23
    check_config(config, yaml.safe_load(SCHEMA.read_text()))


def test_network_folder_round_trip():
    study = {"seeds": [0, 3], "sparsities": [10, 90], "kinds": ["low", "high", "random"]}
    found = networks(study)
    assert len(found) == 2 * (1 + 3 * 2)
    assert [n.folder for n in found[:3]] == ["seed0/dense", "seed0/low10", "seed0/low90"]
    for network in found:
        assert Network.from_folder(network.folder) == network
    # The identity knows a kind by its form; which kinds exist, the registry says.
    with pytest.raises(ValueError, match="no subnetwork 'Low-1'"):
        Network(0, "Low-1", 50)
    with pytest.raises(ValueError, match="no subnetwork 'low' at sparsity 100"):
        Network(0, "low", 100)
    with pytest.raises(KeyError, match="'medium' is not a kind of subnetwork"):
        kinds.get("medium")
    with pytest.raises(ValueError, match="dense network has no sparsity"):
        Network(0, "dense", 50)


# --- the configuration reference (docs/configuration.md), generated from the schema ----


def test_every_configuration_key_has_a_description():
    from lxmert_lth.workflow import config_reference

    schema = config_reference.load_schema(SCHEMA)
    assert config_reference.missing_descriptions(schema) == []
    # The check sees a key that lost its description, however deep.
    del schema["properties"]["execution"]["properties"]["runtime"]["properties"]["startup_min"][
        "description"
    ]
    del schema["$defs"]["recipe"]["properties"]["lr"]["description"]
    assert config_reference.missing_descriptions(schema) == [
        "pretrain.lr",
        "finetune.lr",
        "execution.runtime.startup_min",
    ]


def test_the_configuration_reference_is_the_schema_rendered():
    from lxmert_lth.workflow import config_reference

    page = config_reference.render(config_reference.load_schema(SCHEMA))
    assert (ROOT / "docs" / "configuration.md").read_text() == page, (
        "docs/configuration.md is stale: python -m lxmert_lth.workflow.config_reference "
        "--write docs/configuration.md"
    )

    # Every key of the embedded default and of the paper configuration is on the page.
    def keys(node, prefix=""):
        for key, value in node.items():
            yield prefix + key
            if isinstance(value, dict) and key != "compare_runs":
                yield from keys(value, prefix + key + ".")

    for path in (ROOT / "config.yaml", ROOT / "configs" / "paper.yaml"):
        for key in keys(yaml.safe_load(path.read_text())):
            assert f"`{key}`" in page or f"## {key}" in page, (path.name, key)


def test_the_reference_says_when_a_key_is_required_and_what_it_takes():
    from lxmert_lth.workflow import config_reference

    page = config_reference.render(config_reference.load_schema(SCHEMA))
    row = {line.split("|")[1].strip(): line for line in page.splitlines() if line.startswith("| `")}
    easy = "dataset.name one of `easy_vqa`, `easy_vqa_statements`"
    assert f"required when {easy}" in row["`tokenizer.vocab_size`"]
    # Nested conditions say every condition they are under.
    assert (
        "required when dataset.name neither `easy_vqa` nor `easy_vqa_statements` and "
        "model.family not `vilt`" in row["`features.tsv`"]
    )
    # A nested branch narrows the values a key may take: "not easy_vqa, then vqacp_v2".
    assert f"| required when {easy} or dataset.name `vqacp_v2` |" in (row["`dataset.val_fraction`"])
    assert "| required when dataset.name `vqa_v2` |" in row["`dataset.format`"]
    assert (
        "required when dataset.name `vqa_v2` and dataset.format `lxmert`" in row["`dataset.lxmert`"]
    )
    assert (
        f"required when {easy} and model.family `visualbert` or {easy} and model.family `vilt`"
        in row["`model.num_hidden_layers`"]
    )
    assert "integer ≥ 1, ≤ 50" in row["`pruning.step`"] and "| required |" in row["`pruning.step`"]
    assert "| `0.1` |" in row["`model.dropout`"]
    assert "integer ≥ 1, or null (all)" in row["`dataset.max_questions.train`"]
    # A regular expression's bars do not split the table's cells.
    assert len(re.split(r"(?<!\\)\|", row["`execution.device`"])) == 6  # 4 cells


def test_the_reference_cli_checks_a_stale_page(tmp_path):
    from lxmert_lth.workflow import config_reference

    page = tmp_path / "configuration.md"
    assert config_reference.main(["--write", str(page)]) == 0
    assert config_reference.main(["--check", str(page)]) == 0
    page.write_text(page.read_text() + "edited by hand\n")
    assert config_reference.main(["--check", str(page)]) == 1
