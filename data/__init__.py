"""zoo's bundled corpora, installed as the package ``zoo._bundled``.

This folder is data, not code to import: setup.cfg maps it into the package
(``package_dir``) so that a wheel, an editable install and a checkout all find
the same files with ``importlib.resources.files("zoo._bundled")``. The loaders
live in `zoo.data`; `README.md` here gives each corpus's provenance, licence,
sizes, checksums and split, and ``build_shakespeare.py``, ``build_tang.py`` and
``build_classics.py`` rebuild the files.
"""
