"""What the app and worker containers' environment says (sheet §1.1, §5, §9): eMAG
credentials per account (set or unset, never their values), where each account's syncs
really go, and the settings behind two silent surprises (caching off, the dev admin's
password reset at every start).

Pure: it reads ``ContainerInfo.env_set`` / ``env_public``, which the Docker source fills
with names and a short allow-list of non-secret values only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from magflow_console.models import ContainerInfo, ContainersSnapshot, Finding

ACCOUNTS = ("main", "fbe")
#: the names the product sync reads per account (sheet §9)
CREDENTIALS = ("USERNAME", "PASSWORD")
#: older names some code paths read; a set alias does not feed the product sync
LEGACY_ALIASES: dict[str, tuple[str, ...]] = {
    "main": ("EMAG_USERNAME", "EMAG_PASSWORD", "EMAG_API_USERNAME", "EMAG_API_PASSWORD"),
    "fbe": (
        "EMAG_USERNAME_FBE",
        "EMAG_PASSWORD_FBE",
        "EMAG_FBE_API_USERNAME",
        "EMAG_FBE_API_PASSWORD",
    ),
}
PRODUCTION_HOST = "marketplace-api.emag.ro"
SANDBOX_HOST = "marketplace-api-sandbox.emag.ro"
#: the environment is read from the first of these that is set (sheet §9)
ENVIRONMENT_NAMES = ("EMAG_ENVIRONMENT", "ENVIRONMENT", "APP_ENV")
#: the containers whose environment runs syncs: the API (HTTP-triggered) and the worker
SYNC_SERVICES = ("app", "worker")


@dataclass(frozen=True)
class AccountEnv:
    """One eMAG account as one container's environment configures it."""

    account: str
    container: str
    missing: tuple[str, ...]  # product-sync credential names that are unset
    legacy_set: tuple[str, ...]  # legacy aliases that are set
    base_url: str | None  # EMAG_<ACC>_BASE_URL (scheme://host/path) if set
    environment: str | None  # the value that selects production or sandbox
    environment_name: str | None  # which variable it came from
    products_target: str  # "production" | "sandbox" | host of the base URL
    orders_target: str

    @property
    def credentials_set(self) -> bool:
        return not self.missing


def _target(url: str | None) -> str | None:
    if not url:
        return None
    host = url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    if host == PRODUCTION_HOST:
        return "production"
    if host == SANDBOX_HOST:
        return "sandbox"
    return host or None


def account_env(container: ContainerInfo, account: str) -> AccountEnv:
    env_set = set(container.env_set)
    public = container.env_public
    prefix = f"EMAG_{account.upper()}_"
    missing = tuple(prefix + n for n in CREDENTIALS if prefix + n not in env_set)
    legacy = tuple(n for n in LEGACY_ALIASES.get(account, ()) if n in env_set)
    base_url = public.get(prefix + "BASE_URL")
    env_name = next((n for n in ENVIRONMENT_NAMES if public.get(n)), None)
    environment = public.get(env_name) if env_name else None
    by_url = _target(base_url)
    # the product sync defaults to the production host; the integration and order services
    # pick production only for "production"/"prod", the sandbox otherwise
    products = by_url or "production"
    production = (environment or "").strip().lower() in ("production", "prod")
    orders = by_url or ("production" if production else "sandbox")
    return AccountEnv(
        account=account,
        container=container.name,
        missing=missing,
        legacy_set=legacy,
        base_url=base_url,
        environment=environment,
        environment_name=env_name,
        products_target=products,
        orders_target=orders,
    )


def sync_containers(snap: ContainersSnapshot) -> list[ContainerInfo]:
    """The app and worker containers (the ones whose environment runs syncs) whose
    environment was read: MagFlow's always has some of the watched names (DATABASE_URL at
    least), so an empty ``env_set`` means "not known", not "nothing set"."""
    return [c for s in SYNC_SERVICES for c in snap.items if c.service == s and c.env_set]


def accounts(snap: ContainersSnapshot) -> list[AccountEnv]:
    return [account_env(c, a) for c in sync_containers(snap) for a in ACCOUNTS]


def _names(containers: Iterable[str]) -> str:
    return " and ".join(dict.fromkeys(containers))


def env_findings(snap: ContainersSnapshot) -> list[Finding]:
    """Findings from the environment of the app and worker containers."""
    if snap.state == "error":
        return []
    out: list[Finding] = []
    rows = accounts(snap)
    for account in ACCOUNTS:
        mine = [r for r in rows if r.account == account]
        lacking = [r for r in mine if r.missing]
        if lacking:
            missing = sorted({n for r in lacking for n in r.missing})
            legacy = sorted({n for r in lacking for n in r.legacy_set})
            note = (
                f" ({', '.join(legacy)} {'is' if len(legacy) == 1 else 'are'} set, but the "
                "product sync reads only the EMAG_" + account.upper() + "_ names)"
                if legacy
                else ""
            )
            out.append(
                Finding(
                    "emag_credentials_missing",
                    "critical",
                    f"{_names(r.container for r in lacking)}: {', '.join(missing)} not set"
                    f"{note}; {account} product syncs complete with 0 items ('Missing "
                    f"credentials for {account} account, skipping').",
                    account=account,
                    subject=lacking[0].container,
                    short="eMAG credentials not set",
                )
            )
            continue
        split = [r for r in mine if r.products_target != r.orders_target]
        if split:
            r = split[0]
            why = (
                f"{r.environment_name}={r.environment}"
                if r.environment_name
                else "no EMAG_ENVIRONMENT, ENVIRONMENT or APP_ENV"
            )
            out.append(
                Finding(
                    "emag_target_split",
                    "warning",
                    f"{account}: product syncs go to {r.products_target} but order syncs and "
                    f"/api/v1/emag/health go to {r.orders_target} ({why}, "
                    f"EMAG_{account.upper()}_BASE_URL not set) in "
                    f"{_names(x.container for x in split)}.",
                    account=account,
                    subject=r.container,
                    short=f"products {r.products_target}, orders {r.orders_target}",
                )
            )
        elif any(r.products_target == "sandbox" for r in mine):
            out.append(
                Finding(
                    "emag_sandbox",
                    "info",
                    f"{account} syncs the eMAG sandbox (EMAG_{account.upper()}_BASE_URL), not "
                    "the marketplace.",
                    account=account,
                    subject=mine[0].container,
                    short="syncs the eMAG sandbox",
                )
            )
    out += _app_settings(sync_containers(snap))
    return out


DEV_ADMIN_EMAIL = "admin@magflow.local"
#: what starts the API again (sheet §11.5): the app runs uvicorn --reload over the checkout
#: bind-mounted at /app, so not only a restart
API_STARTS = (
    "a restart of the container, and also any change in the checkout bind-mounted at /app "
    "(uvicorn --reload restarts the API, e.g. after a git pull)"
)


def reprovisioned_admin(app: ContainerInfo) -> str | None:
    """The email whose password the app resets at every start (DEFAULT_ADMIN_EMAIL, else
    admin@magflow.local), or None when AUTO_PROVISION_DEV_ADMIN is false (sheet §5)."""
    public = app.env_public
    if public.get("AUTO_PROVISION_DEV_ADMIN", "true").strip().lower() in ("false", "0", "no"):
        return None
    return public.get("DEFAULT_ADMIN_EMAIL", DEV_ADMIN_EMAIL).strip().lower() or DEV_ADMIN_EMAIL


def _app_settings(containers: Sequence[ContainerInfo]) -> list[Finding]:
    out: list[Finding] = []
    app = next((c for c in containers if c.service == "app"), None)
    if app is None:
        return out
    if "REDIS_HOST" not in app.env_set:
        out.append(
            Finding(
                "redis_cache_host_unset",
                "info",
                f"{app.name} has no REDIS_HOST: MagFlow's cache service defaults to localhost, "
                "so caching is silently off (the broker uses REDIS_URL and is not affected).",
                subject=app.name,
                short="cache off: REDIS_HOST not set",
            )
        )
    email = reprovisioned_admin(app)
    if email is not None:
        out.append(
            Finding(
                "dev_admin_autoprovision",
                "info",
                f"{app.name} resets the password of {email} to its default at every start of "
                f"the API (AUTO_PROVISION_DEV_ADMIN is not false): {API_STARTS}. A password "
                "set for that email lasts until then.",
                subject=email,
                short=f"{email}: password reset at app start",
            )
        )
    return out
