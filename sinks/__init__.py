"""ClickHouse sink: consume the pipeline's topics, batch, insert, then commit offsets.

Entrypoints: `sinks.runner.run_sink` (the long-running process, owner of an embedded chDB),
`sinks.query.run_query` (read-only SQL from any process), `sinks.reports.report`.
"""
