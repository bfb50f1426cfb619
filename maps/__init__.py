"""Folium maps and printable pages built from plain data; no database or web imports."""
