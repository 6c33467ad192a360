"""Eval harnesses: retrieval and answer quality on question sets, the claim check on labelled claims."""
