"""The hostile-input suite: Hypothesis-made requests against every form and the API.

Run it alone with ``.venv/bin/pytest tests/hostile`` (on PostgreSQL with
``TEST_DATABASE_URL`` set); ``make bench-hostile`` runs the same targets far longer.
"""
