"""Moved to ``service_layer/ports.py`` (issue 13: ports live in the service layer).

Kept only for ``projections/directory.py``, which the agent-directory unification rewrites;
delete this module once nothing imports it.
"""

from ..service_layer.ports import EnterpriseInfo

__all__ = ["EnterpriseInfo"]
