"""Dispatch of training jobs: the `JobQueue` implementations and the processes that train.

`EmbeddedQueue` (SQLite) trains in child processes of the server; `ProcrastinateQueue`
(PostgreSQL) defers procrastinate jobs that any number of `hourglass worker` processes take.
"""
