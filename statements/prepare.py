"""What the LRS sets on a statement it accepts (1.0.3 Data 2.4.1, 2.4.7-2.4.10, 2.4.6.2;
2.0 4.2.4.2 "Specific Statement Data Requirements for an LRS", 4.2.4.3, 4.2.7 Timestamps).

- `id`: "The LRS MUST/shall create an "id" property if an accepted Statement does not have
  one". Generated ids are lowercased (UUIDs are case-insensitive and "Lowercase SHOULD be used
  to send case insensitive data"); a client's id is kept as sent.
- `timestamp`: set to `stored` when absent. For 2.0 a timestamp with a non-zero UTC offset is
  rewritten in UTC ("An LRS shall convert Timestamps to UTC rather than rejecting Statements
  that send Timestamps not in UTC form"), keeping every fractional digit; a SubStatement's
  timestamp too. 1.0.3 only recommends returning UTC, so 1.0.3 statements keep theirs.
- `stored`: always the LRS's ("shall overwrite any value currently in the "stored" property").
- `authority`: always the credential's. The spec lets an LRS keep a submitted authority only
  under "a strong trust relationship"; this LRS never trusts a client's authority.
- `version`: kept when sent (validation already checked it); when absent, "1.0.0" for 1.0.x
  (1.0.3 Data 2.4.10: "If they lack a version, the version MUST be set to 1.0.0") and "2.0.0"
  for 2.0 (4.2.4.3).
- `contextActivities`: every value becomes a list, in the statement and in a SubStatement.
  Both families say the LRS "MUST return every value in the contextActivities Object as an
  array, even if it arrived as a single Activity Object"; doing it once here makes the stored
  form the returned form, so GET never rewrites a statement. Comparison treats both forms as
  equal, so a re-sent original is still recognised as the same statement.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from statements.types import SpecVersion, Statement

DEFAULT_VERSION: dict[SpecVersion, str] = {"1.0.3": "1.0.0", "2.0.0": "2.0.0"}
_FRACTION = re.compile(r"[.,](\d+)")


def prepare_statement(
    statement: Statement,
    *,
    version: SpecVersion,
    authority: Mapping[str, Any],
    stored: str,
    new_id: Callable[[], str],
) -> Statement:
    """A new statement with the properties the LRS sets; the input is left untouched.

    Key order of the input is preserved and new keys are appended, so the stored JSON reads
    like the one received.
    """
    out = dict(statement)
    if "id" not in out:
        out["id"] = new_id().lower()
    timestamp = out.get("timestamp")
    if timestamp is None:
        out["timestamp"] = stored
    elif version == "2.0.0":
        out["timestamp"] = to_utc(timestamp)
    out["stored"] = stored
    out["authority"] = dict(authority)
    if "version" not in out:
        out["version"] = DEFAULT_VERSION[version]
    if isinstance(out.get("context"), dict):
        out["context"] = _with_activity_lists(out["context"])
    if isinstance(out.get("object"), dict) and out["object"].get("objectType") == "SubStatement":
        out["object"] = _prepare_sub_statement(out["object"], version)
    return out


def _prepare_sub_statement(sub: Mapping[str, Any], version: SpecVersion) -> Mapping[str, Any]:
    """A SubStatement gets the same timestamp and contextActivities treatment, nothing else."""
    timestamp = sub.get("timestamp")
    context = sub.get("context")
    new_timestamp = to_utc(timestamp) if version == "2.0.0" else timestamp
    new_context = _with_activity_lists(context) if isinstance(context, dict) else context
    if new_timestamp is timestamp and new_context is context:
        return sub
    out = dict(sub)
    if new_timestamp is not timestamp:
        out["timestamp"] = new_timestamp
    if new_context is not context:
        out["context"] = new_context
    return out


def _with_activity_lists(context: Mapping[str, Any]) -> Mapping[str, Any]:
    """The context with every contextActivities value as a list (shared when already so)."""
    activities = context.get("contextActivities")
    if not isinstance(activities, dict) or not any(
        isinstance(value, dict) for value in activities.values()
    ):
        return context
    listed = {k: [v] if isinstance(v, dict) else v for k, v in activities.items()}
    return {**context, "contextActivities": listed}


def to_utc(timestamp: Any) -> Any:
    """An ISO 8601 timestamp with a non-zero offset, rewritten in UTC with `Z`.

    Every fractional digit is kept (the offset is whole minutes, so only the seconds and
    above change). Timestamps already in UTC, without an offset (local time cannot be
    converted), or that do not parse are returned unchanged: validation has already run.
    """
    if not isinstance(timestamp, str) or timestamp[-1:] in ("Z", "z"):
        return timestamp
    try:
        parsed = datetime.fromisoformat(timestamp.upper())
        offset = parsed.utcoffset()
        if offset is None or offset == timedelta(0):
            return timestamp
        utc = (parsed - offset).replace(tzinfo=None, microsecond=0)
    except (ValueError, OverflowError):
        return timestamp
    fraction = _FRACTION.search(timestamp)
    digits = "." + fraction.group(1) if fraction else ""
    return f"{utc.isoformat()}{digits}Z"
