"""Readers of the data users have: NASS Quick Stats, generic tables, boundaries.

Every reader takes explicit paths (nothing is read outside them), validates at the door
and raises :class:`features.errors.CropcastError` naming the file, the row or column, the
bad value and what was expected.
"""
