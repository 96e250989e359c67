"""Storage of the administration core: SQLAlchemy 2 models, engine and Alembic migrations.

SQLite is the embedded default (a file, zero setup); PostgreSQL is the production database,
chosen with ``YIBAO_DATABASE_URL``. The same models and the same tests run on both.
"""
