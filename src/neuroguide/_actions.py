"""The one rule for which recommendations ask for the same clinical action.

The text report (:mod:`neuroguide.report`) and the CDS Hooks cards (:mod:`neuroguide.service`) both group by
:func:`action_groups`, so an item of the report and a card always stand for the same rules. Two recommendations
share an action when their rules are listed together in ``_data/actions.toml``, or else when their action texts are
the same (ignoring case and spacing). The evaluation record keeps each rule; grouping is presentation only.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping

import attrs

from . import _diskcache, _dist
from .exceptions import InputError
from .results import Assessment, Recommendation, Section

__all__ = ["ActionGroup", "SameAction", "action_groups", "action_key", "same_action"]


@attrs.frozen(kw_only=True)
class SameAction:
    """Rules whose different action texts ask for one clinical action, and why they are one."""

    key: str
    label: str
    rules: tuple[str, ...]
    why: str


@attrs.frozen(kw_only=True)
class ActionGroup:
    """Recommendations asking for one action: the lead (first in report order) and the others it absorbs."""

    key: str
    items: tuple[Recommendation, ...]

    @property
    def lead(self) -> Recommendation:
        return self.items[0]

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(r.rule for r in self.items)


@functools.cache
def same_action() -> Mapping[str, SameAction]:
    """The listed groups by rule id, read once from ``_data/actions.toml``.

    Raises:
        InputError: a group lacks a field, or a rule is listed in two groups.

    """
    data = (_dist.package_files() / "_data" / "actions.toml").read_bytes()
    return _diskcache.through(
        "actions",
        [("actions.toml", hashlib.sha256(data).hexdigest())],
        {(SameAction.__module__, SameAction.__qualname__): SameAction},
        lambda: _read(data),
        lambda found: isinstance(found, dict) and all(isinstance(v, SameAction) for v in found.values()),
    )


def _read(data: bytes) -> dict[str, SameAction]:
    import tomllib  # here: read from the knowledge-base cache, the table needs no TOML parser

    by_rule: dict[str, SameAction] = {}
    for i, raw in enumerate(tomllib.loads(data.decode("utf-8")).get("actions", [])):
        try:
            group = SameAction(
                key=str(raw["key"]), label=str(raw["label"]), rules=tuple(raw["rules"]), why=str(raw["why"])
            )
        except KeyError as exc:
            raise InputError(f"actions[{i}].{exc.args[0]}", None, "key, label, rules and why") from None
        for rule in group.rules:
            if rule in by_rule:
                raise InputError(f"actions[{i}].rules", rule, f"a rule in one group only (also in {by_rule[rule].key})")
            by_rule[rule] = group
    return by_rule


def action_key(rec: Recommendation) -> str:
    """The action a recommendation asks for: its listed group, else its action text (case and spacing ignored)."""
    group = same_action().get(rec.rule)
    if group is not None:
        return f"group:{group.key}"
    return "text:" + " ".join(rec.action.lower().split())


def action_groups(result: Assessment) -> tuple[ActionGroup, ...]:
    """The recommendations grouped by action, in report order (sections in order, then the order within each).

    The lead of a group is its first recommendation in that order, so a group shows under the most pressing section
    it appears in.
    """
    groups: dict[str, list[Recommendation]] = {}
    for section in Section:
        for rec in result.section(section):
            groups.setdefault(action_key(rec), []).append(rec)
    return tuple(ActionGroup(key=key, items=tuple(items)) for key, items in groups.items())
