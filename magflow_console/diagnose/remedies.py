"""What to do about a finding: the next steps an on-call engineer can take, one line each.

Pure functions over a finding and the status report it came from (no I/O, no Textual):
``doctor`` prints them under each finding and the TUI's findings screen shows them. The
steps name the console's own commands where one fits (they are guarded and audited),
MagFlow's tools otherwise, and SQL only where the stack sheet says the API cannot do it
(stuck ``running`` rows, sheet §6.2). Every finding code has an entry in ``REMEDIES``
(tests/diagnose/test_doctor.py keeps the list complete).
"""

from __future__ import annotations

from collections.abc import Callable

from magflow_console.diagnose.entrypoint import from_older_image
from magflow_console.models import Finding, StatusReport

Steps = tuple[str, ...]
Remedy = Callable[[Finding, StatusReport | None], Steps]

CLI = "magflow-console"


def _service_of(finding: Finding, report: StatusReport | None) -> str:
    """The compose service of the container a finding is about (its name when unknown)."""
    name = finding.subject or ""
    if report is not None:
        for c in report.containers.items:
            if c.name == name and c.service:
                return c.service
    return name or "SERVICE"


def _run(finding: Finding) -> str:
    return f"{CLI} sync-logs --id {(finding.subject or 'RUN')[:8]}"


#: the accounts `sync --account` triggers one by one (its "both" is the two of them)
SYNC_ACCOUNTS = ("main", "fbe")


def _sync_cmd(account: str | None) -> str:
    """The command that syncs ``account`` and watches it: for main or fbe that account; for
    any other value a finding may carry ('both', a legacy name, a stranger) the two the
    command takes, one after the other, never an account it would refuse."""
    if account in SYNC_ACCOUNTS:
        return f"`{CLI} sync --account {account} --wait`"
    return " then ".join(f"`{CLI} sync --account {a} --wait`" for a in SYNC_ACCOUNTS)


def _fixed(*steps: str) -> Remedy:
    return lambda _f, _r: steps


# --------------------------------------------------------------------------- containers


def _crash_loop(f: Finding, r: StatusReport | None) -> Steps:
    svc = _service_of(f, r)
    steps = [
        f"Read why it exits: its last logs (TUI: enter on it; or `{CLI} logs {svc} --tail "
        f"100`), and `{CLI} doctor`, which reads them for known causes.",
    ]
    if svc in ("app", "worker", "beat"):
        steps.append(
            "app, worker and beat run the entrypoint: it waits for the database (exit 1 after "
            "30 tries), exits 1 on an empty database (no app.users: its init script is "
            f"missing), then migrates, so check `{CLI} status` and `{CLI} migrations` "
            '("already exists", multiple heads, an unknown stamp).'
        )
    if svc == "db":
        steps.append(
            "The db logs say why PostgreSQL stops (the data volume, its permissions, or the "
            "init script on a fresh volume)."
        )
    steps.append(f"Once the cause is fixed: `{CLI} restart {svc}`.")
    return tuple(steps)


def _down(f: Finding, r: StatusReport | None) -> Steps:
    svc = _service_of(f, r)
    return (
        f"Read its last logs first (TUI: enter on it), then `{CLI} start {svc}`.",
        "A container that exits again at once is a crash loop: fix the cause before starting it.",
    )


def _unhealthy(f: Finding, r: StatusReport | None) -> Steps:
    svc = _service_of(f, r)
    if svc == "worker":
        first = (
            "The worker's probe pings Celery: check Redis (the broker) and the worker's logs "
            "(TUI: enter on it) for the reason."
        )
    elif svc == "app":
        first = "The app's probe output is in its detail screen (TUI: enter on it)."
    else:
        first = "The last probe's output is in its detail screen (TUI: enter on it)."
    return (first, f"When the cause is gone and it stays unhealthy: `{CLI} restart {svc}`.")


def _missing(f: Finding, _r: StatusReport | None) -> Steps:
    svc = f.subject or "SERVICE"
    return (
        f"No container for '{svc}': create it from the MagFlow checkout with "
        f"`docker compose up -d {svc}` (the console restarts containers, it does not create them).",
        f'If it exists under another name, map it in the profile: `docker.services.{svc} = "..."`.',
    )


# --------------------------------------------------------------------------- migrations


def _pending(f: Finding, _r: StatusReport | None) -> Steps:
    return (
        f"`{CLI} migrate` (pre-flight, confirmation; add `--backup` for a pg_dump first); TUI: m.",
        f"The apply order is in `{CLI} migrations`.",
    )


def _multiple_heads(f: Finding, _r: StatusReport | None) -> Steps:
    head = f.revisions[-1] if f.revisions else "HEAD"
    return (
        'In the MagFlow repository: `alembic merge heads -m "merge heads"`, commit, deploy.',
        f"Until then one branch can be applied: `{CLI} migrate --to {head}`.",
    )


def _unknown_current(f: Finding, _r: StatusReport | None) -> Steps:
    rid = f.revisions[0] if f.revisions else "REV"
    return (
        f"Find the file that defined {rid}: `git log --all -S '{rid}'` in the MagFlow repository; "
        "restore it if it was deleted by mistake.",
        "Or stamp the revision the schema really matches, after checking its tables: "
        "`alembic stamp <revision>` in the app container.",
    )


def _version_table_missing(f: Finding, _r: StatusReport | None) -> Steps:
    if f.severity == "critical":
        return (
            "Find the newest migration whose tables and columns exist, then "
            "`alembic stamp <revision>` in the app container; only then migrate.",
        )
    return (
        "The database was never migrated: restore a dump, or initialise it the way the "
        "deployment does (a fresh `alembic upgrade head` fails on MagFlow).",
    )


def _lock_held(f: Finding, _r: StatusReport | None) -> Steps:
    return (
        "Wait for it: the holder's query is in the migrations detail (TUI: 2, enter); never start "
        "a second migration.",
        "If the holder is an idle session, ending that session (pg_terminate_backend) releases "
        "the lock.",
    )


# --------------------------------------------------------------------------- API


def _api_check(f: Finding, _r: StatusReport | None) -> Steps:
    path = f.subject or ""
    if "database" in path or path.endswith("/full"):
        first = f"The API cannot use the database: check the db container and `{CLI} status`."
    elif "redis" in path and f.severity == "info":  # the demo has no Redis
        first = f"Only the demo's: it has no Redis unless `{CLI} demo --redis-url URL` names one."
    elif "redis" in path:
        first = "The API cannot reach Redis: check the redis container and its password."
    elif "emag" in path:
        first = (
            "eMAG integration not configured: check the EMAG_* settings of the app (credentials "
            "per account, production vs sandbox URL)."
        )
    elif "migrations" in path:
        first = f"Compare with `{CLI} migrations` (the API does not compare with head)."
    else:
        first = f"Open {path} in a browser or with curl and read its body."
    return (first,)


# --------------------------------------------------------------------------- sync


def _sync_errors(f: Finding, _r: StatusReport | None) -> Steps:
    return (
        f"Read the errors of the newest such run: `{_run(f)}`.",
        f"eMAG 5xx/429 on one account are often transient: {_sync_cmd(f.account or 'main')}.",
    )


def _sync_empty(f: Finding, _r: StatusReport | None) -> Steps:
    acct = f.account or "main"
    return (
        f"0 items usually means missing or wrong eMAG credentials for {acct} (the worker logs "
        "'Missing credentials'), or every page failed: check /api/v1/emag/health and the "
        "EMAG_* settings.",
        f"The newest run: `{_run(f)}`.",
    )


def _sync_failed(f: Finding, _r: StatusReport | None) -> Steps:
    return (
        f"The error is in the run: `{_run(f)}`.",
        f"Then run it again and watch it: {_sync_cmd(f.account or 'main')}.",
    )


def _sync_stale(f: Finding, _r: StatusReport | None) -> Steps:
    rid = f.subject or "RUN-ID"
    return (
        "The row is left over from a sync that died; MagFlow's cancel and cleanup endpoints "
        "are broken, so mark it in SQL:",
        f"UPDATE app.emag_sync_logs SET status = 'failed', completed_at = (now() AT TIME ZONE "
        f"'utc') WHERE id = '{rid}';",
    )


def _both_applies(f: Finding, r: StatusReport | None) -> bool:
    """The status report found beat and worker alive: the ``both`` default is the cause."""
    return r is not None and any(
        g.code == "product_sync_both_noop" and g.account == f.account for g in r.findings
    )


def _no_success(f: Finding, r: StatusReport | None) -> Steps:
    acct = f.account or "main"
    if _both_applies(f, r):
        return (
            "Beat and the worker are alive: beat's hourly emag.sync_products runs with "
            "account_type='both', which persists nothing (no products, no sync-log row); "
            "that, not the schedule, is why no success is recorded.",
            f"Trigger {acct} on its own and watch it: {_sync_cmd(acct)}; "
            "the other account the same way.",
        )
    return (
        "Scheduled syncs need beat, and beat needs a healthy worker: check the containers "
        "and beat's heartbeat.",
        f"Run one now and watch it: {_sync_cmd(acct)}.",
    )


def _both_noop(f: Finding, _r: StatusReport | None) -> Steps:
    acct = f.account or "main"
    return (
        f"Trigger the account on its own and watch it: {_sync_cmd(acct)} (then the other account).",
        "Beat's hourly entry keeps account_type='both' (MagFlow's schedule): until MagFlow "
        f"splits it, run `{CLI} sync --account main` and `--account fbe` on a schedule of "
        "your own (cron).",
    )


# --------------------------------------------------------------------------- celery and redis


def _beat_gated(f: Finding, _r: StatusReport | None) -> Steps:
    if f.severity != "critical":
        return (
            "The worker is only busy: once its task ends and a ping succeeds, beat can start; "
            f"check again then (`{CLI} containers`).",
        )
    return (
        "Make the worker healthy first (its own finding says why); beat then starts by itself.",
    )


def _backlog(f: Finding, _r: StatusReport | None) -> Steps:
    if f.severity == "info":
        return ("The worker is busy with a task within its limit: the queue drains when it ends.",)
    return (
        f"Is the worker consuming? Its container and log (`{CLI} logs worker --tail 100`), and "
        "its CELERY_BROKER_URL (queue 'default' on the same Redis db as beat's).",
        f"If it is stuck: `{CLI} restart worker`.",
    )


_REDIS_MEMORY = (
    "See what fills Redis: `redis-cli --bigkeys` in the redis container (results expire after "
    "24 h; the login cache and eMAG caches count too).",
    "Raise maxmemory in the redis service's command (256mb in the main stack), or use a "
    "policy that spares keys without a TTL such as the broker's (volatile-lru); recreating "
    "redis loses its data, queued tasks included.",
)


def _orders_stale(f: Finding, _r: StatusReport | None) -> Steps:
    acct = f.account or "main"
    return (
        f"Read the worker's log for emag.sync_orders (`{CLI} logs worker --tail 200`): an eMAG "
        f"error for {acct} (credentials, 5xx, 429) shows there.",
        "If no order sync runs at all, beat or the worker is down: see the heartbeat finding. "
        "The HTTP order sync (POST /api/v1/emag/orders/sync) runs one by hand.",
    )


def _orders_unacked(f: Finding, _r: StatusReport | None) -> Steps:
    acct = f.account or "main"
    return (
        "emag.auto_acknowledge_orders runs every 600 s through beat and the worker: check the "
        f"heartbeat, and the worker's log (`{CLI} logs worker --tail 200`) for its errors for "
        f"{acct}.",
        "It changes the orders' state on eMAG (new -> in progress): check the account's eMAG "
        "credentials before forcing it; until then the orders stay new on eMAG.",
    )


# --------------------------------------------------------------------------- admins


def _bad_hash(f: Finding, _r: StatusReport | None) -> Steps:
    email = f.subject or "EMAIL"
    return (
        f"Set a new password (bcrypt $2b$, cost 12; also clears the Redis login cache): "
        f"`{CLI} admin reset-password {email}`; TUI: a, then P.",
        "A script that writes other hashes (see the stack sheet, §5) is the usual cause.",
    )


def _without_role(f: Finding, _r: StatusReport | None) -> Steps:
    email = f.subject or "EMAIL"
    return (
        "Link the role (the stack sheet's safe insert):",
        "INSERT INTO app.user_roles (user_id, role_id) SELECT u.id, r.id FROM app.users u, "
        f"app.roles r WHERE u.email = '{email}' AND r.name = 'admin' ON CONFLICT DO NOTHING;",
    )


def _failed_logins(f: Finding, _r: StatusReport | None) -> Steps:
    email = f.subject or "EMAIL"
    return (
        "A wrong password, a form-encoded login (MagFlow wants JSON), or a stale Redis login "
        "cache (10 min after a password change made in SQL).",
        f"To start clean: `{CLI} admin reset-password {email}` (new password, counter to 0, "
        "cache cleared).",
    )


# --------------------------------------------------------------------------- environment

_RECREATE = (
    "Then recreate the containers so they read it: `docker compose up -d app worker` in the "
    "MagFlow checkout (a restart keeps the old environment)."
)


def _credentials_missing(f: Finding, _r: StatusReport | None) -> Steps:
    acct = (f.account or "main").upper()
    return (
        f"Set the missing EMAG_{acct}_USERNAME / EMAG_{acct}_PASSWORD in .env.docker (the "
        "values never pass through this console); the checkout's .env is not enough: the "
        "product sync reads the container's environment only.",
        _RECREATE,
        f"Check it with `{CLI} doctor`, then {_sync_cmd(f.account or 'main')}.",
    )


def _target_split(f: Finding, _r: StatusReport | None) -> Steps:
    acct = (f.account or "main").upper()
    return (
        f"Pick one target for the account: set EMAG_{acct}_BASE_URL in .env.docker (e.g. "
        "https://marketplace-api.emag.ro/api-3), or EMAG_ENVIRONMENT=production.",
        _RECREATE,
    )


def _dotenv_unreadable(f: Finding, _r: StatusReport | None) -> Steps:
    return (
        f"Look at the file the console could not read: `docker exec {f.subject or 'magflow_app'} "
        "ls -l /app/.env` (the checkout's .env, bind-mounted at /app).",
        "Until it is read, the settings it may hold are not judged.",
    )


# --------------------------------------------------------------------------- logs


def _logs_of(f: Finding) -> str:
    name = f.subject or "CONTAINER"
    return f"its log (TUI: enter on {name}; or `{CLI} logs {name} --tail 200`)"


def _entrypoint_db(f: Finding, r: StatusReport | None) -> Steps:
    return (
        f"Is the db container healthy? `{CLI} containers`; the entrypoint uses the app's "
        "DATABASE_URL (host `db`, port 5432 inside the network).",
        f"Once the database answers: `{CLI} restart {_service_of(f, r)}`.",
    )


def _entrypoint_init(f: Finding, r: StatusReport | None) -> Steps:
    return (
        "The data volume is empty (no app.users): restore a dump into it; MagFlow's "
        "init script does not exist, and a fresh `alembic upgrade head` cannot succeed.",
        f"Then `{CLI} restart {_service_of(f, r)}`.",
    )


def _entrypoint_migration(f: Finding, r: StatusReport | None) -> Steps:
    if from_older_image(f):
        return (
            "The image was built before MagFlow's entrypoint fix (2025-10-22) and the "
            "entrypoint is copied into the image at build time (a `git pull` does not change "
            "it): rebuild the image in the MagFlow checkout so the new entrypoint, with its "
            "retry logic, is copied in: `docker compose build app worker beat`.",
            "Then restart them on the new image: `docker compose up -d app worker beat` (a "
            "plain restart keeps the old image, and its old entrypoint).",
            "The rebuild does not fix the migration itself: Alembic's error is the last line "
            "of its traceback in " + _logs_of(f) + f"; `{CLI} migrations` shows what Alembic sees.",
        )
    return (
        f"See what Alembic sees: `{CLI} migrations` (several heads, an unknown stamp, a "
        "missing parent).",
        "Alembic's own error is in "
        + _logs_of(f)
        + "; on the race path the entrypoint discards it: run `alembic upgrade head` in the "
        "app container to see it.",
        f"Once fixed: `{CLI} restart {_service_of(f, r)}`.",
    )


def _entrypoint_race(f: Finding, _r: StatusReport | None) -> Steps:
    return (
        f"Compare the stamp with the heads: `{CLI} migrations`; if migrations are pending, "
        f"`{CLI} migrate` applies them under the lock.",
        "If it says up to date, the hidden error may be a genuine 'already exists': run "
        "`alembic upgrade head` in the app container to see it.",
    )


REMEDIES: dict[str, Remedy] = {
    # containers
    "container_missing": _missing,
    "container_crash_loop": _crash_loop,
    "container_down": _down,
    "container_paused": lambda f, _r: (f"`docker unpause {f.subject or 'CONTAINER'}`.",),
    "container_unhealthy": _unhealthy,
    "container_restarted": _fixed(
        "No action if it is stable now; its logs around the restarts tell why (TUI: enter on it)."
    ),
    "beat_gated_by_worker": _beat_gated,
    # database
    "database_unreachable": _fixed(
        f"Is the db container up? `{CLI} containers`.",
        f"Check the URL and user the console uses (`{CLI} info`, passwords masked): the main "
        "compose file publishes PostgreSQL on host port 5433; a PgBouncer in front listens "
        "on 6432.",
    ),
    "schema_empty": _fixed(
        "The database was never initialised: restore a dump or initialise it the way the "
        "deployment does (a fresh `alembic upgrade head` fails on MagFlow)."
    ),
    # migrations
    "pending_migrations": _pending,
    "multiple_heads": _multiple_heads,
    "multiple_roots": _fixed(
        "Chain the extra roots to the real root, or merge them, in the MagFlow repository."
    ),
    "missing_parent": _fixed(
        "Set the file's down_revision to the parent's revision id (not its file name)."
    ),
    "duplicate_revision": _fixed(
        "Give one of the files a new revision id and update its children's down_revision."
    ),
    "cycle": _fixed("Fix the down_revision values so that the history has no loop."),
    "revision_id_too_long": _fixed(
        "Shorten the id to at most 32 characters (in the file and in its children's "
        "down_revision) before it is applied."
    ),
    "invalid_revision_id": _fixed("Rename the id to letters, digits and underscores only."),
    "docstring_mismatch": _fixed(
        "Cosmetic: correct the docstring's Revision ID / Revises lines; Alembic uses the code."
    ),
    "unknown_current_revision": _unknown_current,
    "version_table_missing": _version_table_missing,
    "version_table_ambiguous": _fixed(
        "The app reads app.alembic_version; once you have checked the other table is not "
        "newer, drop it."
    ),
    "migration_in_progress": _lock_held,
    # API
    "api_unreachable": _fixed(
        f"Is the app container running? `{CLI} containers`.",
        f"Check `api.url` (`{CLI} info`): the app listens on 8000 in its container, published "
        "as 8000 by the main and CI compose files (8001 in the simple variant).",
    ),
    "redis_unreachable": _fixed(
        f"Is the redis container running? `{CLI} containers` (it has no volume in the main "
        "stack: a restart empties the queue and the login cache).",
        "A refused password: the worker's CELERY_BROKER_URL, REDIS_URL and Redis's "
        f"requirepass must agree (`{CLI} logs redis`).",
        f"Check the URL the console reads (`{CLI} info`, `redis.url`): port 6379 on the main "
        "stack, 6380 in the simple variant.",
    ),
    "api_check_unhealthy": _api_check,
    # the demo's missing parts (information)
    "containers_absent": _fixed(
        "The demo runs without MagFlow's containers. To see a real stack's next to the demo "
        f"database: `{CLI} demo --docker-host URL` (an engine that runs one)."
    ),
    "redis_absent": _fixed(
        "The demo runs without Redis, so Celery's state cannot be read. To see a real one: "
        f"`{CLI} demo --redis-url redis://...` (the demo's API then pings it too)."
    ),
    "api_rate_limited": _fixed(
        "Fewer pollers: every console polls each health path once per refresh (api."
        "min_interval, 5 s at least); close consoles you do not watch, or raise the interval.",
        "The console backs off to one poll a minute while a path answers 429, and never "
        "polls /health/full unless asked (F on the dashboard).",
    ),
    "app_blind_healthcheck": _fixed(
        "Do not trust the app container's health: its probe is static; the API checks above "
        "are the real state."
    ),
    # admins
    "admin_none_usable": _fixed(
        f"Create one: `{CLI} admin create EMAIL` (bcrypt $2b$ cost 12, role admin linked); "
        "TUI: a, then A.",
        "admin@magflow.local is re-provisioned with the default password at every app start "
        "while AUTO_PROVISION_DEV_ADMIN is on: use another email for a real admin.",
    ),
    "admin_bad_hash": _bad_hash,
    "admin_without_role": _without_role,
    "admin_failed_logins": _failed_logins,
    "admin_unreadable": _fixed(
        "Timed out: a lock on app.users (a migration, a long transaction) holds the read; "
        f"`{CLI} status` lists the long transactions and who holds the migration lock.",
        "A value the console cannot load (a last_login or created_at of 'infinity' or past "
        "the year 9999): SELECT id, email, last_login, created_at FROM app.users WHERE NOT "
        "isfinite(last_login) OR NOT isfinite(created_at) OR greatest(last_login, "
        "created_at) >= '10000-01-01'; then set a real time (NULL for a last_login).",
        f"Until then no admin finding can be made; `{CLI} admin list` says the same error.",
    ),
    # sync
    "sync_completed_with_errors": _sync_errors,
    "sync_completed_empty": _sync_empty,
    "sync_failed": _sync_failed,
    "sync_stale_running": _sync_stale,
    "sync_no_recent_success": _no_success,
    "product_sync_both_noop": _both_noop,
    # celery and redis
    "worker_busy": _fixed(
        "Nothing is wrong: let the task finish (a product sync may take up to 600 s); its "
        f"progress is in the worker's log (`{CLI} logs worker --tail 50`).",
        "Do not restart the worker for this: the task would be cut off and, with acks_late, "
        "run again from the start.",
    ),
    "worker_task_overrun": _fixed(
        f"See what it waits on: the worker's log (`{CLI} logs worker --tail 100`) and long "
        f"transactions in `{CLI} status` (a lock on the sync tables).",
        f"If it hangs: `{CLI} restart worker`; the message may be delivered again (acks_late), "
        f"so check the sync-log rows afterwards (`{CLI} sync-logs`).",
    ),
    "beat_heartbeat_stale": _fixed(
        f"Read beat's log (`{CLI} logs beat --tail 50`): a live beat logs 'Sending due task "
        "maintenance.heartbeat' every interval; its container's health proves nothing.",
        f"If beat sends nothing: `{CLI} restart beat`. If it sends and no result appears, the "
        f"worker does not consume: its container and log (`{CLI} logs worker --tail 100`).",
    ),
    "beat_heartbeat_delayed": _fixed(
        "Nothing to do while the worker's task runs within its limit: the heartbeat shows "
        "again when it ends (past 600 s, the overrun finding says what to do).",
    ),
    "celery_retry_scheduled": _fixed(
        "Nothing to do before the retry: the same work runs again at the time shown; this "
        f"attempt's error is in the message and the worker's log (`{CLI} logs worker`).",
        "If the error is not transient (credentials, a bad request), fix it first: the retry "
        "would fail the same way.",
    ),
    "celery_backlog": _backlog,
    "celery_task_failures": _fixed(
        f"The exception is in the message; the traceback is in the worker's log (`{CLI} logs "
        "worker --tail 200`).",
        "Repeated eMAG errors on one account (5xx, 429, credentials) are the usual cause: "
        f"`{CLI} doctor` checks the EMAG_* settings.",
    ),
    "redis_evicting": lambda _f, _r: _REDIS_MEMORY,
    "redis_memory_high": lambda _f, _r: _REDIS_MEMORY,
    "redis_restarted": _fixed(
        "The queued and running Celery work was lost: trigger the syncs that matter again "
        f"(`{CLI} sync --account main`, then fbe); beat re-sends its own tasks on schedule.",
        "Logins cached in Redis were lost too. Why it restarted (an OOM kill, a host reboot): "
        f"`{CLI} logs redis --tail 50`.",
    ),
    # orders
    "orders_sync_stale": _orders_stale,
    "orders_unacknowledged": _orders_unacked,
    # environment
    "emag_credentials_missing": _credentials_missing,
    "emag_target_split": _target_split,
    "emag_sandbox": _fixed(
        "Intended on a test stack; for the marketplace, clear or change the account's "
        "EMAG_<ACCOUNT>_BASE_URL in .env.docker.",
        _RECREATE,
    ),
    "emag_health_credentials_differ": _fixed(
        "Judge the syncs by their own results (`magflow-console sync-logs`), not by "
        "/api/v1/emag/health: it checks other credentials.",
        "To make it check the syncs' account, drop EMAG_USERNAME / EMAG_PASSWORD (from "
        ".env.docker or the checkout's .env) or give them the EMAG_MAIN_ values.",
    ),
    "emag_health_target_differs": _fixed(
        "Judge the syncs by their own results (`magflow-console sync-logs`), not by "
        "/api/v1/emag/health: it checks another host.",
        "To make it check the syncs' host, set EMAG_ENVIRONMENT (or EMAG_BASE_URL) to match "
        "in .env.docker.",
        _RECREATE,
    ),
    "redis_cache_host_unset": _fixed(
        "Set REDIS_HOST=redis (and REDIS_PASSWORD) in .env.docker for the cache service.",
        _RECREATE,
    ),
    "redis_cache_password_unset": _fixed(
        "Set REDIS_PASSWORD in .env.docker to the redis container's --requirepass (the "
        "password in REDIS_URL).",
        _RECREATE,
    ),
    "dotenv_unreadable": _dotenv_unreadable,
    "secret_file_readable": lambda f, _r: (
        f"`chmod 600 {f.subject or 'FILE'}` as its owner: the console reads it as that user, "
        "nothing else needs it.",
        "If other users could read it for a while, change the password it holds (or the one "
        "in the secret file it names).",
    ),
    "dev_admin_autoprovision": _fixed(
        "Use another email for a real admin, or set AUTO_PROVISION_DEV_ADMIN=false in "
        ".env.docker (then recreate the app).",
    ),
    # logs
    "entrypoint_db_timeout": _entrypoint_db,
    "entrypoint_init_failed": _entrypoint_init,
    "entrypoint_migration_failed": _entrypoint_migration,
    "entrypoint_race_accepted": _entrypoint_race,
    "entrypoint_waiting_db": _fixed(
        f"The entrypoint tries 30 times, 2 s apart: is the db container healthy? `{CLI} containers`."
    ),
    "logs_unreadable": lambda f, _r: (
        f"`docker logs --tail 100 {f.subject or 'CONTAINER'}` on the Docker host shows it; a "
        "logging driver other than json-file or journald keeps no log the engine can return.",
    ),
    "log_missing_credentials": _credentials_missing,
    "log_background_sync_failed": lambda f, _r: (
        "The exception is in the lines just before it in " + _logs_of(f) + ".",
        f"Run it again synchronously to see the error: {_sync_cmd(f.account or 'main')}.",
    ),
    "log_product_sync_failed": lambda f, _r: (
        "The cause follows 'Product sync failed:' in " + _logs_of(f) + ".",
        f"`{CLI} sync-logs --status failed` lists the runs that did leave a row.",
    ),
    "log_transaction_aborted": lambda f, _r: (
        "The first error before 'current transaction is aborted' in "
        + _logs_of(f)
        + " is the real one (a constraint, a bad value).",
        f"Check what was persisted: `{CLI} sync-logs`.",
    ),
    "log_naive_aware_datetime": _fixed(
        "A known MagFlow bug (its cancel and cleanup endpoints): do not use them; fix stuck "
        f"rows in SQL (`{CLI} doctor` shows the statement for each)."
    ),
    "log_missing_greenlet": _fixed(
        "An app bug (lazy loading in async code): report it with the log lines; restarting "
        "does not fix it."
    ),
    "log_event_loop": lambda f, _r: (
        f"Restart the worker if its tasks keep failing: `{CLI} restart worker`.",
        "The task that hit it has no usable result: trigger it again.",
    ),
    "log_redis_fallback": _fixed(
        f"Check the redis container (`{CLI} containers`) and REDIS_URL / its password.",
    ),
    "log_google_sheets": _fixed(
        "Supplier import only (not eMAG): check the Google service-account file the app is "
        "configured with and that the sheet is shared with it."
    ),
    "pg_password_rejected": lambda f, _r: (
        "Find which client (its container's log, or the db log's connection lines) and "
        "compare its DATABASE_URL with the password the database really has: "
        "POSTGRES_PASSWORD in .env.docker is read only when the volume is first "
        "initialised, so changing it later changes nothing.",
        "To change the database's password: `ALTER USER <user> PASSWORD '...'` in psql "
        "(then update every DATABASE_URL and recreate the containers).",
    ),
    "pg_too_many_connections": _fixed(
        f"See who holds them: `{CLI} status` (long transactions), or pg_stat_activity "
        "grouped by application_name; a crash-looping worker or a pool per process can "
        "exhaust max_connections."
    ),
    "pg_data_incompatible": _fixed(
        "The image's PostgreSQL major version differs from the one that created the volume: "
        "pin the image back (postgres:16), or dump with the old version and restore into "
        "a fresh volume (pg_upgrade); never delete the volume to 'fix' it."
    ),
    "pg_panic": lambda f, _r: (
        "The PANIC line says why (a full disk, a corrupt WAL): read " + _logs_of(f) + ".",
        "Free the disk or restore from a dump before restarting the db; a restart loop on a "
        "corrupt WAL writes nothing useful.",
    ),
    "disk_full": _fixed(
        "Free space on the Docker host (`docker system df`; old images, the json-file "
        "logs, the postgres_data volume), then restart what stopped."
    ),
    "redis_rdb_format": lambda f, r: (
        "The dump.rdb in the Redis data directory comes from a newer Redis (a volume shared "
        "with another stack, or an image that went back): move that file away; the main "
        "stack keeps nothing there that it needs (no AOF, the broker's queue is "
        "re-filled by beat).",
        f"Then `{CLI} restart {_service_of(f, r)}`.",
    ),
    "redis_oom": _fixed(
        "Redis is at maxmemory (256 MB on the main stack): queued Celery tasks and results "
        "count; check for a result backlog (results expire after 24 h) before raising it."
    ),
    "redis_misconf": _fixed(
        "Redis cannot write its RDB snapshot (disk full or a read-only directory): fix the "
        "disk, or turn snapshots off (`CONFIG SET save ''`) on a stack that does not need them."
    ),
    "redis_auth_failed": _fixed(
        "Compare the password in REDIS_URL / CELERY_BROKER_URL (.env.docker) with the "
        "redis container's --requirepass; recreate app, worker and beat after changing it."
    ),
    "log_import_error": _fixed(
        "Do not use MagFlow's root CLI sync scripts (most import removed modules): trigger "
        f"syncs with `{CLI} sync`."
    ),
    "sync_in_progress": _fixed(
        "A sync is probably running: wait for it before triggering another (the console "
        "refuses a second one)."
    ),
}


def next_steps(finding: Finding, report: StatusReport | None = None) -> Steps:
    """The next steps for ``finding``; an unknown code gets a pointer to its message."""
    remedy = REMEDIES.get(finding.code)
    if remedy is None:
        return ("No specific advice for this finding yet: its message says what is wrong.",)
    return remedy(finding, report)
