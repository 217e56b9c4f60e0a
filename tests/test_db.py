from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlmodel import SQLModel

from core.config import load_settings
from core.db import alembic_config, make_engine, migrate
from core.models import Clone


def test_migrations_create_every_table_and_are_idempotent(settings):
    engine = make_engine(settings.database_url)
    settings.home.mkdir(parents=True, exist_ok=True)
    migrate(engine)
    migrate(engine)
    tables = set(inspect(engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables
    assert "alembic_version" in tables
    engine.dispose()


def test_models_match_the_newest_migration(settings):
    """Autogenerate finds nothing to add: every model change ships with a migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(settings.database_url)
    settings.home.mkdir(parents=True, exist_ok=True)
    migrate(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert diff == []


def test_one_linear_history():
    script = ScriptDirectory.from_config(alembic_config(make_engine("sqlite://")))
    assert len(script.get_heads()) == 1


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_rows_are_owned(runtime):
    with runtime.session() as session:
        clone = Clone(name="Owned", slug="owned")
        session.add(clone)
        session.commit()
        assert session.get(Clone, clone.id).owner_id == "local"


def test_settings_follow_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CLONE_STUDIO_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("LANCEDB_URI", "s3://bucket/chunks")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = load_settings()
    assert settings.home == (tmp_path / "h").resolve()
    assert settings.database_url == f"sqlite:///{(tmp_path / 'h').resolve() / 'studio.db'}"
    assert settings.lancedb_uri == "s3://bucket/chunks"
    assert settings.max_upload_mb == 50
