"""The ledger's hash chain: any altered, removed or forged record is found and named,
checkpoints are signed and checked, and concurrent writers never fork the chain."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, text

from app import clock
from app.consent import chain, checkpoints, ledger
from app.extensions import db
from app.models import CONSENT_TRIGGER_DROPS as DROP_GUARD
from app.models import (
    CONSENT_TRIGGERS,
    LEDGER_WIPE_TRIGGER_DROPS,
    LEDGER_WIPE_TRIGGERS,
    AuditEntry,
    ConsentRecord,
    Customer,
    JourneyRun,
)
from tests.consent_records import chained
from tests.database import as_owner
from tests.integration.conftest import ALL_CONSENTS, REQUIRED_CONSENTS


@contextmanager
def guard_lifted(app: Flask) -> Iterator[None]:
    """Tamper as an administrator could: without the append-only triggers, then put back."""
    with app.app_context():
        dialect = db.engine.dialect.name
    drops = DROP_GUARD[dialect] + LEDGER_WIPE_TRIGGER_DROPS[dialect]
    with as_owner(app) as connection:
        for statement in drops:
            connection.exec_driver_sql(statement)
    try:
        yield
    finally:
        guards = CONSENT_TRIGGERS[dialect] + [
            statement
            for table in LEDGER_WIPE_TRIGGERS.values()
            for statement in table.get(dialect, [])
        ]
        with as_owner(app) as connection:
            for statement in drops + guards:
                connection.exec_driver_sql(statement)


def _tamper(app: Flask, statement: str, **params: object) -> None:
    with guard_lifted(app), app.app_context():
        db.session.execute(text(statement), params)
        db.session.commit()


def _decide_twice(client: FlaskClient) -> None:
    """Four records: all three items granted, then the optional one declined."""
    client.post("/journey/welcome")
    client.post("/journey/consent", data=ALL_CONSENTS)
    client.post("/journey/consent", data=REQUIRED_CONSENTS)


def _records(app: Flask) -> list[ConsentRecord]:
    with app.app_context():
        return list(db.session.scalars(select(ConsentRecord).order_by(ConsentRecord.sequence)))


def _verify(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["consents", "verify", *args])
    return result.exit_code, result.output + result.stderr


def test_a_journeys_records_form_one_chain_that_verifies(
    app: Flask, customer_client: FlaskClient
) -> None:
    _decide_twice(customer_client)
    records = _records(app)
    assert [r.sequence for r in records] == [1, 2, 3, 4]
    assert records[0].prev_hash == chain.GENESIS
    for before, after in itertools.pairwise(records):
        assert after.prev_hash == before.record_hash
    code, output = _verify(app)
    assert code == 0
    assert output.strip() == f"OK: 4 record(s) verify; head {records[-1].record_hash}"


TAMPERING = {
    "the wording shown": "UPDATE consent_records SET text = text || ' (amended)' WHERE id = :id",
    "the decision": "UPDATE consent_records SET decision = 'withdrawn' WHERE id = :id",
    "the time": "UPDATE consent_records SET recorded_at = :when WHERE id = :id",
    "the purpose": "UPDATE consent_records SET purpose = 'Anything we like.' WHERE id = :id",
    "the personal details": "UPDATE consent_records SET personal_ciphertext = 'x' WHERE id = :id",
    "the hash as well": (
        "UPDATE consent_records SET item_key = 'other', record_hash = :fake WHERE id = :id"
    ),
}


@pytest.mark.parametrize("position", [0, 2, 3], ids=["first", "middle", "last"])
@pytest.mark.parametrize("change", list(TAMPERING))
def test_altering_any_record_makes_verify_name_it(
    app: Flask, customer_client: FlaskClient, change: str, position: int
) -> None:
    _decide_twice(customer_client)
    target = _records(app)[position]
    _tamper(
        app,
        TAMPERING[change],
        id=target.id,
        when=target.recorded_at - timedelta(days=30),
        fake="f" * 64,
    )
    code, output = _verify(app)
    assert code == 1
    assert f"BROKEN at record {target.sequence} ({target.public_id})" in output
    assert f"{target.sequence - 1} record(s) before it verify" in output


def test_removing_a_record_is_found(app: Flask, customer_client: FlaskClient) -> None:
    _decide_twice(customer_client)
    _tamper(app, "DELETE FROM consent_records WHERE sequence = 2")
    code, output = _verify(app)
    assert code == 1
    assert "BROKEN at record 2: record 2 is missing from the chain" in output


def test_an_emptied_ledger_does_not_verify(app: Flask, customer_client: FlaskClient) -> None:
    _decide_twice(customer_client)
    # Whoever owns the table can get past its guard; the head still remembers four records.
    _tamper(app, "DELETE FROM consent_records")
    code, output = _verify(app)
    assert code == 1
    assert "BROKEN at record 1: the chain head says 4 record(s) were written, but none remain" in (
        output
    )
    assert "OK:" not in output


def test_a_ledger_cut_short_does_not_verify(app: Flask, customer_client: FlaskClient) -> None:
    _decide_twice(customer_client)
    _tamper(app, "DELETE FROM consent_records WHERE sequence > 2")
    code, output = _verify(app)
    assert code == 1
    assert (
        "BROKEN at record 3: the chain head says 4 record(s) were written, "
        "but the chain ends at record 2. 2 record(s) before it verify."
    ) in output


def test_a_missing_chain_head_is_found(app: Flask, customer_client: FlaskClient) -> None:
    _decide_twice(customer_client)
    with guard_lifted(app), app.app_context():
        db.session.execute(text("DELETE FROM consent_chain_head"))
        db.session.commit()
    code, output = _verify(app)
    assert code == 1
    assert "the chain head is missing, though 4 record(s) remain" in output


def test_a_chain_head_moved_back_is_found(app: Flask, customer_client: FlaskClient) -> None:
    _decide_twice(customer_client)
    second = _records(app)[1]
    with app.app_context():
        db.session.execute(
            text("UPDATE consent_chain_head SET sequence = 2, hash = :h"),
            {"h": second.record_hash},
        )
        db.session.commit()
    code, output = _verify(app)
    assert code == 1
    assert "BROKEN at record 3: the chain head says the chain ends at record 2" in output


def test_an_empty_new_ledger_verifies(app: Flask) -> None:
    assert _verify(app) == (0, f"OK: 0 record(s) verify; head {chain.GENESIS}\n")


def test_a_checkpoint_is_signed_and_catches_a_rewritten_chain(
    app: Flask, customer_client: FlaskClient, tmp_path: Path
) -> None:
    _decide_twice(customer_client)
    runner = app.test_cli_runner()
    checkpoint = tmp_path / "checkpoint.jws"
    result = runner.invoke(args=["consents", "checkpoint", "--output", str(checkpoint)])
    assert result.exit_code == 0, result.output
    head = _records(app)[-1]
    assert f"Checkpoint of record 4 ({head.record_hash})" in result.output
    public_key = tmp_path / "ledger.pem"
    public_key.write_text(runner.invoke(args=["consents", "public-key"]).output)
    assert public_key.read_text().startswith("-----BEGIN PUBLIC KEY-----")

    # Against the public key alone, the chain passes through the signed head.
    assert _verify(app, "--checkpoint", str(checkpoint), "--public-key", str(public_key)) == (
        0,
        f"OK: 4 record(s) verify; head {head.record_hash}\n",
    )

    # A forged checkpoint is refused.
    forged = tmp_path / "forged.jws"
    token = checkpoint.read_text().strip()
    forged.write_text(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1])
    code, output = _verify(app, "--checkpoint", str(forged))
    assert code == 1 and "the checkpoint is not genuine" in output

    # Someone rebuilds the whole chain from scratch after changing a record: every
    # hash is consistent again, but it no longer passes through the checkpoint.
    with guard_lifted(app), app.app_context():
        db.session.execute(text("UPDATE consent_records SET decision = 'declined'"))
        prev = chain.GENESIS
        records = list(db.session.scalars(select(ConsentRecord).order_by(ConsentRecord.sequence)))
        db.session.expunge_all()
        for record in records:
            record.prev_hash = prev
            prev = chain.compute_hash(record, prev)
            db.session.execute(
                text("UPDATE consent_records SET prev_hash = :p, record_hash = :h WHERE id = :i"),
                {"p": record.prev_hash, "h": prev, "i": record.id},
            )
        db.session.execute(text("UPDATE consent_chain_head SET hash = :h"), {"h": prev})
        db.session.commit()
    assert _verify(app)[0] == 0
    code, output = _verify(app, "--checkpoint", str(checkpoint))
    assert code == 1
    assert "its hash differs from the checkpoint's" in output


def test_the_audit_log_notes_each_checkpoint(app: Flask, customer_client: FlaskClient) -> None:
    _decide_twice(customer_client)
    result = app.test_cli_runner().invoke(args=["consents", "checkpoint"])
    assert result.exit_code == 0
    assert result.output.count(".") == 2  # a compact JWS on its own
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "consents.checkpoint")
        ).one()
        head = chain.head()
    assert entry.after == {"sequence": 4, "hash": head.hash}


def _ledger_gauges(app: Flask, client: FlaskClient) -> dict[str, float]:
    app.config["METRICS_TOKEN"] = "scrape-token"
    scraped = client.get("/metrics", headers={"Authorization": "Bearer scrape-token"})
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(scraped.text)
        for sample in family.samples
        if sample.name.startswith("onramp_consent_chain_")
    }


def test_metrics_say_what_the_last_verify_found(app: Flask, customer_client: FlaskClient) -> None:
    # Never verified: no verdict, and a last success at 0 (1970) that the alert calls stale.
    assert _ledger_gauges(app, customer_client) == {
        "onramp_consent_chain_last_verified_timestamp_seconds": 0.0
    }
    _decide_twice(customer_client)
    assert _verify(app)[0] == 0
    gauges = _ledger_gauges(app, customer_client)
    assert gauges["onramp_consent_chain_verified"] == 1.0
    verified_at = gauges["onramp_consent_chain_last_verified_timestamp_seconds"]
    assert verified_at == pytest.approx(clock.now().timestamp(), abs=60)

    # The next run finds a record altered: the verdict turns 0, the last success stays.
    _tamper(app, "UPDATE consent_records SET decision = 'withdrawn' WHERE sequence = 2")
    assert _verify(app)[0] == 1
    assert _ledger_gauges(app, customer_client) == {
        "onramp_consent_chain_verified": 0.0,
        "onramp_consent_chain_last_verified_timestamp_seconds": verified_at,
    }
    with app.app_context():
        verdicts = db.session.scalars(
            select(AuditEntry.after)
            .where(AuditEntry.action == "consents.verify")
            .order_by(AuditEntry.id)
        ).all()
    assert verdicts == [
        {"ok": True, "records": 4},
        {"ok": False, "records": 1, "broken_at": 2},
    ]


WRITERS = 8
RECORDS_EACH = 12


def test_concurrent_writers_leave_one_valid_chain(app: Flask) -> None:
    with app.app_context():
        runs = []
        for n in range(WRITERS):
            customer = Customer(name=f"Writer {n}", email=f"w{n}@example.test")
            run = JourneyRun(
                customer=customer, journey_id="default", journey_version="v", current_step="x"
            )
            db.session.add(run)
            db.session.flush()
            runs.append((customer.id, run.id))
        db.session.commit()
    start = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def write(customer_id: int, run_id: int) -> None:
        try:
            with app.app_context():
                start.wait()
                for i in range(RECORDS_EACH):
                    chained(
                        customer_id=customer_id,
                        run_id=run_id,
                        journey_id="default",
                        journey_version="v",
                        item_key=f"item_{i}",
                        text="Financial statements",
                        text_sha256="0" * 64,
                        decision="granted",
                        locale="en",
                    )
                    db.session.commit()
                db.session.remove()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=write, args=ids) for ids in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with app.app_context():
        result = chain.verify()
        assert result.ok, result.problem
        assert result.records == WRITERS * RECORDS_EACH
        assert chain.head().sequence == WRITERS * RECORDS_EACH
        sequences = list(db.session.scalars(select(ConsentRecord.sequence)))
    assert sorted(sequences) == list(range(1, WRITERS * RECORDS_EACH + 1))


def test_expiry_and_withdrawal_extend_the_same_chain(
    app: Flask, customer_client: FlaskClient
) -> None:
    _decide_twice(customer_client)
    with app.app_context():
        granted = db.session.scalars(
            select(ConsentRecord).where(ConsentRecord.item_key == "financial_statements")
        ).first()
        assert granted is not None
        assert ledger.withdraw(granted) is not None
        invoices = db.session.scalars(
            select(ConsentRecord).where(ConsentRecord.item_key == "invoices_bills")
        ).first()
        assert invoices is not None
        assert ledger.expire(invoices, now=clock.now() + timedelta(days=91)) is not None
        db.session.commit()
        assert chain.verify().records == 6
        assert chain.verify().ok


def test_incremental_verify_rehashes_only_what_came_after_the_signed_checkpoint(
    app: Flask, customer_client: FlaskClient
) -> None:
    _decide_twice(customer_client)
    assert app.test_cli_runner().invoke(args=["consents", "checkpoint"]).exit_code == 0
    customer_client.post("/journey/consent", data=ALL_CONSENTS)  # record 5, after it
    records = _records(app)
    assert len(records) == 5

    code, output = _verify(app, "--incremental")
    assert code == 0
    assert output.startswith(
        "OK: 5 record(s) verify incrementally: 1 to 4 on the signed checkpoint of "
    )
    assert f"the 1 after it rehashed; head {records[-1].record_hash}." in output

    # What the checkpoint vouches for is not rehashed: only a full walk finds a change there.
    _tamper(app, TAMPERING["the decision"], id=records[1].id)
    assert _verify(app, "--incremental")[0] == 0
    assert "BROKEN at record 2" in _verify(app)[1]

    # A change after the checkpoint is found.
    _tamper(app, TAMPERING["the purpose"], id=records[4].id)
    code, output = _verify(app, "--incremental")
    assert code == 1
    assert f"BROKEN at record 5 ({records[4].public_id}): its content does not match" in output
    assert "4 record(s) before it verify" in output


def test_incremental_verify_without_a_checkpoint_walks_every_record(
    app: Flask, customer_client: FlaskClient
) -> None:
    _decide_twice(customer_client)
    code, output = _verify(app, "--incremental")
    assert code == 0
    assert output.splitlines() == [
        "No signed checkpoint yet: every record is rehashed.",
        f"OK: 4 record(s) verify; head {_records(app)[-1].record_hash}",
    ]


def test_incremental_verify_refuses_a_checkpoint_the_chain_no_longer_holds(
    app: Flask, customer_client: FlaskClient
) -> None:
    _decide_twice(customer_client)
    assert app.test_cli_runner().invoke(args=["consents", "checkpoint"]).exit_code == 0
    checkpointed = _records(app)[-1]
    _tamper(
        app,
        "UPDATE consent_records SET record_hash = :fake WHERE id = :id",
        id=checkpointed.id,
        fake="e" * 64,
    )
    code, output = _verify(app, "--incremental")
    assert code == 1
    assert (
        f"BROKEN at record 4 ({checkpointed.public_id}): its hash differs from the checkpoint's"
    ) in output


def test_incremental_verify_refuses_a_stored_checkpoint_that_was_altered(
    app: Flask, customer_client: FlaskClient
) -> None:
    _decide_twice(customer_client)
    assert app.test_cli_runner().invoke(args=["consents", "checkpoint"]).exit_code == 0
    with app.app_context():
        # Someone moves the stored checkpoint on to a chain of their own making.
        db.session.execute(text("UPDATE consent_checkpoints SET jws = jws || 'x'"))
        db.session.commit()
    code, output = _verify(app, "--incremental")
    assert code == 1
    assert "the checkpoint is not genuine" in output
    assert "OK:" not in output


def test_a_checkpoint_is_refused_when_the_records_since_the_last_one_do_not_verify(
    app: Flask, customer_client: FlaskClient
) -> None:
    _decide_twice(customer_client)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["consents", "checkpoint"]).exit_code == 0
    customer_client.post("/journey/consent", data=ALL_CONSENTS)  # record 5
    _tamper(app, TAMPERING["the wording shown"], id=_records(app)[4].id)
    result = runner.invoke(args=["consents", "checkpoint"])
    assert result.exit_code == 1
    assert "the chain does not verify (record 5: its content does not match its hash)" in (
        result.output
    )
    with app.app_context():
        assert checkpoints.latest_checkpoint().sequence == 4  # type: ignore[union-attr]
