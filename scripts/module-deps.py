#!/usr/bin/env python3
"""The crate's internal dependency picture, from its `use` lines and `crate::`/`super::` paths.

    python3 scripts/module-deps.py          # exit 1 if any check fails
    python3 scripts/module-deps.py --graph  # also print every file's dependencies

Checks, over `src/`:

1. No internal path goes through a root re-export: inside the crate an item is named by the
   module that defines it (`crate::user_id::UserId`, not `crate::UserId`).
2. No cycle between files: a file depends on the files whose items it names. A `mod.rs`
   declaring its children and re-exporting their items is structure, not a dependency; a child
   naming an item its parent only re-exports depends on the sibling that defines it.
3. No cycle between the top-level modules (`token`, `network`, `pull`, …), the same edges
   lifted to their first path segment.
4. No inherent `impl` of a type outside the top-level module that defines it: methods added
   from elsewhere (as `token` once added `Network`'s) are a dependency no `use` line shows.

Comments and doc comments are ignored (a doc link is not a dependency); `#[cfg(test)]` modules
count like any code.
"""

import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"

USE = re.compile(r"^\s*(?:pub(?:\([a-z]+\))?\s+)?use\s+([^;]+);", re.M | re.S)
MOD = re.compile(r"^\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+([a-z_0-9]+)\s*;", re.M)
PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")


def module_of(path: Path) -> tuple:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return tuple(parts)


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = []
    for line in text.splitlines():
        # Drop `//` comments, keeping `//` inside string literals well enough for this code.
        in_str = False
        cut = len(line)
        i = 0
        while i < len(line) - 1:
            c = line[i]
            if c == '"' and (i == 0 or line[i - 1] != "\\"):
                in_str = not in_str
            elif not in_str and line[i : i + 2] == "//":
                cut = i
                break
            i += 1
        out.append(line[:cut])
    return "\n".join(out)


INLINE_MOD = re.compile(r"^[ \t]*(?:pub(?:\([a-z]+\))?\s+)?mod\s+[a-z_0-9]+\s*\{", re.M)


def inline_modules_as_self(text: str) -> str:
    """Inside an inline `mod tests { … }`, `super::` names the file itself: make it `self::`."""
    out, pos = [], 0
    for found in INLINE_MOD.finditer(text):
        if found.start() < pos:
            continue
        depth, i = 0, found.end() - 1
        while i < len(text):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        out.append(text[pos : found.end()])
        out.append(re.sub(r"\bsuper::", "self::", text[found.end() : i]))
        pos = i
    out.append(text[pos:])
    return "".join(out)


def expand_use(tree: str) -> list:
    """`a::{b, c::{d, e as f}}` -> ["a::b", "a::c::d", "a::c::e"]."""
    tree = re.sub(r"\s+as\s+[A-Za-z_][A-Za-z0-9_]*", "", tree)
    tree = re.sub(r"\s+", "", tree)

    def go(prefix, s):
        if "{" not in s:
            return [prefix + s]
        head, rest = s.split("{", 1)
        assert rest.endswith("}"), s
        inner = rest[:-1]
        items, depth, cur = [], 0, ""
        for ch in inner:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if ch == "," and depth == 0:
                items.append(cur)
                cur = ""
            else:
                cur += ch
        if cur:
            items.append(cur)
        result = []
        for item in items:
            result += go(prefix + head, item)
        return result

    return go("", tree)


def main() -> int:
    files = {module_of(p): p for p in SRC.rglob("*.rs")}
    modules = set(files)
    texts = {m: inline_modules_as_self(strip_comments(p.read_text())) for m, p in files.items()}

    # Items a mod.rs (or lib.rs) re-exports, and from which child: structure, not dependency.
    reexports = {}
    structural = {}
    for m, text in texts.items():
        table = {}
        lines = set()
        for use in USE.finditer(text):
            if not re.match(r"\s*pub", use.group(0)):
                continue
            for path in expand_use(use.group(1)):
                segs = path.split("::")
                if segs[0] in ("self",):
                    segs = segs[1:]
                if segs and segs[0] not in ("crate", "super") and m + (segs[0],) in modules:
                    table[segs[-1]] = (m + tuple(segs[:-1]), segs[-1])
                    lines.add(use.start())
        reexports[m] = table
        structural[m] = lines

    root_items = reexports[()]
    through_root = []
    edges = {m: set() for m in modules}

    def resolve(base: tuple, segs: list) -> tuple:
        """The file a path names (the longest module prefix), following re-exports."""
        mod = base
        i = 0
        while i < len(segs) and mod + (segs[i],) in modules:
            mod = mod + (segs[i],)
            i += 1
        if i < len(segs):
            name = segs[i]
            seen = 0
            while name in reexports.get(mod, {}) and seen < 8:
                mod = reexports[mod][name][0]
                while mod not in modules:
                    mod = mod[:-1]
                seen += 1
        return mod

    for m, text in texts.items():
        code = text
        # Re-export lines of a module are structure: blank them out before scanning.
        for start in sorted(structural[m], reverse=True):
            end = text.index(";", start)
            code = code[:start] + " " * (end - start) + code[end:]
        for found in PATH.finditer(code):
            kind, rest = found.group(1), found.group(2)
            segs = [s for s in rest.split("::") if s]
            if kind == "crate":
                base = ()
                if segs and segs[0] in root_items and m != ():
                    through_root.append((files[m], "crate::" + "::".join(segs)))
            elif kind == "super":
                base = m[:-1]
                while segs and segs[0] == "super":
                    base, segs = base[:-1], segs[1:]
            else:
                base = m
            target = resolve(base, segs)
            if target != m and target != ():
                edges[m].add(target)
        # Inside the braces of a `use`, the paths above saw only the prefix: expand them.
        for use in USE.finditer(code):
            for path in expand_use(use.group(1)):
                segs = path.split("::")
                if segs[0] == "crate":
                    base, segs = (), segs[1:]
                    if segs and segs[0] in root_items and m != ():
                        through_root.append((files[m], "crate::" + "::".join(segs)))
                elif segs[0] == "super":
                    base = m[:-1]
                    segs = segs[1:]
                    while segs and segs[0] == "super":
                        base, segs = base[:-1], segs[1:]
                elif segs[0] == "self":
                    base, segs = m, segs[1:]
                elif m + (segs[0],) in modules:
                    base = m
                else:
                    continue
                target = resolve(base, segs)
                if target != m and target != ():
                    edges[m].add(target)
    # A parent module's `mod child;` is structure; a child naming its ancestor's own items
    # is a dependency on that ancestor file, and stays.

    failed = False
    through_root = sorted(set(through_root))
    print(f"1. internal paths through a root re-export: {len(through_root)}")
    for path, item in through_root:
        print(f"   {path.relative_to(SRC.parent)}: {item}")
    failed |= bool(through_root)

    def cycles(graph):
        index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

        def strong(v):
            index[v] = low[v] = counter[0]
            counter[0] += 1
            stack.append(v)
            on.add(v)
            for w in graph.get(v, ()):
                if w not in index:
                    strong(w)
                    low[v] = min(low[v], low[w])
                elif w in on:
                    low[v] = min(low[v], index[w])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))

        sys.setrecursionlimit(10000)
        for v in sorted(graph):
            if v not in index:
                strong(v)
        return out

    name = lambda m: "::".join(m) or "crate"
    file_cycles = cycles(edges)
    print(f"2. cycles between files: {len(file_cycles)}")
    for comp in file_cycles:
        print("   " + " <-> ".join(name(m) for m in comp))
        for a in comp:
            for b in sorted(edges[a] & set(comp)):
                print(f"      {name(a)} -> {name(b)}")
    failed |= bool(file_cycles)

    top = {}
    for a, targets in edges.items():
        if not a:
            continue
        for b in targets:
            if b and b[0] != a[0]:
                top.setdefault(a[0], set()).add(b[0])
    top_cycles = cycles(top)
    print(f"3. cycles between top-level modules: {len(top_cycles)}")
    for comp in top_cycles:
        print("   " + " <-> ".join(comp))
    failed |= bool(top_cycles)
    print("   order: " + "; ".join(f"{a} -> {', '.join(sorted(b))}" for a, b in sorted(top.items())))

    defined = {}
    for m, text in texts.items():
        for found in re.finditer(r"^\s*(?:pub(?:\([a-z]+\))?\s+)?(?:struct|enum)\s+([A-Z][A-Za-z0-9_]*)", text, re.M):
            defined.setdefault(found.group(1), set()).add(m)
    foreign = []
    for m, text in texts.items():
        for found in re.finditer(r"^\s*impl(?:<[^{]*?>)?\s+([A-Z][A-Za-z0-9_]*)(?:<[^{]*?>)?\s*(?:where[^{]*)?\{", text, re.M):
            if " for " in found.group(0):
                continue  # a trait impl: the trait's contract, not methods added to a type
            homes = defined.get(found.group(1), set())
            if homes and m and all(h and h[0] != m[0] for h in homes):
                foreign.append(f"{files[m].relative_to(SRC.parent)}: impl {found.group(1)}")
    print(f"4. inherent impls outside the type's module: {len(foreign)}")
    for line in sorted(foreign):
        print("   " + line)
    failed |= bool(foreign)

    if "--graph" in sys.argv:
        for m in sorted(edges):
            print(f"{name(m)}: {', '.join(sorted(name(t) for t in edges[m]))}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
