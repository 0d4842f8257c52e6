"""Dagster Definitions, jobs, schedules, sensors and executors of the GASP pipeline."""
