"""Everything a container's recent log says is wrong: its entrypoint's last start
(``entrypoint``) and the known error texts in it (``known_errors``). Lines come from the
Docker source already masked; every excerpt is cleaned and cut (``render.text.excerpt``).
"""

from __future__ import annotations

from collections.abc import Sequence

from magflow_console.diagnose.entrypoint import ENTRYPOINT_SERVICES, entrypoint_findings
from magflow_console.diagnose.known_errors import known_error_findings
from magflow_console.models import Finding, LogLine


def log_findings(
    name: str, service: str | None, lines: Sequence[LogLine], *, down: bool = False
) -> list[Finding]:
    """Everything ``lines`` (the recent log of container ``name``) says is wrong; ``down``
    as for ``known_error_findings``."""
    out: list[Finding] = []
    if service in ENTRYPOINT_SERVICES or service is None:
        out += entrypoint_findings(name, lines)
    out += known_error_findings(name, lines, down=down)
    return out
