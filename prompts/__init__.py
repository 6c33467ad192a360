"""The prompt templates (*.txt): edit them here; the wheel ships them as `qa.prompts`."""
