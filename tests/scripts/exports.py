#!/usr/bin/env python3
"""Every exported function is exercised by a suite: lists each function the generated Kotlin
API exports (the methods of every object, the constructors, the top-level functions) and looks
for a call of it, on its receiver, in the Kotlin and Swift suites. Fails when one is called by
neither. Usage: exports.py GENERATED_KOTLIN_DIR SUITE_DIR...
"""
import pathlib
import re
import sys

generated, suites = pathlib.Path(sys.argv[1]), [pathlib.Path(p) for p in sys.argv[2:]]
api = (generated / "dev/curbside/curbside.kt").read_text()

# Each object's methods, from its generated interface; callback interfaces are the app's.
exports = []  # (object, method, receiver patterns)
for name, body in re.findall(r"public interface (\w+)Interface \{(.*?)\n\}", api, re.S):
    methods = re.findall(r"^    (?:suspend )?fun `(\w+)`", body, re.M)
    receiver = {"CurbsideCore": r"\w+", "Subscription": r"\w*[sS]ubscription"}.get(
        name, re.escape(name[0].lower() + name[1:]) + r"\(\)")
    exports += [(name, m, [rf"{receiver}\s*\.\s*{m}\s*\("]) for m in methods]
# Constructors are named in the class's companion: `CurbsideCore.open(...)`.
for cls in re.findall(r"open class (\w+)\s*:", api):
    block = api.split(f"open class {cls}", 1)[1].split("\nopen class ", 1)[0]
    companion = block.split("companion object", 1)[1] if "companion object" in block else ""
    for ctor in re.findall(r"^     suspend fun `(\w+)`|^     fun `(\w+)`", companion, re.M):
        m = ctor[0] or ctor[1]
        exports.append((cls, m, [rf"{cls}\s*\.\s*{m}\s*\("]))
# Top-level functions.
exports += [("", m, [rf"\b{m}\s*\("])
            for m in re.findall(r"^(?:\s*\*/)?\s?(?:suspend )?fun `(\w+)`", api, re.M)]

sources = {}
for suite in suites:
    language = "Swift" if any(suite.rglob("*.swift")) else "Kotlin"
    text = "\n".join(p.read_text() for p in suite.rglob("*") if p.suffix in (".kt", ".swift"))
    sources[language] = sources.get(language, "") + text

missing = []
for obj, method, patterns in exports:
    found = [lang for lang, text in sources.items() if any(re.search(p, text) for p in patterns)]
    label = f"{obj}.{method}" if obj else method
    print(f"  {label:<36} {', '.join(sorted(found)) or 'NOT EXERCISED'}")
    if not found:
        missing.append(label)
print(f"Exports: {len(exports) - len(missing)} passed, {len(missing)} failed, 0 skipped")
sys.exit(1 if missing or not exports else 0)
