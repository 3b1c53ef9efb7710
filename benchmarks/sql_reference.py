"""An independent implementation of cohorts and proven reoffending in DuckDB SQL.

Written from the definitions in docs/outcomes.md (not from evallib's code), over the
dataset's files as they are on disk. Two uses:

- ``benchmarks/bench_national.py`` times it as the reference for evallib's pipeline;
- ``tests/test_cohort_reference.py`` checks that evallib gives every person the same
  group, index date and outcome.

It does not validate the data: it assumes a dataset that keeps the contract.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

NON_COMPLETION = ("disengaged", "suspended", "excluded")


def _source(folder: Path, table: str) -> str:
    """A DuckDB table expression for one contract table (file or folder of Parquet/CSV)."""
    base = folder / f"{table}.parquet"
    if base.is_dir():
        return f"read_parquet('{base.as_posix()}/*.parquet')"
    if base.exists():
        return f"read_parquet('{base.as_posix()}')"
    csv = folder / f"{table}.csv"
    return f"read_csv('{csv.as_posix()}', header=true, all_varchar=true)"


def _list(values) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def connect(folder: str | Path, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A connection with views ``referrals``, ``episodes``, ``police`` over the files (typed)."""
    folder = Path(folder)
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.execute(f"""CREATE VIEW referrals AS SELECT referral_id, person_id,
        CAST(referral_date AS DATE) AS referral_date, CAST(eligible AS BOOLEAN) AS eligible
        FROM {_source(folder, 'referrals')}""")
    con.execute(f"""CREATE VIEW episodes AS SELECT episode_id, referral_id, programme,
        CAST(start_date AS DATE) AS start_date, CAST(end_date AS DATE) AS end_date, status
        FROM {_source(folder, 'episodes')}""")
    con.execute(f"""CREATE VIEW police AS SELECT person_id, CAST(offence_date AS DATE) AS offence_date,
        CAST(da_related AS BOOLEAN) AS da_related, outcome, CAST(outcome_date AS DATE) AS outcome_date
        FROM {_source(folder, 'police')}""")
    return con


def cohort_and_reoffending(con: duckdb.DuckDBPyConnection, *, start, end, core_programmes,
                           index_date: str = "exit", window_months: int = 12, waiting_months: int = 6,
                           proven_outcomes=("conviction", "caution", "community_resolution"),
                           countable_when: str = "waiting_over", police_extract_date) -> pd.DataFrame:
    """One row per person of the cohort: group, index date and proven reoffending (any, DA).

    Columns: ``person_id, group, index_date, countable``, and for ``v`` in any/da:
    ``reoffended_v, reoffences_v, days_to_first_v, event_v``.
    """
    start, end, extract = (pd.Timestamp(x).date().isoformat() for x in (start, end, police_extract_date))
    index_col = "end_date" if index_date == "exit" else "start_date"
    closes = "waiting_end" if countable_when == "waiting_over" else "window_end"
    sql = f"""
    WITH core AS (
        SELECT e.*, r.person_id FROM episodes e JOIN referrals r USING (referral_id)
        WHERE e.programme IN ({_list(core_programmes)})
    ), first_core AS (
        SELECT * FROM core
        QUALIFY row_number() OVER (PARTITION BY person_id ORDER BY start_date, episode_id) = 1
    ), starters AS (
        SELECT person_id,
               CASE WHEN status = 'completed' THEN 'completed'
                    WHEN status IN ({_list(NON_COMPLETION)}) THEN 'not_completed'
                    ELSE 'ongoing' END AS "group",
               {index_col} AS index_date
        FROM first_core WHERE start_date BETWEEN DATE '{start}' AND DATE '{end}'
    ), started AS (
        SELECT DISTINCT r.person_id FROM referrals r JOIN episodes e USING (referral_id)
    ), not_started AS (
        SELECT r.person_id, 'referred_not_started' AS "group", r.referral_date AS index_date
        FROM referrals r ANTI JOIN started s ON r.person_id = s.person_id
        WHERE r.referral_date BETWEEN DATE '{start}' AND DATE '{end}' AND coalesce(r.eligible, false)
        QUALIFY row_number() OVER (PARTITION BY r.person_id ORDER BY r.referral_date, r.referral_id) = 1
    ), people AS (
        SELECT *, CAST(index_date + INTERVAL ({int(window_months)}) MONTH AS DATE) AS window_end
        FROM (SELECT * FROM starters UNION ALL SELECT * FROM not_started)
    ), windows AS (
        SELECT *, CAST(window_end + INTERVAL ({int(waiting_months)}) MONTH AS DATE) AS waiting_end FROM people
    ), proven AS (
        SELECT w.person_id, count(*) AS n_any, count(*) FILTER (WHERE p.da_related) AS n_da,
               min(p.offence_date) AS first_any, min(p.offence_date) FILTER (WHERE p.da_related) AS first_da
        FROM windows w JOIN police p ON p.person_id = w.person_id
        WHERE p.offence_date > w.index_date AND p.offence_date <= w.window_end
          AND p.outcome IN ({_list(proven_outcomes)}) AND p.outcome_date IS NOT NULL
          AND p.outcome_date <= w.waiting_end AND p.outcome_date <= DATE '{extract}'
        GROUP BY w.person_id
    )
    SELECT w.person_id, w."group", w.index_date,
           (w.index_date IS NOT NULL AND w.{closes} <= DATE '{extract}') AS countable,
           {", ".join(f'''
           CASE WHEN w.index_date IS NOT NULL AND w.{closes} <= DATE '{extract}'
                THEN coalesce(n_{v}, 0) > 0 END AS reoffended_{v},
           CASE WHEN w.index_date IS NOT NULL AND w.{closes} <= DATE '{extract}'
                THEN coalesce(n_{v}, 0) END AS reoffences_{v},
           CASE WHEN w.index_date IS NULL THEN NULL
                WHEN first_{v} IS NOT NULL THEN datediff('day', w.index_date, first_{v})
                ELSE datediff('day', w.index_date, least(w.window_end, DATE '{extract}')) END AS days_to_first_{v},
           (w.index_date IS NOT NULL AND first_{v} IS NOT NULL) AS event_{v}''' for v in ("any", "da"))}
    FROM windows w LEFT JOIN proven USING (person_id)
    ORDER BY w.person_id
    """
    return con.execute(sql).df()


def record_flow_counts(con: duckdb.DuckDBPyConnection, *, start, end, core_programmes) -> dict[str, int]:
    """The record flow's counts (docs/outcomes.md), by reason."""
    start, end = (pd.Timestamp(x).date().isoformat() for x in (start, end))
    sql = f"""
    WITH core AS (
        SELECT e.*, r.person_id FROM episodes e JOIN referrals r USING (referral_id)
        WHERE e.programme IN ({_list(core_programmes)})
    ), first_core AS (
        SELECT person_id, status, start_date FROM core
        QUALIFY row_number() OVER (PARTITION BY person_id ORDER BY start_date, episode_id) = 1
    ), starters AS (
        SELECT * FROM first_core WHERE start_date BETWEEN DATE '{start}' AND DATE '{end}'
    ), in_period AS (
        SELECT * FROM referrals WHERE referral_date BETWEEN DATE '{start}' AND DATE '{end}'
    ), scope AS (
        SELECT person_id FROM in_period UNION SELECT person_id FROM starters
    ), others AS (
        SELECT s.person_id, f.start_date AS first_start,
               s.person_id IN (SELECT r.person_id FROM referrals r JOIN episodes e USING (referral_id)) AS any_ep,
               s.person_id IN (SELECT person_id FROM in_period WHERE coalesce(eligible, false)) AS elig
        FROM scope s LEFT JOIN first_core f USING (person_id)
        WHERE s.person_id NOT IN (SELECT person_id FROM starters)
    )
    SELECT
        (SELECT count(*) FROM referrals) AS supplied,
        (SELECT count(*) FROM scope) AS scope,
        count(*) FILTER (WHERE first_start IS NULL AND NOT any_ep AND NOT elig) AS not_eligible,
        count(*) FILTER (WHERE first_start IS NULL AND NOT any_ep AND elig) AS eligible_not_started,
        count(*) FILTER (WHERE first_start IS NULL AND any_ep) AS other_programmes,
        count(*) FILTER (WHERE first_start < DATE '{start}') AS before,
        count(*) FILTER (WHERE first_start > DATE '{end}') AS after,
        (SELECT count(*) FROM starters) AS starters,
        (SELECT count(*) FROM starters WHERE status NOT IN ('completed', {_list(NON_COMPLETION)})) AS ongoing,
        (SELECT count(*) FROM starters WHERE status = 'completed') AS completers,
        (SELECT count(*) FROM starters WHERE status IN ({_list(NON_COMPLETION)})) AS non_completers
    FROM others
    """
    row = con.execute(sql).df().iloc[0]
    return {k: int(v) for k, v in row.items()}
