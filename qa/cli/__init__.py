"""The `qa` command line (main.py: parser and commands; eval.py: check and grounding eval)."""
