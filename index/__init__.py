"""Ingest pipeline: load → chunk → embed → store."""
