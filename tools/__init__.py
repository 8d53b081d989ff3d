"""Repository tooling for neuroguide (never part of the wheel)."""
