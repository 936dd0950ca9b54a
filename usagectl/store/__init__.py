"""The only package that imports duckdb or holds SQL."""
