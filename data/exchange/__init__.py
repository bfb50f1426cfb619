"""Layers out and in for city platforms: exports, OGC API - Features, dividing a file."""
