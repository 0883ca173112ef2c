"""Run Alembic migrations on the profile's database, safely.

Strategies (``profile.alembic.strategy``):
- ``container`` (a real stack): ``alembic upgrade <target>`` inside the app container by
  Docker exec, in ``alembic.container_workdir``, so the app's own env.py (and its
  ``DATABASE_URL``) does the work; the console passes no secret to it.
- ``local`` (the reference schema, the demo): Alembic's ``command.upgrade`` with the local
  script folder, holding the migration lock on a dedicated connection (see
  :mod:`magflow_console.actions.migrate_local` for the lock decision).

``plan_migrate`` is the pre-flight shown before confirmation: the pending revisions in
apply order, or a refusal (multiple heads without an explicit target, an unknown current
revision, no version table on a non-empty schema, the migration lock held, the database
or the scripts unreadable). Nothing pending gives a plan with ``params["noop"]``.

The run streams every output line through ``ctx.emit`` (secrets masked), then re-reads
the database and reports the current revision(s) and what is still pending. A failure
names the revision that failed (the last ``Running upgrade X -> Y`` line) and the
exception's last line; the full output goes to ``ActionResult.data["output"]`` and a log
file under the state directory, never a traceback in the message. An optional backup
(``pg_dump``) runs first; its failure aborts the migration. No Textual import.
"""

from __future__ import annotations

import io
import os
import re
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from magflow_console import paths
from magflow_console.actions.containers import docker_client, exec_stream
from magflow_console.actions.guard import ActionContext, ActionPlan, ActionRefused, ActionResult
from magflow_console.actions.migrate_local import (
    BackupError,
    LockHeld,
    describe_holders,
    env_accepts_connection,
    local_backup,
    run_local_upgrade,
)
from magflow_console.models import utcnow
from magflow_console.render.text import scrub

if TYPE_CHECKING:
    from magflow_console.backend import Backend

_RUNNING = re.compile(r"Running upgrade (?P<src>.*?) -> (?P<dst>[^,\s]+)")
_EXC_LINE = re.compile(
    r"^(?P<name>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Failure)|FAILED): (?P<msg>.+)$"
)


@dataclass(frozen=True)
class OutputSummary:
    started: tuple[str, ...]  # revisions whose "Running upgrade" line was seen, in order
    error: str | None  # the exception's last line, if any


def summarize_output(lines: Sequence[str]) -> OutputSummary:
    """Revisions Alembic started and the last exception line of its output."""
    started = tuple(m.group("dst") for ln in lines if (m := _RUNNING.search(ln)))
    errors = [ln.strip() for ln in lines if _EXC_LINE.match(ln.strip())]
    return OutputSummary(started, errors[-1] if errors else None)


def _join(revs: Sequence[str]) -> str:
    return ", ".join(revs) if revs else "no revision"


# --------------------------------------------------------------------------- plan


def plan_migrate(
    ctx: ActionContext, backend: Backend, target: str | None = None, backup: bool = False
) -> ActionPlan:
    """Pre-flight: what ``alembic upgrade`` would apply, or ``ActionRefused`` (audited)."""
    from magflow_console.sources import alembic_graph as ag

    profile = ctx.profile
    strategy = profile.alembic.strategy
    tgt = target or "head"
    params: dict[str, Any] = {"strategy": strategy, "target": tgt, "backup": backup}
    plan = ActionPlan("migrate", f"alembic upgrade {tgt}", (), params)
    ctx.check_allowed(plan)

    if strategy == "container":
        # also connects the read side's Docker client, which reads the scripts
        _require_running(ctx, backend, plan, app_container(ctx))
        if backup:
            _require_running(ctx, backend, plan, db_container(ctx))
    db = backend.database()
    if db.state == "error":
        raise ctx.refuse(plan, f"The database state cannot be read: {db.error}")
    mig = backend.migrations(db)
    if mig.state == "error":
        raise ctx.refuse(plan, f"The migration scripts cannot be read: {mig.error}")
    params["scripts"] = mig.scripts_location
    held = [h for h in db.lock_holders if h.granted]
    if held:
        raise ctx.refuse(plan, f"A migration is in progress: {describe_holders(held)}.")
    for finding in mig.problems:
        if finding.code in ("version_table_missing", "unknown_current_revision") and (
            finding.severity == "critical"
        ):
            raise ctx.refuse(plan, finding.message)
    if len(mig.heads) > 1 and target is None:
        raise ctx.refuse(
            plan,
            f"The migrations have {len(mig.heads)} heads ({_join(mig.heads)}): 'alembic upgrade "
            "head' would fail; merge them first or name a target with --to.",
        )
    graph = backend.script_graph()
    current = tuple(db.current_revisions)
    try:
        pending = ag.pending_for_target(graph, current, tgt)
    except ValueError as exc:
        raise ctx.refuse(plan, str(exc)) from None
    params.update(current=",".join(current), pending=",".join(pending), noop=not pending)

    if strategy == "local":
        scripts = profile.alembic.scripts
        if scripts is None:
            raise ctx.refuse(plan, "The local strategy needs alembic.scripts (or --scripts).")
        if not backend.db_url:
            raise ctx.refuse(plan, "No database URL is configured for this profile.")
        if pending and not env_accepts_connection(Path(scripts).expanduser()):
            raise ctx.refuse(
                plan,
                f"{Path(scripts) / 'env.py'} does not use a connection handed over in "
                "config.attributes['connection'], so the console cannot hold the migration "
                "lock for it (its own lock would wait forever); use the container strategy.",
            )
        where = f"{db_target(backend)} with scripts {Path(scripts).expanduser()}"
        operation = f"alembic upgrade {tgt} on {where}, holding the migration lock"
    else:
        name = app_container(ctx)
        params["container"] = name
        operation = (
            f"alembic upgrade {tgt} in container {name} "
            f"(workdir {profile.alembic.container_workdir})"
        )

    if not pending:
        changes: tuple[str, ...] = (f"nothing: the database is already at {_join(current)}",)
        return ActionPlan("migrate", operation, changes, params)
    changes = tuple(
        f"apply {rid}" + (f" ({graph.by_id[rid].message})" if graph.by_id[rid].message else "")
        for rid in pending
    )
    changes = (f"database now at {_join(current)}", *changes)
    if backup:
        how = "in container " + db_container(ctx) if strategy == "container" else "locally"
        changes = (f"first: pg_dump backup of the database ({how})", *changes)
    warnings = tuple(
        f.message
        for f in mig.problems
        if f.severity == "critical" and f.code not in ("multiple_heads",)
    )
    if not backup:
        warnings += ("No backup is taken first (add --backup).",)
    return ActionPlan("migrate", operation, changes, params, warnings)


def is_noop(plan: ActionPlan) -> bool:
    return bool(plan.params.get("noop"))


def db_target(backend: Backend) -> str:
    from magflow_console.sources.pg_conn import SourceError, describe_target, parse_url

    try:
        return describe_target(parse_url(backend.db_url or ""))
    except SourceError:
        return "the database"


def app_container(ctx: ActionContext) -> str:
    service = ctx.profile.alembic.container_service
    return ctx.profile.docker.services.get(service, f"magflow_{service}")


def db_container(ctx: ActionContext) -> str:
    return ctx.profile.docker.services.get("db", "magflow_db")


def _require_running(ctx: ActionContext, backend: Backend, plan: ActionPlan, name: str) -> None:
    info = backend.container_detail(name)
    if info is None:
        why = backend.docker.last_error or "not found"
        raise ctx.refuse(plan, f"Container {name} cannot be inspected: {why}")
    if info.state != "running":
        raise ctx.refuse(plan, f"Container {name} is {info.state}, not running.")


# --------------------------------------------------------------------------- backup


def backup_path(ctx: ActionContext, backend: Backend) -> Path:
    from magflow_console.sources.pg_conn import SourceError, parse_url

    try:
        dbname = parse_url(backend.db_url or "").database or "magflow"
    except SourceError:
        dbname = "magflow"
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%fZ")
    return paths.state_dir() / "backups" / f"{ctx.profile_name}-{dbname}-{stamp}.dump"


def container_backup(ctx: ActionContext, backend: Backend, dest: Path) -> Path:
    """``pg_dump -Fc`` inside the db container, copied out with ``get_archive``."""
    from magflow_console.sources.pg_conn import parse_url

    url = parse_url(backend.db_url) if backend.db_url else None
    user = (url.username if url else None) or "app"
    dbname = (url.database if url else None) or "magflow"
    name = db_container(ctx)
    remote = f"/tmp/magflow-console-{dest.stem}.dump"
    cmd = ["pg_dump", "-U", user, "-d", dbname, "-Fc", "-f", remote]
    ctx.emit(f"{name}: {' '.join(cmd)}")
    client = docker_client(ctx.profile, timeout=3600)
    try:
        code, lines = exec_stream(client, name, cmd, on_line=lambda _s, ln: ctx.emit(scrub(ln)))
        if code != 0:
            last = [ln for ln in lines if ln.strip()]
            why = scrub(last[-1]) if last else f"exit code {code}"
            raise BackupError(f"pg_dump in {name} exited with {code}: {why}")
        stream, _stat = client.api.get_archive(name, remote)
        data = b"".join(stream)
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            member = next((m for m in archive.getmembers() if m.isfile()), None)
            extracted = archive.extractfile(member) if member is not None else None
            if extracted is None:
                raise BackupError(f"the dump file {remote} was not found in {name}")
            payload = extracted.read()
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(payload)
        exec_stream(client, name, ["rm", "-f", remote])
    except BackupError:
        raise
    except Exception as exc:
        why = scrub(str(getattr(exc, "explanation", None) or exc).splitlines()[0])
        raise BackupError(f"backup through {name} failed: {why}") from None
    finally:
        client.close()
    return dest


# --------------------------------------------------------------------------- run


def migrate_runner(
    ctx: ActionContext, backend: Backend, plan: ActionPlan
) -> Callable[[], ActionResult]:
    """The callable to hand to ``ctx.execute(plan, run)`` (runs in the caller's thread)."""

    def run() -> ActionResult:
        return _run(ctx, backend, plan)

    return run


def execute_migrate(ctx: ActionContext, backend: Backend, plan: ActionPlan) -> ActionResult:
    """Run a confirmed plan, guarded and audited by ``ctx.execute``."""
    return ctx.execute(plan, migrate_runner(ctx, backend, plan))


def _run(ctx: ActionContext, backend: Backend, plan: ActionPlan) -> ActionResult:
    from magflow_console.sources import alembic_graph as ag

    p = plan.params
    target = str(p["target"])
    before = tuple(r for r in str(p.get("current", "")).split(",") if r)
    if is_noop(plan):
        return ActionResult(True, f"Nothing to do: the database is already at {_join(before)}.")
    output: list[str] = []

    def emit(line: str) -> None:
        line = scrub(line)
        output.append(line)
        ctx.emit(line)

    data: dict[str, Any] = {"before": list(before)}
    details: list[str] = []
    if p.get("backup"):
        dest = backup_path(ctx, backend)
        try:
            if p["strategy"] == "container":
                saved = container_backup(ctx, backend, dest)
            else:
                saved = local_backup(backend.db_url or "", dest, emit)
        except BackupError as exc:
            return ActionResult(False, f"Backup failed, migration not attempted: {exc}.",
                                tuple(output[-5:]), {"output": output})  # fmt: skip
        data["backup_path"] = str(saved)
        details.append(f"backup: {saved}")
        emit(f"Backup written to {saved}")

    error: str | None
    if p["strategy"] == "local":
        graph = backend.script_graph()
        try:
            outcome = run_local_upgrade(
                backend.db_url or "",
                Path(str(ctx.profile.alembic.scripts)).expanduser(),
                target,
                schema=ctx.profile.database.db_schema,
                still_pending=lambda cur: ag.pending_for_target(graph, cur, target),
                emit=emit,
                connect_timeout=ctx.profile.database.connect_timeout,
            )
        except LockHeld as exc:
            raise ActionRefused(f"A migration is in progress: {exc}.") from None
        if outcome.nothing_to_do:
            return ActionResult(
                True,
                f"Nothing to do: the database is already at {_join(outcome.before)} "
                "(another migration got there first).",
                tuple(details),
                {**data, "before": list(outcome.before), "nothing_to_do": True},
            )
        before = outcome.before or before
        success, error = outcome.ok, outcome.error
        exit_code = 0 if outcome.ok else 1
    else:
        name = str(p["container"])
        workdir = ctx.profile.alembic.container_workdir
        cmd = ["alembic", "upgrade", target]
        emit(f"{name}: {' '.join(cmd)} (workdir {workdir})")
        client = docker_client(ctx.profile, timeout=3600)
        try:
            exit_code, _lines = exec_stream(
                client, name, cmd, workdir=workdir, on_line=lambda _s, ln: emit(ln)
            )
        finally:
            client.close()
        success = exit_code == 0
        error = summarize_output(output).error
        if not success and error is None:
            error = f"alembic exited with code {exit_code}"

    summary = summarize_output(output)
    after, left, reread_error = _reread(backend, target)
    log_path = _write_log(ctx, output)
    data.update(output=output, exit_code=exit_code, started=list(summary.started),
                after=list(after), pending_left=list(left), log_path=str(log_path))  # fmt: skip
    details += [f"database now at {_join(after)}",
                f"pending: {_join(left) if left else 'none'}",
                f"full output: {log_path}"]  # fmt: skip

    if reread_error is not None:
        data["reread_error"] = reread_error
        verdict = "alembic succeeded" if success else f"alembic failed: {error}"
        return ActionResult(
            success,
            f"{verdict}, but the database could not be read again to confirm: {reread_error}",
            (*details[:-3], f"full output: {log_path}"), data,
        )  # fmt: skip
    if success and not left:
        applied = [r for r in summary.started] or list(str(p.get("pending", "")).split(","))
        data["applied"] = applied
        return ActionResult(
            True, f"Migrated to {_join(after)}: applied {len(applied)} revision(s).",
            (f"applied: {_join(applied)}", *details), data,
        )  # fmt: skip
    if success:
        return ActionResult(
            False,
            f"alembic reported success but {len(left)} revision(s) are still pending; the "
            f"database is at {_join(after)} (does the app's env.py use another database?).",
            tuple(details), data,
        )  # fmt: skip
    failed = summary.started[-1] if summary.started else None
    data.update(failed_revision=failed, error=error)
    where = f"at revision {failed}" if failed else "before any revision ran"
    state = (
        f"the database is unchanged at {_join(after)} (rolled back)"
        if sorted(after) == sorted(before)
        else f"the database is now at {_join(after)} (was {_join(before)})"
    )
    return ActionResult(False, f"Migration failed {where}: {error}; {state}.", tuple(details), data)


def _reread(backend: Backend, target: str) -> tuple[tuple[str, ...], tuple[str, ...], str | None]:
    """(current revisions, still pending for ``target``, error) read again after the run."""
    from magflow_console.sources import alembic_graph as ag

    db = backend.database()
    if db.state == "error":
        return (), (), db.error or "unknown error"
    current = tuple(db.current_revisions)
    try:
        return current, ag.pending_for_target(backend.script_graph(), current, target), None
    except Exception as exc:
        return current, (), str(exc)


def _write_log(ctx: ActionContext, output: Sequence[str]) -> Path:
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%fZ")
    path = paths.state_dir() / "migrations" / f"migrate-{ctx.profile_name}-{stamp}.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("\n".join(output) + "\n")
    except OSError:
        pass
    return path
