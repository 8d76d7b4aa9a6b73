"""The Qt desktop app (PySide6 Widgets). The only package that imports Qt."""
