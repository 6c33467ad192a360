"""Stand-ins and server helpers for tests and benchmarks; the app never imports this package."""
