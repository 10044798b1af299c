"""Schema migrations, one module a version: ``mNNNN_<name>.py`` defining ``SQL``.

A new migration takes the next number above the highest one present. Applied migrations are
never edited once released; change the schema with a new one.
"""
