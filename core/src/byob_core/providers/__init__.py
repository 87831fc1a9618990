"""Providers that ship inside byob-core (only `file`, the model for plugin authors)."""
