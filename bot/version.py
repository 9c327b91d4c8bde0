"""The desk's version, defined here only (R10: X.Y stable, X.Y.Z hotfix).

Read by the package metadata (pyproject), ``ctv-desk --version``, ``/health``,
the backoffice's ``/version`` and the image's label (the Dockerfile checks its
build argument against this file).
"""

__version__ = "0.2"
