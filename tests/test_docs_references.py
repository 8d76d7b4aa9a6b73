"""Pointers into the documentation lead somewhere, and nothing points at notes outside the repository.

Code comments cite `docs/<page>.md#<section>`; the anchor is the one GitHub derives from the section's heading.
The notes the project was first written from (outside the repository) do not ship, so citing them is an error.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SCANNED_DIRS = ("bitnet_desktop", "native", "tests")
SCANNED_FILES = ("README.md", "setup.py", "pyproject.toml")
TEXT_SUFFIXES = {".py", ".c", ".h", ".md", ".json", ".toml", ".txt", ".cfg", ".ini", ".qss", ".sh", ".yml", ".yaml"}
SKIPPED_DIRS = {"__pycache__", "build", ".pytest_cache"}

# Written in pieces so that this file does not match itself.
OUTSIDE_NOTES = re.compile(
    "|".join(("BITNET" + "_SPEC", "APP" + "_DESIGN", r"\.\./shared/", "/work/" + "shared", r"\bshared/[A-Z_]+\.md"))
)
# docs/<page>.md with an optional #anchor, not part of a longer path (another project's docs/ folder).
DOCS_REFERENCE = re.compile(r"(?<![\w/.-])docs/([\w.-]+\.md)(?:#([\w-]+))?")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, markup and punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)  # \w keeps letters, digits and "_", as GitHub does
    return text.replace(" ", "-")


def anchors_of(markdown: str) -> set[str]:
    """Every heading anchor of a markdown text; repeated headings get -1, -2 ... as on GitHub."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    in_fence = False
    for line in markdown.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else HEADING.match(line)
        if not match:
            continue
        base = github_anchor(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        anchors.add(base if count == 0 else f"{base}-{count}")
    return anchors


def broken_references(text: str, docs_dir: Path) -> list[str]:
    """The docs/ references in `text` whose page or anchor does not exist under `docs_dir`."""
    broken = []
    for match in DOCS_REFERENCE.finditer(text):
        page, anchor = match.group(1), match.group(2)
        path = docs_dir / page
        if not path.is_file():
            broken.append(f"docs/{page} (no such page)")
        elif anchor is not None and anchor not in anchors_of(path.read_text(encoding="utf-8")):
            broken.append(f"docs/{page}#{anchor} (no such section)")
    return broken


def broken_links(markdown: str, page: Path) -> list[str]:
    """Relative links of a docs page ([text](other.md#anchor), [text](#anchor)) that lead nowhere."""
    broken = []
    for match in MARKDOWN_LINK.finditer(markdown):
        target = match.group(1)
        if re.match(r"^[a-z]+:", target):
            continue  # http:, https:, mailto:
        file_part, _, anchor = target.partition("#")
        path = (page.parent / file_part) if file_part else page
        if not path.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and path.suffix == ".md" and anchor not in anchors_of(path.read_text(encoding="utf-8")):
            broken.append(f"{target} (no such section)")
    return broken


def scanned_files() -> list[Path]:
    files = [ROOT / name for name in SCANNED_FILES if (ROOT / name).is_file()]
    for top in SCANNED_DIRS:
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and path.suffix in TEXT_SUFFIXES and not SKIPPED_DIRS & set(path.parts):
                files.append(path)
    return files


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


# -- the helpers themselves ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("The bitnet-b1.58 graph", "the-bitnet-b158-graph"),
        ("bitnet.cpp's rendering", "bitnetcpps-rendering"),
        ("Embedding tables: F16, Q8_0, Q6_K", "embedding-tables-f16-q8_0-q6_k"),
        ("The llama graph (Falcon3, Falcon-E, Llama3-8B)", "the-llama-graph-falcon3-falcon-e-llama3-8b"),
        ("`I2_S` and [TQ2_0](x.md)", "i2_s-and-tq2_0"),
    ],
)
def test_github_anchor(heading, anchor):
    assert github_anchor(heading) == anchor


def test_anchors_skip_code_blocks_and_number_repeats():
    markdown = "# Title\n## Part\n```\n# not a heading\n```\n## Part\n"
    assert anchors_of(markdown) == {"title", "part", "part-1"}


def test_broken_references_are_found(tmp_path):
    (tmp_path / "page.md").write_text("# Page\n## A section\n", encoding="utf-8")
    d = "docs/"  # kept apart so that the repository scan below does not read these as references
    text = f"see {d}page.md#a-section, {d}page.md#gone, {d}missing.md and other/{d}elsewhere.md"
    assert broken_references(text, tmp_path) == [f"{d}page.md#gone (no such section)", f"{d}missing.md (no such page)"]


# -- the repository ----------------------------------------------------------------------------------------------


def test_nothing_cites_notes_outside_the_repository():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}"
        for path in scanned_files() + sorted(DOCS.glob("*.md"))
        for number, line in enumerate(_read(path).splitlines(), 1)
        if OUTSIDE_NOTES.search(line)
    ]
    assert not offenders, "cite docs/<page>.md#<section> instead:\n" + "\n".join(offenders)


def test_every_docs_reference_exists():
    broken = [
        f"{path.relative_to(ROOT)}: {reference}"
        for path in scanned_files()
        for reference in broken_references(_read(path), DOCS)
    ]
    assert not broken, "\n".join(broken)


def test_docs_pages_link_to_existing_pages_and_sections():
    broken = [
        f"docs/{page.name}: {link}" for page in sorted(DOCS.glob("*.md")) for link in broken_links(_read(page), page)
    ]
    assert not broken, "\n".join(broken)


def test_docs_index_lists_every_page():
    index = _read(DOCS / "README.md")
    missing = [page.name for page in sorted(DOCS.glob("*.md")) if page.name != "README.md" and f"({page.name})" not in index]
    assert not missing, f"docs/README.md does not link {missing}"
