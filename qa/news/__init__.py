"""The news desk's reading of the archive: figures the passages disagree on (conflicts.py),
dated answers (dated.py) and the timeline of a story, one dated report per story cluster
(timeline.py)."""
