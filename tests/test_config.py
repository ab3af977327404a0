"""The configuration: the schema's defaults, the checks beyond it, and network identity."""

import pytest
import yaml
from snakemake.utils import validate

from conftest import ROOT, load_config
from lxmert_lth.network import Network
from lxmert_lth.study import ConfigError, check_config, networks

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
    with pytest.raises(ValueError, match="no subnetwork 'medium'"):
        Network(0, "medium", 50)
    with pytest.raises(ValueError, match="dense network has no sparsity"):
        Network(0, "dense", 50)
