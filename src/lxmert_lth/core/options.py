"""The configuration's ``pruning`` section as one typed value (``PruningOptions``).

Its defaults are the schema's (``schemas/config.schema.yaml``, the one place they are
written): a key left out of a section gets the schema's value, a key the schema does not
know is an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from lxmert_lth.core.schema import defaults


@dataclass(frozen=True)
class PruningOptions:
    """``pruning`` of the configuration (docs/configuration.md, "pruning")."""

    step: int
    ranking: str
    random: str
    prunable_modules: str | None
    schedule: str
    high: str
    enforce_masks: bool
    prunable_set: str
    scope: str
    granularity: str
    structure_ranking: str
    n_of_m: tuple[int, int]  # (N, M)

    @classmethod
    def of(cls, section: Mapping | PruningOptions, partial: bool = False) -> PruningOptions:
        """From a configuration's ``pruning`` section; keys left out get the schema's
        defaults; a key the schema does not know, or a required one missing, is an error.
        ``partial``: a mask job's params, which hold what its kind depends on (a key at
        its default left out): a required key missing is None, so that a kind that reads
        an option its params lack fails, never computes with a value it was not given."""
        if isinstance(section, cls):
            return section
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(section) - names)
        if unknown:
            raise KeyError(f"pruning.{unknown[0]}: not a pruning option")
        values = {**defaults("pruning"), **section}
        missing = sorted(names - set(values))
        if partial:
            values.update(dict.fromkeys(missing))
        elif missing:
            raise KeyError(f"pruning.{missing[0]}: required")
        group = values["n_of_m"]
        if isinstance(group, Mapping):  # the configuration's {n, m}
            group = {**defaults("pruning", "n_of_m"), **group}
            group = (group["n"], group["m"])
        return cls(**{n: values[n] for n in names} | {"n_of_m": tuple(group)})

    @property
    def n_of_m_sparsity(self) -> float:
        """The one sparsity of N:M masks: 100 x (1 - N / M)."""
        n, m = self.n_of_m
        return 100 * (m - n) / m
