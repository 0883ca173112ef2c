"""The JSON face of the headless commands: one document on stdout.

Kept apart from ``output`` (rich tables) so that ``--json`` never imports rich: a cold
``status --json`` is start-up bound (bench/bench_status.py).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from magflow_console.models import StatusReport, Verdict, to_jsonable, utcnow


def dumps(doc: Any) -> str:
    """Strict JSON (``allow_nan=False``): a NaN or ±Infinity that was not made ``null`` by
    ``to_jsonable`` (an audit entry, say) is made so now, never printed bare; so is a
    value nested too deep to print."""
    try:
        return json.dumps(doc, indent=2, sort_keys=False, default=str, allow_nan=False)
    except (ValueError, RecursionError):
        strict = to_jsonable(doc)
        return json.dumps(strict, indent=2, sort_keys=False, default=str, allow_nan=False)


def print_json(doc: Any) -> None:
    sys.stdout.write(dumps(doc) + "\n")
    sys.stdout.flush()


def status_json(report: StatusReport) -> dict[str, Any]:
    doc: dict[str, Any] = to_jsonable(report)
    doc["verdict"] = report.verdict.label
    doc["exit_code"] = int(report.verdict)
    return doc


def section_json(snapshot: Any, *, verdict: Verdict) -> dict[str, Any]:
    doc: dict[str, Any] = to_jsonable(snapshot)
    doc["verdict"] = verdict.label
    doc["generated_at"] = utcnow().isoformat()
    return doc
