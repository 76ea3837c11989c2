from app.gunicorn_conf import redact_path


def test_journey_link_tokens_never_reach_the_access_log() -> None:
    assert redact_path("/j/eyJjIjoi.abc.def") == "/j/[redacted]"
    assert redact_path("/journey/consent") == "/journey/consent"
