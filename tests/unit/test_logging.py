import json
import os
from pathlib import Path

import pytest

from app.gunicorn_conf import redact_path


def test_journey_link_tokens_never_reach_the_access_log() -> None:
    assert redact_path("/j/eyJjIjoi.abc.def") == "/j/[redacted]"
    assert redact_path("/journey/consent") == "/journey/consent"


def test_gunicorn_workers_share_one_metrics_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app import gunicorn_conf

    stale = tmp_path / "counter_123.db"
    stale.write_bytes(b"old")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    gunicorn_conf.on_starting(None)
    assert not stale.exists()
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    gunicorn_conf.on_starting(None)
    assert Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).is_dir()


def test_the_access_log_is_one_json_object_per_request() -> None:
    from app import gunicorn_conf

    atoms = {"t": "[now]", "h": "127.0.0.1", "m": "GET", "U": "/j/[redacted]", "s": 200}
    atoms |= {"B": "12", "M": 3, "{x-request-id}o": "abc"}
    line = json.loads(gunicorn_conf.access_log_format % atoms)
    assert (line["request"], line["status"], line["request_id"]) == (
        "GET /j/[redacted]",
        200,
        "abc",
    )


def test_instances_on_one_host_listen_for_gunicornc_on_sockets_of_their_own() -> None:
    from app import gunicorn_conf

    first, second = (gunicorn_conf.control_socket_for(port) for port in ("5001", "5002"))
    assert first != second
    assert first.endswith("gunicorn-5001.ctl")
