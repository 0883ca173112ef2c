"""``celery [--json]`` end to end: a real redis-server and a real solo worker running the
stand-in of MagFlow's Celery app, read by the real program in a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.celery_app.control import Control
from tests.support.celery_rig import CeleryClient, CeleryProcess, wait_until
from tests.support.cli import run_cli
from tests.support.redis_server import RedisServer


def test_celery_shows_the_running_task_the_queue_and_no_password(
    redis_db: RedisServer,
    celery_control: Control,
    celery_worker: CeleryProcess,
    celery_client: CeleryClient,
    tmp_path: Path,
) -> None:
    celery_control.set("emag.sync_products", "sleep", seconds=60)
    running = celery_client.send(
        "emag.sync_products", kwargs={"account_type": "fbe", "max_pages_per_account": 5}
    )
    celery_worker.wait_for_log(f"emag.sync_products[{running}] received")
    queued = celery_client.send("emag.sync_orders")
    args = [
        "--redis-url", redis_db.url,
        "--db-url", "postgresql://nobody@127.0.0.1:1/none",
        "--docker-host", "unix:///nonexistent.sock",
        "--api-url", "http://127.0.0.1:1",
    ]  # fmt: skip
    env = {"COLUMNS": "80"}

    def read() -> dict[str, object]:
        proc = run_cli(["celery", "--json", *args], env, tmp_path)
        assert "Traceback" not in proc.stderr, proc.stderr
        doc: dict[str, object] = json.loads(proc.stdout)
        return doc

    doc = wait_until(
        lambda: (d := read()) and d["celery"]["queues"]["default"] == 1 and d, "1 queued"
    )  # type: ignore[index]
    celery = doc["celery"]
    assert isinstance(celery, dict) and celery["state"] == "ok"
    held = [m for m in celery["executing"] if not m["scheduled_retry"]]
    assert [(m["task"], m["id"], m["account"]) for m in held] == [
        ("emag.sync_products", running, "fbe")
    ]
    assert celery["oldest_queued"]["task"] == "emag.sync_orders" and queued
    redis = doc["redis"]
    assert isinstance(redis, dict) and redis["state"] == "ok" and redis["used_memory"] > 0
    assert set(doc) >= {"celery", "redis", "orders", "verdict", "findings"}

    human = run_cli(["celery", *args], env, tmp_path)
    assert "emag.sync_products [fbe]" in human.stdout, human.stdout
    assert "default" in human.stdout and "Redis" in human.stdout
    assert max(len(line) for line in human.stdout.splitlines()) <= 80
    for text in (human.stdout, human.stderr, json.dumps(doc)):
        assert redis_db.password and redis_db.password not in text
    celery_control.release()
