"""The modules a gradscript program can import: `torch`, `torch.autograd`, `torch.nn.functional`, `numpy`.

Each is a `ScriptModule`: a name and an explicit table of members. Nothing else of Python is reachable
through them (no `torch.os`, no `np.ctypeslib`): the interpreter looks attributes up only in `members`.
"""

from __future__ import annotations


class ScriptModule:
    """A module as a script sees it: an allow-list of members and nothing more."""

    __slots__ = ("name", "members")

    def __init__(self, name: str, members: dict):
        self.name = name
        self.members = members

    def __repr__(self):
        return f"<module '{self.name}'>"


def build_modules() -> dict[str, ScriptModule]:
    """name -> module, for every module a script may import (filled in by the engine work)."""
    return {}
