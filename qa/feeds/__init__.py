"""Live feeds: RSS and Atom polled into the archive (docs/feeds.md)."""
