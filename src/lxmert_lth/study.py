"""The study's plan: which IMP levels, masks and networks a configuration asks for.

Pure functions of the configuration, used by the Snakefile (targets, input functions,
validation) and by the tests.
"""

from __future__ import annotations

from collections.abc import Mapping

KINDS = ("low", "high", "random")


class ConfigError(ValueError):
    """A configuration value the schema cannot catch; the message names the key."""


def low_levels_needed(study: Mapping, pruning: Mapping) -> list[int]:
    """Sparsities of the IMP chain: every step up to the highest level any mask needs.

    low at s needs level s; high at s is the complement of level 100 - s; a per-layer
    random mask at s copies level s's per-tensor counts.
    """
    need = set()
    for s in study["sparsities"]:
        if "low" in study["kinds"]:
            need.add(s)
        if "high" in study["kinds"]:
            need.add(100 - s)
        if "random" in study["kinds"] and pruning["random"] == "per_layer":
            need.add(s)
    step = pruning["step"]
    return list(range(step, max(need) + 1, step)) if need else []


def previous_level(sparsity: int, step: int) -> int:
    """The IMP level a level's mask is computed from (0 = the dense network)."""
    return sparsity - step


def validate_study(config: Mapping) -> None:
    """Checks beyond the JSON schema; raises ``ConfigError`` naming the offending key."""
    study, pruning = config["study"], config["pruning"]
    step = pruning["step"]
    for s in study["sparsities"]:
        if s % step:
            raise ConfigError(
                f"study.sparsities: {s} is off the pruning schedule "
                f"(pruning.step = {step}: levels {step}, {2 * step}, ...)"
            )
        if "high" in study["kinds"] and (100 - s) % step:
            raise ConfigError(
                f"study.sparsities: the high-magnitude mask at {s}% is the complement of the "
                f"IMP level at {100 - s}%, which is off the schedule of pruning.step = {step}"
            )
    if study["table_sparsity"] not in study["sparsities"]:
        raise ConfigError(
            f"study.table_sparsity: {study['table_sparsity']} is not one of study.sparsities "
            f"{study['sparsities']}"
        )


def subnetworks(study: Mapping) -> list[tuple[str, int]]:
    return [(k, s) for k in study["kinds"] for s in sorted(study["sparsities"])]
