"""Thin Dagster assets, checks and resources wiring config -> gasp_ops -> files."""
