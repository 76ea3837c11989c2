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
from app.customers.records import create_customer
from app.extensions import db
from app.links import journey_link

CONSENT = {
    "consent_financial_statements": "y",
    "consent_invoices_bills": "y",
    "agree": "Agree and continue",
}
STEPS = [
    ("GET welcome", "GET", "/journey/welcome", None),
    ("POST welcome", "POST", "/journey/welcome", {}),
    ("GET consent", "GET", "/journey/consent", None),
    ("POST consent", "POST", "/journey/consent", CONSENT),
    ("POST software", "POST", "/journey/software", {"platform": "sandbox"}),
    ("GET instructions", "GET", "/journey/instructions", None),
]


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
        for link in links:
            client = app.test_client()
            requests = [("open link", "GET", link.removeprefix("http://localhost"), None), *STEPS]
            for name, method, path, data in requests:
                start = time.perf_counter()
                response = client.open(path, method=method, data=data)
                timings.setdefault(name, []).append((time.perf_counter() - start) * 1000)
                if response.status_code >= 400:
                    raise SystemExit(f"{name}: HTTP {response.status_code}")
        print(f"{customers} customers, milliseconds per request")
        print(f"{'request':<18}{'median':>8}{'p95':>8}{'max':>8}")
        for name, values in timings.items():
            values.sort()
            p95 = values[int(len(values) * 0.95) - 1] if len(values) > 1 else values[0]
            print(f"{name:<18}{statistics.median(values):>8.2f}{p95:>8.2f}{values[-1]:>8.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
