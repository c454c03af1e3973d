#!/usr/bin/env python3
"""Puts one section into docs/BENCHMARKS.md (or another markdown file).

    bench/put_section.py DOC SECTION_FILE

SECTION_FILE starts with `<!-- NAME:begin -->` and ends with `<!-- NAME:end -->`. The
section of that name in DOC is replaced, or the section is appended when DOC has none
(DOC is created if missing). bench/run.sh keeps such sections when it rewrites the rest.
"""
import re
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    doc_path, section_path = sys.argv[1], sys.argv[2]
    section = open(section_path, encoding="utf-8").read()
    m = re.match(r"<!-- ([a-z-]+):begin -->", section)
    if not m or f"<!-- {m.group(1)}:end -->" not in section:
        sys.exit(f"{section_path}: not a section (begin/end markers missing)")
    name = m.group(1)
    if not section.endswith("\n"):
        section += "\n"
    try:
        text = open(doc_path, encoding="utf-8").read()
    except OSError:
        text = "# ppcluster benchmarks\n"
    pat = re.compile(rf"<!-- {name}:begin -->.*?<!-- {name}:end -->\n?", re.S)
    if pat.search(text):
        text = pat.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    open(doc_path, "w", encoding="utf-8").write(text)


if __name__ == "__main__":
    main()
