"""Browser tests: a customer's journey in real Chromium against a live Onramp server."""
