"""Pure geometry and algorithms for grids: no database, no web.

Functions take GeoDataFrames, shapely geometries, graphs and numbers, and return the same.
"""
