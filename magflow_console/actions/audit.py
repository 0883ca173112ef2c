"""Append-only audit log: one JSON line per action attempt.

Who (OS user and host), when (UTC), profile, action, parameters (never secrets),
outcome (ok | failed | refused | cancelled | error) and a one-line detail. Lines are
written with a single ``write`` on a file opened in append mode, so concurrent
consoles do not interleave within a line.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from magflow_console.models import utcnow
from magflow_console.render.text import MASK

#: parameter names whose values are never written, whatever the caller passes
SECRET_KEYS = ("password", "token", "secret", "hash", "authorization")
OUTCOMES = ("ok", "failed", "refused", "cancelled", "error")


def _who() -> str:
    try:
        user = getpass.getuser()
    except Exception:
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def scrub_params(params: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if any(s in key.lower() for s in SECRET_KEYS):
            out[key] = MASK
        elif isinstance(value, Mapping):
            out[key] = scrub_params(value)
        elif isinstance(value, str | int | float | bool) or value is None:
            out[key] = value
        else:
            out[key] = str(value)
    return out


@dataclass(frozen=True)
class AuditLog:
    path: Path

    def record(
        self,
        *,
        profile: str,
        action: str,
        params: Mapping[str, Any],
        outcome: str,
        detail: str = "",
    ) -> dict[str, Any]:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        entry = {
            "at": utcnow().isoformat(),
            "who": _who(),
            "profile": profile,
            "action": action,
            "params": scrub_params(params),
            "outcome": outcome,
            "detail": detail,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry, default=str) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
        return entry

    def read(self, limit: int = 200) -> list[dict[str, Any]]:
        """The newest ``limit`` entries, newest last; unreadable lines are skipped."""
        return self.scan(limit).entries

    def scan(self, limit: int = 200) -> AuditScan:
        """The newest ``limit`` entries, newest last, and how many of the lines read for
        them were skipped: not UTF-8 (a byte written by something else), not JSON, not
        an object. A file that cannot be read at all is an ``error``, never an exception."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return AuditScan([], 0)
        except OSError as exc:
            return AuditScan([], 0, f"{self.path}: cannot be read: {exc.strerror or exc}")
        out: list[dict[str, Any]] = []
        skipped = 0
        for line in reversed(raw.splitlines()):
            if len(out) >= limit:
                break
            if not line.strip():
                continue
            try:
                entry = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                entry = None
            if isinstance(entry, dict):
                out.append(entry)
            else:
                skipped += 1
        out.reverse()
        return AuditScan(out, skipped)


@dataclass(frozen=True)
class AuditScan:
    """What ``AuditLog.scan`` read: the entries (newest last), the lines it skipped, and
    why the file could not be read at all (``None``: it could, or it does not exist)."""

    entries: list[dict[str, Any]]
    skipped: int
    error: str | None = None
