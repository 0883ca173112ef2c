"""Trigger an eMAG product sync: Celery through Docker exec, or the API (sheet §6).

- ``celery``: ``celery -A app.worker:celery_app call emag.sync_products --kwargs {...}
  --queue default`` inside the worker container (Docker exec); its output streams to
  ``ctx.emit``;
- ``api``: JSON login, then ``POST /api/v1/emag/products/sync`` with the documented body;
  the token stays in memory, synchronous calls get a client timeout above 600 s.

Part of the sync action (``magflow_console.actions.sync``, which re-exports the public
names). Blocking work runs in the caller's thread. No Textual import.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from magflow_console import config as cfg
from magflow_console.actions.guard import ActionContext, ActionPlan, ActionRefused
from magflow_console.actions.sync_request import SyncRequest
from magflow_console.actions.sync_watch import worker_logs

TASK_NAME = "emag.sync_products"
CELERY_APP = "app.worker:celery_app"
QUEUE = "default"
LOGIN_PATH = "/api/v1/auth/login"
SYNC_PATH = "/api/v1/emag/products/sync"
#: the product sync's own limit is 600 s: a synchronous call must wait longer than that
SYNC_CALL_TIMEOUT = 660.0


def celery_argv(account: str, max_pages: int) -> list[str]:
    kwargs = {"account_type": account, "max_pages_per_account": max_pages}
    return [
        "celery", "-A", CELERY_APP, "call", TASK_NAME,
        "--kwargs", json.dumps(kwargs), "--queue", QUEUE,
    ]  # fmt: skip


def api_body(req: SyncRequest, account: str) -> dict[str, Any]:
    return {
        "account_type": account,
        "mode": req.mode,
        "max_pages": req.max_pages,
        "items_per_page": req.items_per_page,
        "include_inactive": req.include_inactive,
        "conflict_strategy": req.conflict_strategy,
        "run_async": req.run_async,
    }


def worker_name(ctx: ActionContext) -> str:
    return ctx.profile.docker.services.get("worker", "magflow_worker")


def docker_client(ctx: ActionContext) -> Any:
    """The actions' Docker client, with room for a Celery call in the worker (60 s+)."""
    from magflow_console.actions.containers import docker_client as client_for

    return client_for(ctx.profile, timeout=max(ctx.profile.docker.timeout, 60))


def check_worker(
    ctx: ActionContext, plan: ActionPlan, name: str, client: Any, warnings: list[str]
) -> None:
    try:
        c = client or docker_client(ctx)
        container = c.containers.get(name)
        state = container.attrs.get("State", {})
    except Exception as exc:
        raise ctx.refuse(
            plan, f"Cannot reach the worker container {name}: {type(exc).__name__}: {exc}"
        ) from None
    if state.get("Status") != "running":
        raise ctx.refuse(
            plan, f"The worker container {name} is {state.get('Status', 'unknown')}, not running."
        )
    health = (state.get("Health") or {}).get("Status")
    if health and health != "healthy":
        warnings.append(
            f"{name} is {health}: the task may wait in the queue until a worker consumes it."
        )


def trigger_celery(
    ctx: ActionContext, client: Any, req: SyncRequest, account: str
) -> tuple[bool, str, str | None]:
    """(enqueued, what happened, the task id ``celery call`` printed)."""
    name = worker_name(ctx)
    argv = celery_argv(account, int(req.max_pages or 0))
    ctx.emit(f"$ docker exec {name} {' '.join(argv[:5])} --kwargs '{argv[6]}' --queue {QUEUE}")
    container = client.containers.get(name)
    code, output = container.exec_run(argv, demux=False)
    lines = (output or b"").decode("utf-8", "replace").splitlines()
    for line in lines:
        ctx.emit(line)
    if code != 0:
        last = lines[-1] if lines else "no output"
        return False, f"celery call exited with {code} in {name}: {last}", None
    task_id = lines[-1].strip() if lines else None
    return True, f"enqueued {TASK_NAME} for {account} (task id {task_id or '?'})", task_id


def api_error(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return f"HTTP {resp.status_code}"
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("title") or ""
        errs = body.get("errors") or []
        extra = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', []))}: {e.get('msg')}"
            for e in errs
            if isinstance(e, dict)
        )
        return f"HTTP {resp.status_code}: {detail}" + (f" ({extra})" if extra else "")
    return f"HTTP {resp.status_code}"


class ApiSession:
    """JSON login once, bearer token in memory only; closed after the action."""

    def __init__(self, ctx: ActionContext, http: httpx.Client | None = None) -> None:
        self.base = (ctx.profile.api.url or "").rstrip("/")
        self.creds = cfg.api_credentials(ctx.profile)
        self.http = http or httpx.Client(timeout=httpx.Timeout(SYNC_CALL_TIMEOUT, connect=10.0))
        self._token: str | None = None

    def login(self) -> None:
        if self.creds is None:
            raise ActionRefused("No API credentials are configured.")
        user, password = self.creds
        resp = self.http.post(
            self.base + LOGIN_PATH,
            json={"username": user, "password": password, "remember_me": False},
            timeout=30.0,
        )
        if resp.status_code != 200:
            raise RuntimeError(f"API login failed: {api_error(resp)}")
        self._token = str(resp.json()["access_token"])

    def post_sync(self, body: dict[str, Any]) -> httpx.Response:
        if self._token is None:
            self.login()
        resp = self.http.post(
            self.base + SYNC_PATH, json=body, headers={"Authorization": f"Bearer {self._token}"}
        )
        if resp.status_code == 401:  # expired token: log in again once
            self.login()
            resp = self.http.post(
                self.base + SYNC_PATH,
                json=body,
                headers={"Authorization": f"Bearer {self._token}"},
            )
        return resp

    def close(self) -> None:
        self._token = None
        self.http.close()


def log_reader(ctx: ActionContext, client: Any) -> Callable[[float], list[str]]:
    name = worker_name(ctx)
    return lambda since: worker_logs(client, name, since)
