"""Tests of how the project installs: locks, pip-check, the wheel."""
