"""Retrieval: vector search and BM25 fused by reciprocal rank at the article level, with duplicate wire stories collapsed and a recency prior."""
