"""How much of a memory-mapped file this process keeps resident (Linux only): the app's own
reader, under the name the engine tests use."""
from bitnet_desktop.meters.memory import mapped_file_rss as mapped_rss

__all__ = ["mapped_rss"]
