"""Precise enrollment (精准参保, DOMAIN.md §8): department feeds read, validated and normalised."""
