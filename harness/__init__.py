"""Test and demo harness outside the shipped package: real node processes driven like an operator would."""
