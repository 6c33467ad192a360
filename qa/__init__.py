"""Question answering over news articles with verifiable citations."""
