"""The edgewatch server: OTLP ingest into DuckDB, detection, alerting, REST API."""
