"""News-desk reading of retrieved passages: conflicting figures, dated answers, timelines."""
