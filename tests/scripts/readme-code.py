#!/usr/bin/env python3
"""Writes the README's Kotlin and Swift examples out as source files, so the suites compile
and run them and they cannot go stale. Usage: readme-code.py README KOTLIN_OUT SWIFT_OUT.
Each is the first fenced block of its language after the line `<!-- compiled by tests/run -->`.
"""
import pathlib
import re
import sys

readme, kotlin_out, swift_out = (pathlib.Path(p) for p in sys.argv[1:4])
text = readme.read_text()
blocks = {}
for language, code in re.findall(r"<!-- compiled by tests/run -->\s*```(\w+)\n(.*?)```", text, re.S):
    blocks.setdefault(language, code)
missing = {"kotlin", "swift"} - blocks.keys()
if missing:
    sys.exit(f"the README has no compiled {', '.join(sorted(missing))} example")
kotlin_out.parent.mkdir(parents=True, exist_ok=True)
kotlin_out.write_text("// From README.md, written by tests/scripts/readme-code.py.\npackage dev.curbside.readme\n\n" + blocks["kotlin"])
swift_out.parent.mkdir(parents=True, exist_ok=True)
swift_out.write_text("// From README.md, written by tests/scripts/readme-code.py.\n" + blocks["swift"])
print(f"README examples: {kotlin_out.name}, {swift_out.name}")
