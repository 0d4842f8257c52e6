"""Metrics, tables and plots (filled in by the evaluation work; see the issues)."""
