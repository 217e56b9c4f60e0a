"""analytics_daily: message_stat / message_source summed per day, kept in step by triggers; a covering
index for the latency query

Revision ID: 0004_analytics_daily
Revises: 0003
Create Date: 2026-12-02 04:00:00

The Analytics page's counts, tokens, costs and document figures read these daily rows instead of
every message (bench/analytics.py). Triggers on message_stat and message_source add each inserted
row's share, take away each deleted row's (cascading deletes included) and do both on an update,
so every way a message is written, changed or removed keeps the sums exact. A key row whose
messages are all gone is deleted. Key columns hold "" (no provider, model or document) and 0 (no
prompt version, an unsaved draft) instead of NULL, so the key can be the primary key.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004_analytics_daily'
down_revision = '0003'
branch_labels = None
depends_on = None

TIMING_INDEX = ['owner_id', 'role', 'day', 'status', 'clone_id', 'provider', 'model', 'v_system', 'v_rag', 'v_user',
                'retrieval_ms', 'first_token_ms', 'total_ms', 'stt_ms', 'first_audio_ms', 'speech_ms']

# key column -> expression over a message_stat / message_source row ({r} is NEW, OLD or the table)
KEY = {'owner_id': '{r}.owner_id', 'day': '{r}.day', 'clone_id': '{r}.clone_id',
       'provider': "COALESCE({r}.provider, '')", 'model': "COALESCE({r}.model, '')",
       'v_system': 'COALESCE({r}.v_system, 0)', 'v_rag': 'COALESCE({r}.v_rag, 0)', 'v_user': 'COALESCE({r}.v_user, 0)'}
SOURCE_KEY = {**KEY, 'document_id': "COALESCE({r}.document_id, '')", 'document': "COALESCE({r}.document, '')"}


def _when(condition: str) -> str:
    return f'CASE WHEN {condition} THEN 1 ELSE 0 END'


ANSWER, OK = "{r}.role = 'assistant'", "{r}.status <> 'error'"
DAILY = {  # sum column -> one message_stat row's share
    'messages': '1',
    'questions': _when("{r}.role = 'user'"),
    'answers': _when(ANSWER),
    'voice_turns': _when(f'{ANSWER} AND {{r}}.voice'),
    'threads': _when('{r}.opens_thread'),
    'errors': _when(f"{ANSWER} AND {{r}}.status = 'error'"),
    'answered': _when(f'{ANSWER} AND {OK}'),
    'nothing_retrieved': _when(f'{ANSWER} AND {OK} AND {{r}}.sources = 0'),
    'none_cited': _when(f'{ANSWER} AND {OK} AND {{r}}.sources > 0 AND {{r}}.cited = 0'),
    'input_tokens': 'COALESCE({r}.input_tokens, 0)',
    'output_tokens': 'COALESCE({r}.output_tokens, 0)',
    'cost_usd': 'COALESCE({r}.cost_usd, 0)',
}
SOURCE = {  # sum column -> one message_source row's share
    'rows': '1',
    'retrieved': f'CASE WHEN {OK} THEN {{r}}.retrieved ELSE 0 END',
    'cited': f'CASE WHEN {OK} THEN {{r}}.cited ELSE 0 END',
    'answers': _when(f'{OK} AND {{r}}.cited > 0'),
    'cited_any': _when('{r}.cited > 0'),
}
ROLLUPS = (  # (rollup, source table, key, sums, count column)
    ('analytics_daily', 'message_stat', KEY, DAILY, 'messages'),
    ('analytics_source_daily', 'message_source', SOURCE_KEY, SOURCE, 'rows'),
)


def _add(rollup: str, key: dict, sums: dict, r: str) -> str:
    columns = [*key, *sums]
    values = [expr.format(r=r) for expr in (*key.values(), *sums.values())]
    updates = ', '.join(f'{name} = {rollup}.{name} + excluded.{name}' for name in sums)
    return (f"INSERT INTO {rollup} ({', '.join(columns)}) VALUES ({', '.join(values)}) "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}")


def _match(key: dict, r: str) -> str:
    return ' AND '.join(f'{name} = {expr.format(r=r)}' for name, expr in key.items())


def _take(rollup: str, key: dict, sums: dict, count: str, r: str) -> list[str]:
    updates = ', '.join(f'{name} = {name} - ({expr.format(r=r)})' for name, expr in sums.items())
    return [f'UPDATE {rollup} SET {updates} WHERE {_match(key, r)}',
            f'DELETE FROM {rollup} WHERE {_match(key, r)} AND {count} <= 0']


def _backfill(rollup: str, table: str, key: dict, sums: dict) -> str:
    keys = [expr.format(r=table) for expr in key.values()]
    totals = [f'SUM({expr.format(r=table)})' for expr in sums.values()]
    return (f"INSERT INTO {rollup} ({', '.join([*key, *sums])}) SELECT {', '.join(keys + totals)} "
            f"FROM {table} GROUP BY {', '.join(keys)}")


def _create_triggers(dialect: str) -> None:
    for rollup, table, key, sums, count in ROLLUPS:
        add_new, take_old = _add(rollup, key, sums, 'NEW'), _take(rollup, key, sums, count, 'OLD')
        if dialect == 'postgresql':
            op.execute(f"""CREATE FUNCTION {rollup}_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    {take_old[0]};
    {take_old[1]};
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    {add_new};
  END IF;
  RETURN NULL;
END $$""")
            op.execute(f'CREATE TRIGGER {rollup}_sync AFTER INSERT OR UPDATE OR DELETE ON {table} '
                       f'FOR EACH ROW EXECUTE FUNCTION {rollup}_sync()')
        else:
            op.execute(f'CREATE TRIGGER {rollup}_insert AFTER INSERT ON {table} BEGIN {add_new}; END')
            op.execute(f'CREATE TRIGGER {rollup}_delete AFTER DELETE ON {table} BEGIN {"; ".join(take_old)}; END')
            op.execute(f'CREATE TRIGGER {rollup}_update AFTER UPDATE ON {table} BEGIN {"; ".join(take_old)}; {add_new}; END')


def _drop_triggers(dialect: str) -> None:
    for rollup, table, *_ in ROLLUPS:
        if dialect == 'postgresql':
            op.execute(f'DROP TRIGGER IF EXISTS {rollup}_sync ON {table}')
            op.execute(f'DROP FUNCTION IF EXISTS {rollup}_sync()')
        else:
            for event in ('insert', 'delete', 'update'):
                op.execute(f'DROP TRIGGER IF EXISTS {rollup}_{event}')


def _key_columns() -> list:
    text = sqlmodel.sql.sqltypes.AutoString
    return [sa.Column('owner_id', text(), nullable=False), sa.Column('day', sa.Date(), nullable=False),
            sa.Column('clone_id', text(), nullable=False), sa.Column('provider', text(), nullable=False),
            sa.Column('model', text(), nullable=False), sa.Column('v_system', sa.Integer(), nullable=False),
            sa.Column('v_rag', sa.Integer(), nullable=False), sa.Column('v_user', sa.Integer(), nullable=False)]


def upgrade() -> None:
    op.create_table('analytics_daily', *_key_columns(),
                    *(sa.Column(name, sa.Integer(), nullable=False) for name in DAILY if name != 'cost_usd'),
                    sa.Column('cost_usd', sa.Float(), nullable=False),
                    sa.PrimaryKeyConstraint(*KEY))
    op.create_table('analytics_source_daily', *_key_columns(),
                    sa.Column('document_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
                    sa.Column('document', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
                    *(sa.Column(name, sa.Integer(), nullable=False) for name in SOURCE),
                    sa.PrimaryKeyConstraint(*SOURCE_KEY))
    with op.batch_alter_table('message_stat', schema=None) as batch_op:
        batch_op.create_index('ix_message_stat_timings', TIMING_INDEX, unique=False)
    for rollup, table, key, sums, _ in ROLLUPS:
        op.execute(_backfill(rollup, table, key, sums))
    _create_triggers(op.get_bind().dialect.name)


def downgrade() -> None:
    _drop_triggers(op.get_bind().dialect.name)
    with op.batch_alter_table('message_stat', schema=None) as batch_op:
        batch_op.drop_index('ix_message_stat_timings')
    op.drop_table('analytics_source_daily')
    op.drop_table('analytics_daily')
