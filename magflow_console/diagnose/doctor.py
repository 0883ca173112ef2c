"""``doctor``: every finding of a status report, worst first, each with its next steps.

Beyond ``status`` it also looks at admin logins (``rules.admin_findings``: no usable
admin, a hash MagFlow cannot verify, ..., or admin users that could not be read, an
UNKNOWN), passed in as ``extra``; they count in the exit code. The headless command and the TUI's findings screen (``d``) show the same list. Sections
that could not be read at all are listed too (level ``UNKNOWN``), unless the finding that
explains them is already there (a database that is down also leaves the sync section
unread). Pure: no I/O, no Textual.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from magflow_console.diagnose import rules
from magflow_console.diagnose.remedies import CLI, next_steps
from magflow_console.models import Finding, StatusReport, Verdict

if TYPE_CHECKING:
    from magflow_console.config_sources import ExposedFile

LEVEL_ORDER = {"CRITICAL": 0, "UNKNOWN": 1, "WARNING": 2, "INFO": 3}

#: what to check when a whole section could not be read
UNREADABLE_STEPS: dict[str, tuple[str, ...]] = {
    "containers": (
        f"Check the Docker host of the profile (`{CLI} info`): this user needs the socket "
        "(docker group), or an ssh:// host with a key or agent.",
    ),
    "migrations": (
        "The scripts are read from the app container unless `alembic.scripts` (or "
        "`--scripts DIR`) points at a local checkout of MagFlow's alembic folder.",
    ),
    "database": (f"Is the db container up? `{CLI} containers`.",),
    "sync": (f"Is the db container up? `{CLI} containers`.",),
    "api": (f"Check `api.url` (`{CLI} info`) and the app container.",),
    "orders": (f"Is the db container up? `{CLI} containers`.",),
    "redis": (
        "Give the console Redis's URL: `redis.url` or `redis.url_env` in the profile, or "
        "`--redis-url`; by default it reads the worker container's CELERY_BROKER_URL, which "
        "needs the Docker engine and a port published by the redis container.",
    ),
    "celery": (f"Celery's state is read from Redis: see the Redis finding (`{CLI} celery`).",),
}


#: findings ``doctor`` adds that say a section could not be read: level UNKNOWN, and
#: they make the verdict UNKNOWN (not WARNING) unless something worse is found
UNREADABLE_CODES = frozenset({"admin_unreadable"})


def level_of(finding: Finding) -> str:
    return "UNKNOWN" if finding.code in UNREADABLE_CODES else finding.severity.upper()


@dataclass(frozen=True)
class Advice:
    level: str  # CRITICAL | UNKNOWN | WARNING | INFO
    finding: Finding
    steps: tuple[str, ...]


def advise(report: StatusReport, extra: Sequence[Finding] = ()) -> list[Advice]:
    findings = (*report.findings, *extra)
    out = [Advice(level_of(f), f, next_steps(f, report)) for f in findings]
    explained = {f.message for f in report.findings}
    for name in (
        "containers",
        "database",
        "migrations",
        "sync",
        "orders",
        "api",
        "redis",
        "celery",
    ):
        section = getattr(report, name)
        if section.state != "error" or not section.error or section.error in explained:
            continue
        if name == "api" and report.api.base_url is None:
            continue  # no API configured: nothing to check
        unread = Finding(f"{name}_unreadable", "warning", section.error, subject=name)
        out.append(Advice("UNKNOWN", unread, UNREADABLE_STEPS[name]))
        explained.add(section.error)
    return _grouped(sorted(out, key=lambda a: LEVEL_ORDER.get(a.level, 9)))


def _grouped(advice: list[Advice]) -> list[Advice]:
    """Within a level, what is about the same subject stays together: a container's crash
    loop, then the log line that says why, before the next container."""
    first: dict[tuple[str, str], int] = {}
    for i, a in enumerate(advice):
        if a.finding.subject:
            first.setdefault((a.level, a.finding.subject), i)
    keyed = [
        (LEVEL_ORDER.get(a.level, 9), first.get((a.level, a.finding.subject or ""), i), i, a)
        for i, a in enumerate(advice)
    ]
    return [a for *_, a in sorted(keyed, key=lambda k: k[:3])]


#: a log finding that only repeats what a status finding already says (same account)
_EXPLAINED_BY = {"log_missing_credentials": "emag_credentials_missing"}


def extra_findings(
    report: StatusReport, admins: Sequence[Finding], logs: Sequence[Finding]
) -> list[Finding]:
    """What ``doctor`` adds to the status report: admin logins and the containers' logs,
    without the log findings a status finding already explains (the missing-credentials
    line of an account whose credentials the environment shows unset), nor admin users
    left unread by a database that is down (its own finding says so)."""
    have = {(f.code, f.account) for f in report.findings}
    kept = [f for f in logs if (_EXPLAINED_BY.get(f.code), f.account) not in have]
    db_down = report.database.state == "error"
    admins = [f for f in admins if not (db_down and f.code == "admin_unreadable")]
    return [*admins, *kept]


def secret_file_findings(exposed: Sequence[ExposedFile]) -> list[Finding]:
    """A config file naming a secret, or a secret file, that other users can read
    (``config_sources.exposed_secret_files``): a warning each, with the ``chmod``."""
    return [
        Finding(
            "secret_file_readable",
            "warning",
            e.problem() + ".",
            subject=str(e.path),
            short=f"{e.path.name}: {e.who()}",
        )
        for e in exposed
    ]


def to_act_on(advice: Sequence[Advice]) -> int:
    """How many findings call for action (all but INFO): the header's count and the
    findings screen's."""
    return sum(1 for a in advice if a.level != "INFO")


def doctor_verdict(report: StatusReport, extra: Sequence[Finding] = ()) -> Verdict:
    """The status verdict, made worse by the extra findings when they are worse (an
    unreadable section among them makes it UNKNOWN at least)."""
    known = [f for f in extra if f.code not in UNREADABLE_CODES]
    unread = ["error" for f in extra if f.code in UNREADABLE_CODES]
    return Verdict.worst(report.verdict, rules.verdict(known, unread))


#: ``doctor --json`` listed its findings under "advice" before it used the same key as
#: ``status --json``; the old key is kept, with the same list, for one release (0.2)
DEPRECATED_ADVICE_KEY = "advice"


def advice_json(report: StatusReport, extra: Sequence[Finding] = ()) -> dict[str, object]:
    """``doctor --json``: the findings under ``findings`` (the key ``status --json`` uses),
    each with its level and next steps; also under ``advice`` until 0.2."""
    verdict = doctor_verdict(report, extra)
    findings = [
        {
            "level": a.level,
            "code": a.finding.code,
            "severity": a.finding.severity,
            "message": a.finding.message,
            "short": a.finding.short,
            "subject": a.finding.subject,
            "account": a.finding.account,
            "revisions": list(a.finding.revisions),
            "evidence": a.finding.evidence,
            "next": list(a.steps),
        }
        for a in advise(report, extra)
    ]
    return {
        "profile": report.profile,
        "verdict": verdict.label,
        "exit_code": int(verdict),
        "generated_at": report.generated_at.isoformat(),
        "findings": findings,
        DEPRECATED_ADVICE_KEY: findings,
    }
