"""How fast the journey's own pages answer, without the provider round trip.

Runs N customers through welcome → consent → platform → instructions in-process
(Flask test client, a fresh SQLite database) and prints per-request latencies.
Run: `make bench` or `.venv/bin/python bench/journey_steps.py [customers]`.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app
from app.customers import create_customer
from app.extensions import db
from app.links import journey_link

CONSENT = {
    "consent_financial_statements": "y",
    "consent_invoices_bills": "y",
    "agree": "Agree and continue",
}


def main(customers: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.db",
                "WTF_CSRF_ENABLED": False,
                "PUBLIC_URL": "http://localhost",
            }
        )
        with app.app_context():
            db.create_all()
            links = [
                journey_link(create_customer(f"C{i}", f"c{i}@example.com").public_id, "default")
                for i in range(customers)
            ]
        timings: dict[str, list[float]] = {}

        def timed(name: str, call):  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            response = call()
            timings.setdefault(name, []).append((time.perf_counter() - start) * 1000)
            assert response.status_code < 400, (name, response.status_code)

        for link in links:
            client = app.test_client()
            timed("open link", lambda: client.get(link.removeprefix("http://localhost")))
            timed("GET welcome", lambda: client.get("/journey/welcome"))
            timed("POST welcome", lambda: client.post("/journey/welcome"))
            timed("GET consent", lambda: client.get("/journey/consent"))
            timed("POST consent", lambda: client.post("/journey/consent", data=CONSENT))
            timed(
                "POST software",
                lambda: client.post("/journey/software", data={"platform": "sandbox"}),
            )
            timed("GET instructions", lambda: client.get("/journey/instructions"))
        print(f"{customers} customers, milliseconds per request")
        print(f"{'request':<18}{'median':>8}{'p95':>8}{'max':>8}")
        for name, values in timings.items():
            values.sort()
            p95 = values[int(len(values) * 0.95) - 1] if len(values) > 1 else values[0]
            print(f"{name:<18}{statistics.median(values):>8.2f}{p95:>8.2f}{values[-1]:>8.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
