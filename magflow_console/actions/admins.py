"""Admin users of MagFlow (sheet §5): create, reset password, deactivate, list.

- the password is never a parameter of a plan, never audited, logged or shown; it is
  hashed here with bcrypt (``$2b$``, cost 12), which MagFlow's passlib verifies;
- create sets every NOT NULL column of ``app.users`` (MagFlow has no server defaults),
  links role ``admin`` through ``app.user_roles`` (creating the role when missing), all
  in one transaction; the unique index on ``email`` decides between two concurrent
  creations (``ON CONFLICT (email) DO NOTHING``): the loser reports "exists";
- after a password change or a deactivation the Redis login cache ``users:user:<email>``
  is deleted when a Redis URL is configured (else the report says the old credentials may
  keep working for up to 10 minutes);
- ``admin@magflow.local`` is re-provisioned by the app at every start of the API, which
  a change in the bind-mounted checkout causes too (uvicorn ``--reload``): warn.

Blocking work runs in the caller's thread. No Textual import.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import bcrypt
import psycopg
from psycopg.conninfo import make_conninfo

from magflow_console import config as cfg
from magflow_console.actions.guard import ActionContext, ActionPlan, ActionRefused, ActionResult
from magflow_console.diagnose.app_settings import API_STARTS, DEV_ADMIN_EMAIL, dev_admin
from magflow_console.render.text import scrub
from magflow_console.sources.pg_conn import (
    APPLICATION_NAME,
    SourceError,
    describe_target,
    first,
    friendly_error,
    parse_url,
)
from magflow_console.sources.sync_stats import qident

MIN_PASSWORD_LENGTH = 12
BCRYPT_ROUNDS = 12
LOGIN_CACHE_PREFIX = "users:user:"
LOGIN_CACHE_TTL_MINUTES = 10
ADMIN_ROLE = "admin"

_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL_RE = re.compile(rf"^({_LOCAL})@({_LABEL}(?:\.{_LABEL})+)$")


class InvalidInput(ValueError):
    """A bad email or password; ``str()`` is one sentence that never holds the password."""


# --------------------------------------------------------------------------- pure logic


def normalise_email(email: str) -> str:
    """A sane email syntax check; the domain is lower-cased, the local part kept as typed."""
    email = (email or "").strip()
    if len(email) > 254:
        raise InvalidInput("The email address is longer than 254 characters.")
    m = _EMAIL_RE.match(email)
    if m is None or len(m.group(1)) > 64:
        raise InvalidInput(f"{email!r} is not a valid email address.")
    return f"{m.group(1)}@{m.group(2).lower()}"


def check_password(password: str, repeated: str | None = None) -> None:
    """Raise ``InvalidInput`` when the password is too short or the two entries differ."""
    if repeated is not None and password != repeated:
        raise InvalidInput("The two passwords do not match.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.")
    if password.strip() == "":
        raise InvalidInput("The password must not be blank.")


def hash_password(password: str) -> str:
    """bcrypt ``$2b$12$...`` (60 characters), verifiable by passlib's bcrypt scheme."""
    salt = bcrypt.gensalt(rounds=BCRYPT_ROUNDS, prefix=b"2b")
    return bcrypt.hashpw(password.encode("utf-8"), salt).decode("ascii")


def reprovisioned_email(ctx: ActionContext) -> tuple[str | None, str]:
    """The email the app re-provisions at every start of the API, and where that comes
    from, read from the app container's settings: its environment, then /app/.env
    (sheet §11.5). ``(None, why)`` when AUTO_PROVISION_DEV_ADMIN is false;
    ``(admin@magflow.local, "the app's default, assumed: why")`` when they could not be
    read. Names and non-secret values only (``docker_parse.env_facts`` / ``dotenv_facts``)."""
    name = ctx.profile.docker.services.get("app")
    if not name:
        return DEV_ADMIN_EMAIL, "the app's default, assumed: no app container is configured"
    try:
        from magflow_console.actions.containers import docker_client
        from magflow_console.sources.docker_dotenv import read_dotenv
        from magflow_console.sources.docker_parse import container_info, display_host

        timeout = ctx.profile.docker.timeout
        client = docker_client(ctx.profile, timeout=timeout)
        try:
            attrs = client.api.inspect_container(name)
            host = display_host(cfg.docker_host(ctx.profile))
            dotenv = read_dotenv(client, attrs["Id"], host=host, timeout=timeout)
        finally:
            client.close()
        app = dataclasses.replace(container_info(attrs, "app", ""), **dotenv)
    except Exception:
        return DEV_ADMIN_EMAIL, f"the app's default, assumed: {name}'s settings could not be read"
    if not app.env_set:
        why = f"{name} has none of MagFlow's settings in its environment"
        return DEV_ADMIN_EMAIL, f"the app's default, assumed: {why}"
    admin = dev_admin(app)
    unsure = f"; {admin.unsure}" if admin.unsure else ""
    return admin.email, f"from the app's settings: {admin.because}{unsure}"


def dev_admin_warning(ctx: ActionContext, email: str, what: str) -> tuple[str, ...]:
    """A warning when the app will undo this change at its next start."""
    reset, source = reprovisioned_email(ctx)
    if reset is None or email.lower() != reset:
        return ()
    return (dev_admin_text(email, what, source),)


def dev_admin_text(email: str, what: str, source: str) -> str:
    """The warning for a change to the re-provisioned dev admin (sheet §5, §11.5)."""
    return (
        f"{email} is re-provisioned by the app at every start of the API ({source}): the "
        f"{what} is overwritten at the next one, that is {API_STARTS}, unless "
        "AUTO_PROVISION_DEV_ADMIN=false."
    )


def utc_naive() -> dt.datetime:
    """MagFlow's ``timestamp`` columns hold naive UTC."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# --------------------------------------------------------------------------- database


class _Db:
    """A read-write connection to the profile's database for one action (no pool)."""

    def __init__(self, ctx: ActionContext) -> None:
        self.schema = ctx.profile.database.db_schema
        self.connect_timeout = ctx.profile.database.connect_timeout
        url = ctx.database_url()
        self.url = parse_url(url)

    @property
    def target(self) -> str:
        return describe_target(self.url)

    def t(self, table: str) -> str:
        return f"{qident(self.schema)}.{qident(table)}"

    @contextmanager
    def begin(self) -> Iterator[psycopg.Connection[Any]]:
        """One transaction on its own connection, committed when the block ends normally;
        any database error becomes ``SourceError`` (a safe sentence)."""
        params: dict[str, Any] = {
            **self.url.params,
            "connect_timeout": max(2, math.ceil(self.connect_timeout)),
            "application_name": APPLICATION_NAME,
        }
        try:
            with psycopg.connect(make_conninfo("", **params), prepare_threshold=None) as conn:
                conn.execute("SET LOCAL statement_timeout = '30s'")
                conn.execute("SET LOCAL lock_timeout = '30s'")
                yield conn
        except SourceError:
            raise
        except (psycopg.Error, OSError) as exc:
            raise SourceError(friendly_error(exc, self.url, self.connect_timeout)) from None


def _find_user(db: _Db, email: str) -> dict[str, Any] | None:
    with db.begin() as conn:
        return first(
            conn,
            f"SELECT id, email, is_active FROM {db.t('users')} WHERE email = %(e)s",
            {"e": email},
        )


def _open_db(ctx: ActionContext, plan: ActionPlan) -> _Db:
    try:
        return _Db(ctx)
    except SourceError as exc:
        raise ctx.refuse(plan, f"Cannot reach the database: {exc}") from None


def _lookup_or_refuse(ctx: ActionContext, plan: ActionPlan, email: str) -> dict[str, Any] | None:
    try:
        return _find_user(_open_db(ctx, plan), email)
    except SourceError as exc:
        raise ctx.refuse(plan, f"Cannot read app.users: {exc}") from None


def _valid_email_or_refuse(ctx: ActionContext, plan: ActionPlan, email: str) -> str:
    try:
        return normalise_email(email)
    except InvalidInput as exc:
        raise ctx.refuse(plan, str(exc)) from None


# --------------------------------------------------------------------------- redis


def invalidate_login_cache(ctx: ActionContext, email: str) -> str:
    """Delete ``users:user:<email>`` in Redis; one sentence saying what happened."""
    from magflow_console.sources.broker_url import redis_target_for

    target = redis_target_for(ctx.profile)
    url = target.url
    if not url:
        return (
            f"No Redis URL ({target.why_not}): the login cache was not cleared, so the old "
            f"credentials may keep working for up to {LOGIN_CACHE_TTL_MINUTES} minutes."
        )
    key = LOGIN_CACHE_PREFIX + email
    try:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        try:
            deleted = int(client.delete(key))
        finally:
            client.close()
    except Exception as exc:
        password = None
        try:
            password = unquote(urlsplit(url).password or "") or None
        except Exception:
            password = None
        known = (password, quote(password, safe="")) if password else ()
        text = scrub(f"{type(exc).__name__}: {exc}", known=known)
        return (
            f"Could not clear the Redis login cache key {key} ({text}): the old credentials "
            f"may keep working for up to {LOGIN_CACHE_TTL_MINUTES} minutes."
        )
    if deleted:
        return f"Deleted the Redis login cache key {key}."
    return f"Redis login cache key {key} was not set (nothing cached)."


# --------------------------------------------------------------------------- create


def plan_create_admin(ctx: ActionContext, email: str, full_name: str) -> ActionPlan:
    """Pre-flight: valid email and name, database reachable; notes an existing user."""
    params = {"email": email, "full_name": full_name}
    plan = ActionPlan("admin.create", f"create admin user {email}", (), params)
    ctx.check_allowed(plan)
    norm = _valid_email_or_refuse(ctx, plan, email)
    name = (full_name or "").strip()
    plan = ActionPlan("admin.create", f"create admin user {norm}", (), {**params, "email": norm})
    if not name:
        raise ctx.refuse(plan, "The full name must not be empty.")
    existing = _lookup_or_refuse(ctx, plan, norm)
    schema = ctx.profile.database.db_schema
    if existing is not None:
        changes: tuple[str, ...] = (f"nothing: user {norm} already exists (id {existing['id']})",)
    else:
        changes = (
            f"INSERT {schema}.users: {norm}, full name {name!r}, active, superuser, "
            "email verified, bcrypt password",
            f"link role '{ADMIN_ROLE}' in {schema}.user_roles (create the role if missing)",
        )
    return ActionPlan(
        action="admin.create",
        operation=f"create admin user {norm} in {schema}.users",
        changes=changes,
        params={"email": norm, "full_name": name, "exists": existing is not None},
        warnings=dev_admin_warning(ctx, norm, "password"),
    )


def run_create_admin(ctx: ActionContext, plan: ActionPlan, password: str) -> ActionResult:
    """The work of a confirmed create (pass to ``ctx.execute`` or use ``execute_create_admin``)."""
    email = str(plan.params["email"])
    full_name = str(plan.params["full_name"])
    try:
        check_password(password)
    except InvalidInput as exc:
        raise ActionRefused(str(exc)) from None
    hashed = hash_password(password)
    now = utc_naive()
    try:
        db = _Db(ctx)
        with db.begin() as conn:
            conn.execute(
                (
                    f"INSERT INTO {db.t('roles')} (name, description, is_system_role, "
                    "created_at, updated_at) VALUES (%(name)s, %(desc)s, true, %(now)s, %(now)s) "
                    "ON CONFLICT (name) DO NOTHING"
                ),
                {"name": ADMIN_ROLE, "desc": "Administrator", "now": now},
            )
            row = conn.execute(
                (
                    f"INSERT INTO {db.t('users')} (email, hashed_password, full_name, is_active, "
                    "is_superuser, email_verified, failed_login_attempts, created_at, updated_at) "
                    "VALUES (%(email)s, %(hashed)s, %(full_name)s, true, true, true, 0, %(now)s, %(now)s) "
                    "ON CONFLICT (email) DO NOTHING RETURNING id"
                ),
                {"email": email, "hashed": hashed, "full_name": full_name, "now": now},
            ).fetchone()
            user_id = None if row is None else row[0]
            if user_id is None:
                conn.rollback()
                return ActionResult(
                    True,
                    f"Admin user {email} already exists: nothing changed (password not changed).",
                    plan.warnings,
                    {"email": email, "created": False, "exists": True},
                )
            conn.execute(
                (
                    f"INSERT INTO {db.t('user_roles')} (user_id, role_id) "
                    f"SELECT %(uid)s, id FROM {db.t('roles')} WHERE name = %(name)s "
                    "ON CONFLICT DO NOTHING"
                ),
                {"uid": user_id, "name": ADMIN_ROLE},
            )
    except SourceError as exc:
        return ActionResult(
            False, f"Creating admin user {email} failed: {exc}; {_what_stayed(ctx, email)}."
        )
    return ActionResult(
        True,
        f"Created admin user {email} (id {user_id}) with role '{ADMIN_ROLE}'.",
        plan.warnings,
        {"email": email, "created": True, "exists": False, "id": int(user_id)},
    )


def _what_stayed(ctx: ActionContext, email: str) -> str:
    """After a failed creation (the connection cut mid-way, a lock timeout...): whether the
    user exists, read again on a new connection. The insert and the role link are one
    transaction, so either both stayed or neither did; only a cut during COMMIT leaves
    the outcome unknown to the failed session, hence the check."""
    try:
        db = _Db(ctx)
        found = _find_user(db, email)
    except SourceError as exc:
        return f"whether anything was created could not be checked ({exc})"
    if found is None:
        return f"nothing was created: no user {email} in {db.schema}.users (read again)"
    return (
        f"user {email} exists now (id {found['id']}): the creation was committed before "
        "the failure, or another console created it"
    )


def execute_create_admin(ctx: ActionContext, plan: ActionPlan, password: str) -> ActionResult:
    return ctx.execute(plan, lambda: run_create_admin(ctx, plan, password))


# --------------------------------------------------------------------------- reset / deactivate


def _plan_existing(ctx: ActionContext, action: str, email: str, verb: str) -> ActionPlan:
    plan = ActionPlan(action, f"{verb} {email}", (), {"email": email})
    ctx.check_allowed(plan)
    norm = _valid_email_or_refuse(ctx, plan, email)
    plan = ActionPlan(action, f"{verb} {norm}", (), {"email": norm})
    if _lookup_or_refuse(ctx, plan, norm) is None:
        raise ctx.refuse(plan, f"No user with email {norm} exists.")
    return plan


def _cache_change() -> str:
    return f"delete the Redis login cache key {LOGIN_CACHE_PREFIX}<email> (if Redis is configured)"


def plan_reset_password(ctx: ActionContext, email: str) -> ActionPlan:
    base = _plan_existing(ctx, "admin.reset_password", email, "reset the password of")
    norm = str(base.params["email"])
    schema = ctx.profile.database.db_schema
    return ActionPlan(
        action=base.action,
        operation=f"reset the password of {norm} in {schema}.users",
        changes=(
            f"UPDATE {schema}.users: new bcrypt hash for {norm}, failed_login_attempts = 0",
            _cache_change(),
        ),
        params={"email": norm},
        warnings=dev_admin_warning(ctx, norm, "password"),
    )


def run_reset_password(ctx: ActionContext, plan: ActionPlan, password: str) -> ActionResult:
    email = str(plan.params["email"])
    try:
        check_password(password)
    except InvalidInput as exc:
        raise ActionRefused(str(exc)) from None
    hashed = hash_password(password)
    try:
        db = _Db(ctx)
        with db.begin() as conn:
            row = first(
                conn,
                f"UPDATE {db.t('users')} SET hashed_password = %(hashed)s, "
                "failed_login_attempts = 0, updated_at = %(now)s "
                "WHERE email = %(email)s RETURNING id, email",
                {"hashed": hashed, "now": utc_naive(), "email": email},
            )
    except SourceError as exc:
        return ActionResult(False, f"Resetting the password of {email} failed: {exc}")
    if row is None:
        return ActionResult(False, f"No user with email {email} exists: nothing changed.")
    cache = invalidate_login_cache(ctx, str(row["email"]))
    return ActionResult(
        True,
        f"Password of {email} reset.",
        (cache, *plan.warnings),
        {"email": email, "id": int(row["id"]), "cache": cache},
    )


def execute_reset_password(ctx: ActionContext, plan: ActionPlan, password: str) -> ActionResult:
    return ctx.execute(plan, lambda: run_reset_password(ctx, plan, password))


def plan_deactivate_admin(ctx: ActionContext, email: str) -> ActionPlan:
    base = _plan_existing(ctx, "admin.deactivate", email, "deactivate")
    norm = str(base.params["email"])
    schema = ctx.profile.database.db_schema
    return ActionPlan(
        action=base.action,
        operation=f"deactivate user {norm} in {schema}.users",
        changes=(f"UPDATE {schema}.users: is_active = false for {norm}", _cache_change()),
        params={"email": norm},
        warnings=dev_admin_warning(ctx, norm, "deactivation"),
    )


def run_deactivate_admin(ctx: ActionContext, plan: ActionPlan) -> ActionResult:
    email = str(plan.params["email"])
    try:
        db = _Db(ctx)
        with db.begin() as conn:
            row = first(
                conn,
                f"UPDATE {db.t('users')} u SET is_active = false, updated_at = %(now)s "
                f"FROM (SELECT id, is_active FROM {db.t('users')} WHERE email = %(email)s "
                "FOR UPDATE) old WHERE u.id = old.id "
                "RETURNING u.id, u.email, old.is_active AS was_active",
                {"now": utc_naive(), "email": email},
            )
    except SourceError as exc:
        return ActionResult(False, f"Deactivating {email} failed: {exc}")
    if row is None:
        return ActionResult(False, f"No user with email {email} exists: nothing changed.")
    cache = invalidate_login_cache(ctx, str(row["email"]))
    message = f"Deactivated {email}." if row["was_active"] else f"{email} was already inactive."
    return ActionResult(
        True,
        message,
        (cache, *plan.warnings),
        {"email": email, "id": int(row["id"]), "cache": cache},
    )


def execute_deactivate_admin(ctx: ActionContext, plan: ActionPlan) -> ActionResult:
    return ctx.execute(plan, lambda: run_deactivate_admin(ctx, plan))
