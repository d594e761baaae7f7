"""Dispatch of training jobs.

A `Dispatcher` is a `JobQueue` (enqueue a run's job inside the request's transaction) that can be
started and stopped with the server. `EmbeddedDispatcher` trains in child processes of the server;
issue 4 adds a procrastinate dispatcher and the `hourglass worker` command beside it.
"""
