import mmap
import os
import sys

import pytest

from bitnet_desktop.meters.memory import MemorySample, mapped_file_rss, sample_memory

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/smaps")
PAGE = mmap.PAGESIZE


def make_file(path, pages):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(range(256)) * (pages * PAGE // 256))
    return path


def touch(mapping, pages):
    for page in range(pages):
        mapping[page * PAGE]


@pytest.fixture
def mapped(tmp_path):
    path = make_file(tmp_path / "model.gguf", 64)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        yield path, m


@linux_only
def test_counts_only_the_pages_touched(mapped):
    path, m = mapped
    touch(m, 16)
    before = mapped_file_rss(path)
    assert 16 * PAGE <= before <= 64 * PAGE  # the kernel may read ahead past the touched pages
    touch(m, 64)
    assert mapped_file_rss(path) == 64 * PAGE


@linux_only
def test_a_symlink_names_the_same_mapping(mapped, tmp_path):
    path, m = mapped
    touch(m, 64)
    link = tmp_path / "link.gguf"
    link.symlink_to(path)
    assert mapped_file_rss(link) == 64 * PAGE


@linux_only
def test_a_path_that_ends_another_mapped_path_is_not_counted(tmp_path):
    inner = tmp_path / "m.gguf"
    make_file(inner, 4)
    outer = make_file(tmp_path / "sub" / str(inner).lstrip(os.sep), 8)  # ends with str(inner)
    with open(outer, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        touch(m, 8)
        assert mapped_file_rss(outer) == 8 * PAGE
        assert mapped_file_rss(inner) == 0


def test_sums_every_mapping_of_the_file_deleted_ones_too(tmp_path):
    smaps = tmp_path / "smaps"
    smaps.write_text(
        "7f0000000000-7f0000100000 r--p 00000000 fd:01 42      /models/m.gguf\n"
        "Size:               1024 kB\nKernelPageSize:        4 kB\nRss:                 100 kB\nPss:  100 kB\n"
        "7f0000100000-7f0000200000 r--p 00000000 fd:01 43      /other/m.gguf\n"
        "Size:               1024 kB\nRss:                 999 kB\n"
        "7f0000200000-7f0000300000 r--p 00100000 fd:01 42      /models/m.gguf\n"
        "Size:               1024 kB\nRss:                  20 kB\n"
        "7f0000300000-7f0000400000 r--p 00200000 fd:01 42      /models/m.gguf (deleted)\n"
        "Size:               1024 kB\nRss:                   3 kB\n"
        "7f0000400000-7f0000500000 rw-p 00000000 00:00 0 \n"
        "Size:               1024 kB\nRss:                 500 kB\n")
    assert mapped_file_rss("/models/m.gguf", smaps=str(smaps)) == 123 * 1024


@linux_only
def test_sample_memory_reports_the_model_share(mapped):
    path, m = mapped
    touch(m, 64)
    sample = sample_memory(path, model_allocated=1000)
    assert sample.model_file_resident == 64 * PAGE
    assert sample.model_share == 64 * PAGE + 1000
    assert sample.rss > sample.model_file_resident
    assert "/proc/self/smaps" in sample.source


def test_without_a_model_only_rss_is_known():
    sample = sample_memory()
    assert sample.rss > 0
    assert sample.model_file_resident is None and sample.model_share is None


@pytest.mark.parametrize("resident, allocated, share", [(None, None, None), (10, None, 10), (None, 5, 5), (10, 5, 15)])
def test_model_share_adds_what_is_known(resident, allocated, share):
    assert MemorySample(1, resident, allocated, "test").model_share == share
