"""The project's exception.

It lives in the basics (the package root, ``cropcast``), so that every stage can raise it
without importing from a later one.
"""

__all__ = ["CropcastError"]


class CropcastError(ValueError):
    """A problem the user can fix: bad input, a bad setting, a missing file.

    The message names what is wrong, where (setting, file, row, county, date), what is
    allowed, and how to fix it. The command line prints it as one line, without a
    traceback.
    """
