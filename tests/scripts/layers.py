#!/usr/bin/env python3
"""The architecture's rules, checked (ARCHITECTURE.md says why):

1. every workspace crate has a layer in LAYERS below, and depends (normal and build
   dependencies) only on crates of lower layers: every arrow points down, siblings never
   depend on each other;
2. SQL is written only in curbside-store: no SQL statement in any other crate's sources, and
   only the store (and the types crate, for its error type) depends on rusqlite;
3. no source file (Rust, Kotlin, Swift, Python) is over 600 lines: a longer one holds more
   than one concept;
4. no user-visible text is written in the Android Kotlin sources (the library and the sample
   app): every text comes from string resources, in English and Finnish, so a city words and
   translates its app without touching code; each string exists in both languages.

Reads `cargo metadata` and the sources. Prints one line per rule checked and a summary line
`Layers: N passed, M failed`; exits non-zero on any failure, including when it cannot run.
"""

import json
import pathlib
import re
import subprocess
import sys

# Layer of each crate: a crate may depend only on crates with a smaller number.
LAYERS = {
    "curbside-open311": 0,  # the GeoReport v2 protocol
    "curbside-photo": 0,  # the photo pipeline
    "curbside-types": 1,  # the shared vocabulary and the error
    "curbside-store": 2,  # SQLite: the only SQL
    "curbside-servers": 3,  # settings, keys, clients, pauses, learnt quirks
    "curbside-outbox": 4,  # the outbox and its engine
    "curbside-city": 4,  # profiles, catalog, validation, nearby
    "curbside-core": 5,  # the facade
    "curbside-sandbox": 5,  # the stubborn test city (on the facade's level: nothing uses it
                            # but the CLI and tests)
    "curbside-ffi": 6,  # Kotlin and Swift
    "curbside-cli": 6,  # the command line
    "uniffi-bindgen": 6,  # the bindings generator
    "curbside-size-probe": 0,  # the benchmark's size reference: depends on no Curbside crate
}

# Crates whose own sources may hold SQL, and why.
SQL_ALLOWED = {
    "curbside-store": "Curbside's database",
    "curbside-sandbox": "the test city's own database, not Curbside's",
    "curbside-size-probe": "one query, to link SQLite as the product does",
}
RUSQLITE_ALLOWED = set(SQL_ALLOWED) | {"curbside-types"}  # types: Error::Database

MAX_LINES = 600

SQL = re.compile(
    r'"\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|PRAGMA|REPLACE|VACUUM|ATTACH)\s',
    re.IGNORECASE,
)


def main() -> int:
    repo = pathlib.Path(__file__).resolve().parents[2]
    try:
        meta = json.loads(
            subprocess.run(
                ["cargo", "metadata", "--format-version", "1", "--no-deps",
                 "--manifest-path", str(repo / "Cargo.toml")],
                check=True, capture_output=True, text=True,
            ).stdout
        )
    except (subprocess.CalledProcessError, OSError, json.JSONDecodeError) as e:
        print(f"layers: cannot read cargo metadata: {e}")
        print("Layers: 0 passed, 1 failed")
        return 1

    passed, failures = 0, []
    packages = meta["packages"]
    names = {p["name"] for p in packages}

    for p in packages:
        name = p["name"]
        if name not in LAYERS:
            failures.append(f"{name}: not in tests/scripts/layers.py's LAYERS; give it a layer")
            continue
        for dep in p["dependencies"]:
            if dep["kind"] == "dev":
                continue  # tests may use anything
            target = dep["name"]
            if target in names:
                if LAYERS.get(target, 99) >= LAYERS[name]:
                    failures.append(
                        f"{name} (layer {LAYERS[name]}) depends on {target} "
                        f"(layer {LAYERS.get(target, '?')}): arrows must point down"
                    )
                else:
                    passed += 1
            elif target == "rusqlite":
                if name in RUSQLITE_ALLOWED:
                    passed += 1
                else:
                    failures.append(f"{name} depends on rusqlite: only curbside-store talks to SQLite")

        if name in SQL_ALLOWED:
            continue
        src = pathlib.Path(p["manifest_path"]).parent / "src"
        for path in sorted(src.rglob("*.rs")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if SQL.search(line):
                    rel = path.relative_to(repo)
                    failures.append(f"{rel}:{number}: SQL outside curbside-store: {line.strip()}")
        passed += 1

    # 3. Files an afternoon's reader can hold: generated code and build output excluded.
    skip = {"target", ".git", "node_modules", "build", ".build", ".gradle"}
    for path in sorted(repo.rglob("*")):
        if path.suffix not in {".rs", ".kt", ".swift", ".py"} or not path.is_file():
            continue
        if skip.intersection(path.relative_to(repo).parts):
            continue
        count = len(path.read_text(encoding="utf-8", errors="replace").splitlines())
        if count > MAX_LINES:
            failures.append(f"{path.relative_to(repo)}: {count} lines, over {MAX_LINES}")
        else:
            passed += 1

    # 4. Texts from resources: a literal that reads as words (two words, or one capitalised
    # word) in the Android Kotlin sources is a text the user would see. Tags, MIME types,
    # file names and templates of values are not.
    words = re.compile(r"[A-Za-z]{2,}[,.:;!?'’…]*\s+[A-Za-z]{2,}|^[A-Z][a-z]+(?:…|[.!?])?$")
    literal = re.compile(r'"((?:[^"\\]|\\.)*)"')
    android = [repo / "android-sample/app/src/main", repo / "android-sample/curbside/src/main"]
    for root in android:
        for path in sorted(root.rglob("*.kt")):
            in_doc = False
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.strip()
                if code.startswith("/*"):
                    in_doc = True
                # Comments, annotations, and a programmer's error (never shown to a user).
                programmer = re.search(r"\b(error|check|require|checkNotNull|requireNotNull)\(", code)
                if in_doc or code.startswith("//") or code.startswith("@") or programmer:
                    in_doc = in_doc and "*/" not in code
                    continue
                code = code.split(" //")[0]
                for text in literal.findall(code):
                    bare = re.sub(r"\$\{[^}]*\}|\$[A-Za-z_]+", "", text).strip()
                    if words.search(bare):
                        failures.append(f"{path.relative_to(repo)}:{number}: a user-visible text in code: \"{text}\"")
        passed += 1
    for res in [repo / "android-sample/app/src/main/res", repo / "android-sample/curbside/src/main/res"]:
        names = lambda folder: set(re.findall(r'<string name="([^"]+)"', (res / folder / "strings.xml").read_text(encoding="utf-8")))
        english, finnish = names("values"), names("values-fi")
        for missing in sorted(english ^ finnish):
            failures.append(f"{res.relative_to(repo)}: string {missing} is not in both English and Finnish")
        passed += 1

    for failure in failures:
        print(f"FAILED {failure}")
    print(f"Layers: {passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
