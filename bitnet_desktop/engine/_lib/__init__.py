"""Holds the built native kernel library (libbitnet) and its header; filled by the build."""
