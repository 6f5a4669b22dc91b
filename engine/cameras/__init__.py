"""Industrial camera sources (issue 18), each behind an optional extra of the package.

`engine.cameras.pylon`: Basler cameras through pypylon (`pip install inspection-station[pylon]`).
Importing this package imports no camera SDK; each SDK is imported when a source is opened.
"""
