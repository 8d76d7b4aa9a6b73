"""Prints the command in the fenced block that follows `<!-- NAME -->` in README.md."""
import re
import sys
from pathlib import Path

name = sys.argv[1]
readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
match = re.search(rf"<!-- {re.escape(name)} -->\s*```[a-z]*\n(.+?)\n```", readme, re.S)
if not match:
    sys.exit(f"README.md has no <!-- {name} --> block")
print(match.group(1).strip())
