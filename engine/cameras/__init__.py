"""Industrial camera sources (issue 18), each backend behind an optional extra of the package.

- `spec`: camera specs (`pylon:SERIAL`, `genicam:SERIAL@producer.cti`), opened by name from
  engine.sources wherever a source is chosen;
- `common`: what both backends share: settings (`CameraSetup`, a recipe's camera table), frames,
  the node writes and the pixel-format conversion;
- `pylon`: Basler cameras through pypylon (`pip install inspection-station[pylon]`);
- `genicam`: any GenICam camera through its GenTL producer and harvesters
  (`pip install inspection-station[genicam]`).

Importing this package imports no camera SDK; each SDK is imported when a camera of its backend
is opened or listed. docs/cameras.md describes them.
"""
