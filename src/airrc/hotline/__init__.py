"""Hotline: pre-agreed bilingual formats (the channel, deadlines and escalation come with issue #6)."""
