"""PySide6 station window: shows and collects; all inspection runs in the engine."""
