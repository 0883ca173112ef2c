"""The app's own settings behind silent surprises (sheet §5, §9, §11.5): the dev admin
whose password the API resets at every start (a restart, or any change in the checkout
under uvicorn --reload), and the login cache's Redis client (REDIS_HOST/REDIS_PASSWORD)
that is silently off. Pure: reads ``ContainerInfo``'s settings facts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from magflow_console.diagnose.emag_paths import UNKNOWN, UNSET, Settings, sync_containers
from magflow_console.models import ContainerInfo, ContainersSnapshot, Finding

DEV_ADMIN_EMAIL = "admin@magflow.local"
#: what starts the API again (sheet §11.5): the app runs uvicorn --reload over the checkout
#: bind-mounted at /app, so not only a restart
API_STARTS = (
    "a restart of the container, and also any change in the checkout bind-mounted at /app "
    "(uvicorn --reload restarts the API, e.g. after a git pull)"
)
#: what pydantic reads as false for a bool setting
_FALSE = ("0", "off", "f", "false", "n", "no")
#: REDIS_HOST values that are not the stack's redis service from inside a container
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class DevAdmin:
    """Whom the app re-provisions at every start of the API (sheet §5), and why."""

    email: str | None  # None: AUTO_PROVISION_DEV_ADMIN is false
    because: str  # where AUTO_PROVISION_DEV_ADMIN and DEFAULT_ADMIN_EMAIL come from
    unsure: str | None = None  # what could change it and was not read


def dev_admin(app: ContainerInfo) -> DevAdmin:
    s = Settings(app)
    flag, email = s.get("AUTO_PROVISION_DEV_ADMIN"), s.get("DEFAULT_ADMIN_EMAIL")
    if flag.is_set and (flag.value or "").strip().lower() in _FALSE:
        return DevAdmin(None, flag.where())
    because = [flag.where() if flag.is_set else "AUTO_PROVISION_DEV_ADMIN not set: on"]
    address = DEV_ADMIN_EMAIL
    if email.is_set and (email.value or "").strip():
        address = (email.value or "").strip().lower()
        because.append(email.where())
    unknown = [x.name for x in (flag, email) if x.source == UNKNOWN]
    unsure = f"{s.dotenv_unread()}, and it may set {' or '.join(unknown)}" if unknown else None
    return DevAdmin(address, "; ".join(because), unsure)


def reprovisioned_admin(app: ContainerInfo) -> str | None:
    """The email whose password the app resets at every start of the API
    (DEFAULT_ADMIN_EMAIL, else admin@magflow.local), or None when AUTO_PROVISION_DEV_ADMIN
    is false (sheet §5); from the environment, then /app/.env."""
    return dev_admin(app).email


def app_findings(snap: ContainersSnapshot) -> list[Finding]:
    """Findings from the app container's settings (the dev admin, the login cache)."""
    if snap.state == "error":
        return []
    return _app_settings(sync_containers(snap))


def _app_settings(containers: Sequence[ContainerInfo]) -> list[Finding]:
    out: list[Finding] = []
    app = next((c for c in containers if c.service == "app"), None)
    if app is None:
        return out
    s = Settings(app)
    if app.dotenv_state == "unreadable":
        out.append(
            Finding(
                "dotenv_unreadable",
                "info",
                f"{app.name}: {s.dotenv_unread()}: what it sets is not known, so nothing is "
                "concluded about the settings it may hold (eMAG credentials of the order sync "
                "and the health endpoint, EMAG_ENVIRONMENT, REDIS_HOST, REDIS_PASSWORD, "
                "AUTO_PROVISION_DEV_ADMIN, DEFAULT_ADMIN_EMAIL).",
                subject=app.name,
                short="/app/.env not read",
            )
        )
    out += _redis_cache(app, s)
    admin = dev_admin(app)
    if admin.email is not None:
        unsure = f" ({admin.unsure}.)" if admin.unsure else ""
        out.append(
            Finding(
                "dev_admin_autoprovision",
                "info",
                f"{app.name} resets the password of {admin.email} to its default at every "
                f"start of the API ({admin.because}): {API_STARTS}. A password set for that "
                f"email lasts until then.{unsure}",
                subject=admin.email,
                short=f"{admin.email}: password reset at app start",
            )
        )
    return out


def _redis_cache(app: ContainerInfo, s: Settings) -> list[Finding]:
    """MagFlow's second Redis client (the cache, the login cache among it) reads
    REDIS_HOST / REDIS_PASSWORD, not REDIS_URL (sheet §9, §11.5)."""
    host = s.get("REDIS_HOST")
    if host.source == UNSET or (host.value or "").strip().lower() in _LOCAL_HOSTS:
        what = f"has {host.where()}" if host.is_set else f"has no REDIS_HOST ({s.unset_where()})"
        return [
            Finding(
                "redis_cache_host_unset",
                "info",
                f"{app.name} {what}: MagFlow's cache service then talks to localhost in its "
                "container, so caching (the login cache among it) is silently off (the broker "
                "uses REDIS_URL and is not affected).",
                subject=app.name,
                short="cache off: REDIS_HOST not set",
            )
        ]
    password = s.get("REDIS_PASSWORD")
    if not host.is_set or password.source != UNSET:
        return []
    return [
        Finding(
            "redis_cache_password_unset",
            "info",
            f"{app.name} has {host.where()} but no REDIS_PASSWORD ({s.unset_where()}): Redis "
            "requires a password (requirepass), so MagFlow's cache client cannot "
            "authenticate and caching (the login cache users:user:<email> among it) is "
            "silently off; the broker uses REDIS_URL and is not affected.",
            subject=app.name,
            short="cache off: REDIS_PASSWORD not set",
        )
    ]
