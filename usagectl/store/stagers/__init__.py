"""SQL stagers of log formats read by DuckDB directly (see ``usagectl.store.ingest``)."""
