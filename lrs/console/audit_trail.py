"""The audit entry of a console action: the operator's credential, the browser's address."""

from __future__ import annotations

from collections.abc import Mapping

from lrs.console.guard import Visit


async def audit(
    visit: Visit, action: str, target: str, details: Mapping[str, object] | None = None
) -> None:
    await visit.services.audit.record(
        actor=visit.credential.key,
        action=action,
        target=target,
        source=visit.source,
        details=dict(details) if details is not None else None,
    )
