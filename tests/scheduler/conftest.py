"""Scheduler tests use the shared fixtures (tests/conftest.py): `db`, and `shared_db`, a
database real worker processes open too (a SQLite file, or PostgreSQL)."""
