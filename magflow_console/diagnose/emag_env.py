"""Findings from the eMAG settings of the app and worker containers: credentials a path
lacks (the product sync's, said with what the other paths find), a health check that
uses other credentials or another host than the syncs, syncs that go to different hosts
or to the sandbox (``emag_paths`` says what each path reads). Pure.
"""

from __future__ import annotations

from collections.abc import Iterable

from magflow_console.diagnose.emag_paths import (
    ACCOUNTS,
    PATHS,
    UNKNOWN,
    AccountEnv,
    PathEnv,
    accounts,
    by_source,
    is_are,
    joined_names,
)
from magflow_console.models import ContainersSnapshot, Finding

#: the last snapshot judged and its findings. The TUI rebuilds its report whenever a
#: refresh loop has read (five times a refresh), with the same containers snapshot until
#: the containers are read again; judging it anew was the most of an idle refresh's
#: report work on the UI thread (bench/). Snapshots are frozen, so the same object gives
#: the same findings.
_last: tuple[ContainersSnapshot | None, tuple[Finding, ...]] = (None, ())


def env_findings(snap: ContainersSnapshot) -> list[Finding]:
    """Findings from the settings of the app and worker containers."""
    global _last
    seen, found = _last
    if snap is seen:
        return list(found)
    out = _env_findings(snap)
    _last = (snap, tuple(out))
    return out


def _env_findings(snap: ContainersSnapshot) -> list[Finding]:
    if snap.state == "error":
        return []
    out: list[Finding] = []
    rows = accounts(snap)
    for account in ACCOUNTS:
        mine = [r for r in rows if r.account == account]
        lacking = [r for r in mine if r.missing]
        if lacking:
            out.append(_credentials_missing(account, lacking))
            continue
        out += _health_credentials_differ(account, mine)
        out += _targets(account, mine)
    return out


def _other_paths(r: AccountEnv) -> str | None:
    """What the paths other than the product sync find, in one container."""
    others = [p for p in r.paths if p.path != "products"]
    doing = " and ".join(PATHS[p.path] for p in others)
    if all(p.state == "set" for p in others):
        dotenv = sorted({n for p in others for n in p.from_dotenv()})
        source = f" ({', '.join(dotenv)} from /app/.env)" if dotenv else ""
        return f"in {r.container} {doing} find credentials{source}, so they may work"
    if any(p.state == UNKNOWN for p in others):
        return f"in {r.container} whether {doing} find them is not known ({r.unread()})"
    return None


def _credentials_missing(account: str, lacking: list[AccountEnv]) -> Finding:
    missing = sorted({n for r in lacking for n in r.missing})
    legacy = sorted({n for r in lacking for n in r.legacy_set})
    note = (
        f" ({', '.join(legacy)} {is_are(legacy)} set, but the product sync reads only the "
        f"EMAG_{account.upper()}_ names)"
        if legacy
        else ""
    )
    message = (
        f"{joined_names(r.container for r in lacking)}: {', '.join(missing)} not set{note}; "
        f"{account} product syncs complete with 0 items ('Missing credentials for {account} "
        "account, skipping')."
    )
    in_dotenv = sorted({n for r in lacking for n in r.orders.from_dotenv() if n in r.missing})
    if in_dotenv:
        message += (
            f" {', '.join(in_dotenv)} {is_are(in_dotenv)} set in /app/.env only, which the "
            "product sync does not read: it reads the process environment (os.getenv), and "
            "pydantic settings do not put /app/.env there."
        )
    others = [x for x in (_other_paths(r) for r in lacking) if x]
    if others:
        sentence = "; ".join(others)
        message += f" Other paths: {sentence}."
    return Finding(
        "emag_credentials_missing",
        "critical",
        message,
        account=account,
        subject=lacking[0].container,
        short="eMAG credentials not set",
    )


def _health_credentials_differ(account: str, mine: list[AccountEnv]) -> list[Finding]:
    for r in mine:
        health = r.path("health")
        if health is None or health.state != "set" or health.names == r.products.names:
            continue
        used = by_source(health.credentials)
        return [
            Finding(
                "emag_health_credentials_differ",
                "info",
                f"{r.container}: /api/v1/emag/health checks {account} with {used}, not "
                f"{' / '.join(r.products.names)} that product and order syncs use: a passing "
                "health check says nothing of the credentials the syncs send.",
                account=account,
                subject=r.container,
                short="health checks other credentials than the syncs",
            )
        ]
    return []


def _known(paths: Iterable[PathEnv]) -> list[PathEnv]:
    return [p for p in paths if p.target != UNKNOWN]


def _targets(account: str, mine: list[AccountEnv]) -> list[Finding]:
    """Where each path goes: the syncs apart (a warning: products and orders of one account
    on two hosts), the health endpoint apart from the syncs (it proves nothing of their
    host), or all in the sandbox."""

    def syncs(r: AccountEnv) -> list[PathEnv]:
        return _known((r.products, r.orders))

    split = [r for r in mine if len({p.target for p in syncs(r)}) > 1]
    if split:
        r = split[0]
        where = ", ".join(f"{PATHS[p.path]} to {p.target} ({p.because})" for p in _known(r.paths))
        short = f"products {r.products_target}, orders {r.orders_target}"
        if r.health_target not in (None, UNKNOWN, r.orders_target):
            short += f", health {r.health_target}"
        return [
            Finding(
                "emag_target_split",
                "warning",
                f"{account}: product and order syncs go to different eMAG hosts in "
                f"{joined_names(x.container for x in split)}: {where}.",
                account=account,
                subject=r.container,
                short=short,
            )
        ]
    out: list[Finding] = []
    for r in mine:
        health, targets = r.path("health"), {p.target for p in syncs(r)}
        if health is None or health.target == UNKNOWN or not targets or health.target in targets:
            continue
        (target,) = targets
        out.append(
            Finding(
                "emag_health_target_differs",
                "info",
                f"{r.container}: /api/v1/emag/health checks {account} on {health.target} "
                f"({health.because}) while its product and order syncs go to {target} "
                f"({syncs(r)[0].because}): a passing health check says nothing of the host "
                "the syncs use.",
                account=account,
                subject=r.container,
                short=f"health checks {health.target}, syncs go to {target}",
            )
        )
        break
    sandboxed = [(r, p) for r in mine for p in syncs(r) if p.target == "sandbox"]
    if sandboxed:
        r, p = sandboxed[0]
        out.append(
            Finding(
                "emag_sandbox",
                "info",
                f"{account} syncs the eMAG sandbox ({p.because}), not the marketplace.",
                account=account,
                subject=r.container,
                short="syncs the eMAG sandbox",
            )
        )
    return out
