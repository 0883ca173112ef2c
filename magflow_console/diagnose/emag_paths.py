"""Which settings each eMAG path of MagFlow reads, where each comes from, and where each
path goes (sheet §1.1, §9, §11.5): credentials per account and per path (set or unset,
never their values) and the effective target.


Where a setting comes from (sheet §11.5). MagFlow's pydantic settings read the process
environment, then the checkout's /app/.env: the environment wins, even with an empty
value. ``os.getenv`` sees the environment only: pydantic settings do not export /app/.env
into ``os.environ``. The three eMAG paths read different things:

- **products** (the product sync): ``EMAG_<ACC>_{USERNAME,PASSWORD,BASE_URL}`` with
  ``os.getenv``, so the environment only; default target the production host;
- **orders** (the order sync): the same names through the settings (environment, then
  /app/.env); target the account's base URL, else EMAG_ENVIRONMENT, ENVIRONMENT, APP_ENV
  (the first set; only production/prod is production);
- **health** (``/api/v1/emag/health``, served by the app only): the settings; for main
  EMAG_USERNAME/EMAG_PASSWORD before EMAG_MAIN_*; target the global EMAG_BASE_URL, else
  EMAG_ENVIRONMENT (default development, i.e. the sandbox).

A setting that /app/.env could hold while that file was not read is "unknown", and nothing
is concluded from it. Pure: reads ``ContainerInfo``'s ``env_*`` and ``dotenv_*`` facts
(names, and a short allow-list of non-secret values).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from magflow_console.models import ContainerInfo, ContainersSnapshot

ACCOUNTS = ("main", "fbe")
#: the credential names every path reads per account (``EMAG_<ACC>_<NAME>``, sheet §9)
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
#: the order sync's environment: the first of these that is set (sheet §9, §11.5)
ENVIRONMENT_NAMES = ("EMAG_ENVIRONMENT", "ENVIRONMENT", "APP_ENV")
#: the containers whose settings run syncs: the API (HTTP-triggered) and the worker
SYNC_SERVICES = ("app", "worker")
#: the eMAG paths and what they do, for sentences
PATHS = {
    "products": "product syncs",
    "orders": "order syncs",
    "health": "/api/v1/emag/health",
}

# where a setting comes from
ENVIRONMENT = "environment"
DOTENV = "/app/.env"
UNSET = "unset"
UNKNOWN = "unknown"  # not in the environment, and /app/.env was not read
_FROM = {ENVIRONMENT: "the environment", DOTENV: "/app/.env"}


@dataclass(frozen=True)
class Lookup:
    """One setting as one reader sees it: where it comes from, and its value when public."""

    name: str
    source: str  # ENVIRONMENT | DOTENV | UNSET | UNKNOWN
    value: str | None = None  # only for docker_parse.ENV_PUBLIC names

    @property
    def is_set(self) -> bool:
        return self.source in (ENVIRONMENT, DOTENV)

    def where(self) -> str:
        """ "ENVIRONMENT=development from the environment", "EMAG_PASSWORD from /app/.env"."""
        shown = f"{self.name}={self.value}" if self.value is not None else self.name
        return f"{shown} from {_FROM.get(self.source, self.source)}"


class Settings:
    """One container's settings: ``getenv`` as ``os.getenv`` sees them (the environment
    only), ``get`` as MagFlow's pydantic settings do (the environment, then /app/.env)."""

    def __init__(self, container: ContainerInfo) -> None:
        self.container = container
        # a public value is a set name too
        self._env = set(container.env_set) | set(container.env_public)
        self._empty = set(container.env_empty)
        self._dotenv = set(container.dotenv_set) | set(container.dotenv_public)

    def dotenv_unread(self) -> str:
        """ "/app/.env was not read (why)"."""
        why = self.container.dotenv_error
        return f"{DOTENV} was not read" + (f" ({why})" if why else "")

    def getenv(self, name: str) -> Lookup:
        if name in self._env:
            return Lookup(name, ENVIRONMENT, self.container.env_public.get(name))
        return Lookup(name, UNSET)

    def get(self, name: str) -> Lookup:
        if name in self._env:
            return Lookup(name, ENVIRONMENT, self.container.env_public.get(name))
        if name in self._empty or self.container.dotenv_state in (None, "absent"):
            return Lookup(name, UNSET)  # an empty variable still wins over /app/.env
        if self.container.dotenv_state != "read":
            return Lookup(name, UNKNOWN)
        if name in self._dotenv:
            return Lookup(name, DOTENV, self.container.dotenv_public.get(name))
        return Lookup(name, UNSET)

    def unset_where(self) -> str:
        """Where a setting that ``get`` calls unset was looked for."""
        if self.container.dotenv_state == "read":
            return "neither the environment nor /app/.env sets it"
        if self.container.dotenv_state == "absent":
            return "the environment does not set it, and there is no /app/.env"
        return "the environment does not set it"


# --------------------------------------------------------------------------- paths


@dataclass(frozen=True)
class PathEnv:
    """What one eMAG path of one account sees in one container."""

    path: str  # products | orders | health
    credentials: tuple[Lookup, ...]  # the names this path really uses, and their source
    target: str  # production | sandbox | a base URL's host | unknown
    because: str  # what decided the target

    @property
    def state(self) -> str:
        """ "set", "missing" (a credential is unset for sure) or "unknown"."""
        if any(c.source == UNSET for c in self.credentials):
            return "missing"
        return UNKNOWN if any(c.source == UNKNOWN for c in self.credentials) else "set"

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.credentials if c.source == UNSET)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.credentials)

    def from_dotenv(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.credentials if c.source == DOTENV)

    def json(self) -> dict[str, Any]:
        return {
            "credentials": self.state,
            "names": {c.name: c.source for c in self.credentials},
            "target": self.target,
            "target_from": self.because,
        }


def _target(url: str | None) -> str | None:
    if not url:
        return None
    host = url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    if host == PRODUCTION_HOST:
        return "production"
    if host == SANDBOX_HOST:
        return "sandbox"
    return host or None


def _by_environment(setting: Lookup) -> tuple[str, str]:
    production = (setting.value or "").strip().lower() in ("production", "prod")
    return ("production" if production else "sandbox"), setting.where()


def _products_target(s: Settings, prefix: str) -> tuple[str, str]:
    url = s.getenv(prefix + "BASE_URL")
    if url.is_set:
        return _target(url.value) or "a custom host", url.where()
    return "production", "the product sync's default host"


def _orders_target(s: Settings, prefix: str) -> tuple[str, str]:
    url = s.get(prefix + "BASE_URL")
    if url.is_set:
        return _target(url.value) or "a custom host", url.where()
    if url.source == UNKNOWN:
        return UNKNOWN, f"{s.dotenv_unread()}: it may set {url.name}"
    for name in ENVIRONMENT_NAMES:
        setting = s.get(name)
        if setting.is_set:
            return _by_environment(setting)
        if setting.source == UNKNOWN:
            return UNKNOWN, f"{s.dotenv_unread()}: it may set {name}"
    return "sandbox", "no EMAG_ENVIRONMENT, ENVIRONMENT or APP_ENV"


def _health_target(s: Settings) -> tuple[str, str]:
    url = s.get("EMAG_BASE_URL")
    if url.is_set:
        return _target(url.value) or "a custom host", url.where()
    environment = s.get("EMAG_ENVIRONMENT")
    if environment.is_set:
        return _by_environment(environment)
    if UNKNOWN in (url.source, environment.source):
        return UNKNOWN, f"{s.dotenv_unread()}: it may set EMAG_BASE_URL or EMAG_ENVIRONMENT"
    return "sandbox", "EMAG_ENVIRONMENT not set: development"


def _health_credentials(s: Settings, account: str) -> tuple[Lookup, ...]:
    if account != "main":
        return tuple(s.get(f"EMAG_{account.upper()}_{n}") for n in CREDENTIALS)
    found = []
    for n in CREDENTIALS:
        preferred, fallback = s.get(f"EMAG_{n}"), s.get(f"EMAG_MAIN_{n}")
        if preferred.is_set:
            found.append(preferred)
        elif preferred.source == UNKNOWN and not fallback.is_set:
            found.append(preferred)  # /app/.env, not read, may hold the preferred name
        else:
            found.append(fallback)
    return tuple(found)


@dataclass(frozen=True)
class AccountEnv:
    """One eMAG account as one container's settings configure it, per path."""

    account: str
    container: str
    paths: tuple[PathEnv, ...]  # products, orders, and health on the app
    legacy_set: tuple[str, ...]  # legacy aliases that are set (environment or /app/.env)
    base_url: str | None  # EMAG_<ACC>_BASE_URL (scheme://host/path) as the product sync reads it
    environment: str | None  # the order sync's environment value
    environment_name: str | None  # which variable it came from
    environment_source: str | None  # ENVIRONMENT | DOTENV
    environment_unknown: tuple[str, ...]  # names before it /app/.env (not read) may set
    dotenv_state: str | None
    dotenv_error: str | None

    def path(self, name: str) -> PathEnv | None:
        return next((p for p in self.paths if p.path == name), None)

    @property
    def products(self) -> PathEnv:
        return self.paths[0]

    @property
    def orders(self) -> PathEnv:
        return self.paths[1]

    @property
    def missing(self) -> tuple[str, ...]:
        """The credential names unset for the product sync (the process environment)."""
        return self.products.missing

    @property
    def credentials_set(self) -> bool:
        """True only when every path finds its credentials."""
        return all(p.state == "set" for p in self.paths)

    @property
    def paths_agree(self) -> bool:
        """Every path is in the same state, missing the same names."""
        return len({(p.state, p.missing) for p in self.paths}) == 1

    @property
    def products_target(self) -> str:
        return self.products.target

    @property
    def orders_target(self) -> str:
        return self.orders.target

    @property
    def health_target(self) -> str | None:
        health = self.path("health")
        return health.target if health else None

    def unread(self) -> str:
        """ "/app/.env was not read: why"."""
        return f"{DOTENV} was not read" + (f": {self.dotenv_error}" if self.dotenv_error else "")


def account_env(container: ContainerInfo, account: str) -> AccountEnv:
    s = Settings(container)
    prefix = f"EMAG_{account.upper()}_"
    paths = [
        PathEnv(
            "products",
            tuple(s.getenv(prefix + n) for n in CREDENTIALS),
            *_products_target(s, prefix),
        ),
        PathEnv(
            "orders", tuple(s.get(prefix + n) for n in CREDENTIALS), *_orders_target(s, prefix)
        ),
    ]
    if container.service == "app":
        paths.append(PathEnv("health", _health_credentials(s, account), *_health_target(s)))
    legacy = tuple(n for n in LEGACY_ALIASES.get(account, ()) if s.get(n).is_set)
    chosen = next((s.get(n) for n in ENVIRONMENT_NAMES if s.get(n).is_set), None)
    before = (
        ENVIRONMENT_NAMES[: ENVIRONMENT_NAMES.index(chosen.name)] if chosen else ENVIRONMENT_NAMES
    )
    return AccountEnv(
        account=account,
        container=container.name,
        paths=tuple(paths),
        legacy_set=legacy,
        environment=chosen.value if chosen else None,
        environment_name=chosen.name if chosen else None,
        environment_source=chosen.source if chosen else None,
        environment_unknown=tuple(n for n in before if s.get(n).source == UNKNOWN),
        base_url=s.getenv(prefix + "BASE_URL").value,
        dotenv_state=container.dotenv_state,
        dotenv_error=container.dotenv_error,
    )


def paths_json(container: ContainerInfo) -> dict[str, dict[str, dict[str, Any]]]:
    """Per account and path: credentials set/missing/unknown, each name's source, the
    target and what decided it (``ContainerInfo.emag_paths``; app and worker only)."""
    if container.service not in SYNC_SERVICES or not container.env_set:
        return {}
    return {a: {p.path: p.json() for p in account_env(container, a).paths} for a in ACCOUNTS}


def by_source(lookups: Iterable[Lookup], join: Any = ", ".join) -> str:
    """ "EMAG_USERNAME, EMAG_PASSWORD from /app/.env; X from the environment"."""
    groups: dict[str, list[str]] = {}
    for c in lookups:
        groups.setdefault(c.source, []).append(c.name)
    return "; ".join(f"{join(n)} from {_FROM.get(s, s)}" for s, n in groups.items())


def compact(names: Sequence[str]) -> str:
    """ "EMAG_FBE_USERNAME+PASSWORD" for names of one prefix, else "A, B"."""
    if len(names) == 2:
        prefix = names[0].rsplit("_", 1)[0] + "_"
        if names[1].startswith(prefix) and "_" not in names[1][len(prefix) :]:
            return f"{names[0]}+{names[1][len(prefix) :]}"
    return ", ".join(names)


def environment_words(a: AccountEnv, *, unknown_too: bool = True) -> str:
    """What decides the order sync's target when no base URL does: "ENVIRONMENT=development",
    "EMAG_ENVIRONMENT=production from /app/.env", and (``unknown_too``) the names an unread
    /app/.env may set before it."""
    unknown = (
        f"{', '.join(a.environment_unknown)} not known"
        if a.environment_unknown and unknown_too
        else ""
    )
    if a.environment_name:
        source = " from /app/.env" if a.environment_source == DOTENV else ""
        shown = f"{a.environment_name}={a.environment}{source}"
        return f"{shown}; {unknown}" if unknown else shown
    if a.environment_unknown:
        return f"{', '.join(a.environment_unknown)} not known"
    return "no EMAG_ENVIRONMENT, ENVIRONMENT or APP_ENV"


def credentials_word(a: AccountEnv) -> str:
    """The account's credentials in a few words: the same for every path, else the product
    sync's (the notes say the others)."""
    p = a.products
    words = "credentials set" if p.state == "set" else f"{compact(p.missing)} unset"
    return words if a.paths_agree else f"products: {words}"


def account_notes(a: AccountEnv) -> list[str]:
    """What the first line of an account (credentials, product and order sync targets)
    cannot say: the other paths when they differ from the product sync, the health
    endpoint's own credentials and host, aliases that nothing reads."""
    notes = []
    if not a.paths_agree:
        groups: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[str]] = {}
        for p in a.paths[1:]:
            groups.setdefault((p.state, p.missing, p.from_dotenv()), []).append(p.path)
        for (state, missing, dotenv), paths in groups.items():
            if state == "set":
                source = f" ({compact(dotenv)} from /app/.env)" if dotenv else ""
                words = f"credentials set{source}"
            elif state == "missing":
                words = f"{compact(missing)} unset"
            else:
                words = f"not known ({DOTENV} not read)"
            notes.append(f"{', '.join(paths)}: {words}")
    health = a.path("health")
    if health is not None and health.state == "set" and health.names != a.products.names:
        notes.append(f"health checks {by_source(health.credentials, compact)}")
    if health is not None and health.target not in (UNKNOWN, a.orders_target):
        notes.append(f"health checks {health.target} ({health.because})")
    read = {c.name for p in a.paths for c in p.credentials}
    unread = [n for n in a.legacy_set if n not in read]
    if a.missing and unread:
        notes.append(f"set but not read: {', '.join(unread)}")
    return notes


def sync_containers(snap: ContainersSnapshot) -> list[ContainerInfo]:
    """The app and worker containers (the ones whose settings run syncs) whose
    environment was read: MagFlow's always has some of the watched names (DATABASE_URL at
    least), so an empty ``env_set`` means "not known", not "nothing set"."""
    return [c for s in SYNC_SERVICES for c in snap.items if c.service == s and c.env_set]


def accounts(snap: ContainersSnapshot) -> list[AccountEnv]:
    return [account_env(c, a) for c in sync_containers(snap) for a in ACCOUNTS]


def joined_names(containers: Iterable[str]) -> str:
    return " and ".join(dict.fromkeys(containers))


def is_are(names: Sequence[str]) -> str:
    return "is" if len(names) == 1 else "are"
