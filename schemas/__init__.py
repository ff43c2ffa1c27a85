"""Contracts shared by every stage: event models, topic names, output messages."""
