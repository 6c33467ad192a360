"""The news desk's views over the archive: who reported what, and when (the timeline of a
story, one dated report per story cluster)."""
