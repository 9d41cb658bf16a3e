"""Separation of duties (Art. 25, MLPS 三权分立): which roles one account may not hold together.

The administrator manages accounts and the auditor reads the trail of everything, the
administrator's operations included; an account holding both, or either of them together with a
case role, could act and then read or hide its own traces. So `admin` and `auditor` are each held
alone; `dispatcher`, `handler` and `reviewer` combine freely (a reviewer never reviews their own
draft: interact.services.access checks that).
"""
from __future__ import annotations

from collections.abc import Iterable

from .states import Role

# Each role that must be held alone, with every role it may not be combined with.
EXCLUSIVE: dict[Role, frozenset[Role]] = {
    Role.admin: frozenset({Role.auditor, Role.dispatcher, Role.handler, Role.reviewer}),
    Role.auditor: frozenset({Role.admin, Role.dispatcher, Role.handler, Role.reviewer}),
}


def role_conflicts(roles: Iterable[Role | str]) -> list[tuple[Role, Role]]:
    """Every forbidden pair in `roles`, each once, in the order Role declares them."""
    held = {Role(r) for r in roles}
    order = list(Role)
    pairs = {tuple(sorted((role, other), key=order.index))
             for role, others in EXCLUSIVE.items() if role in held for other in others & held}
    return sorted(pairs, key=lambda pair: (order.index(pair[0]), order.index(pair[1])))
