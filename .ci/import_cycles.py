#!/usr/bin/env python3
"""Import cycles between the server's modules (STYLE.md practice 15: calls go down).

Reads every `crate::…` and `super::…` path in crates/rampart-server/src (comments
stripped), builds the graph of which module refers to which, and prints its cycles at two
levels: between the top-level modules (`oauth`, `accounts`, `store`, …) and between the
sibling files of each folder (`oauth/token/password.rs` → `oauth::token`, …; a folder's
`mod.rs` is its facade and is left out of its own folder's graph: a parent names its
children by declaring them).

One cycle is allowed: utoipa's doc aggregation. The OpenAPI document (`openapi`, and a
folder's `openapi.rs`) lists the handlers' path items while the handlers name the
document's shared response types; references *from* an `openapi` module are reported
but do not make a cycle forbidden. Exits 1 when any other cycle exists.

Usage: .ci/import_cycles.py [SRC_DIR] [--edges] [--aggregator MODULE::PATH]...
"""

import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SRC = ROOT / "crates" / "rampart-server" / "src"
# The modules whose references are doc aggregation (utoipa `#[openapi(paths(...))]`).
AGGREGATORS = {("openapi", "document"), ("admin", "openapi")}

PATH_RE = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE_GROUP_RE = re.compile(r"\buse\s+(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*)\}\s*;", re.S)


def strip_comments(text):
    """Drops // and /* */ comments (doc comments name modules without using them)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = []
    for line in text.splitlines():
        # A `//` inside a string literal (a URL) is rare in paths we care about; cut at the
        # first `//` that is not part of `://`.
        cut = re.search(r"(?<!:)//", line)
        out.append(line[: cut.start()] if cut else line)
    return "\n".join(out)


def module_of(path, src):
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return parts


def group_items(body):
    """`{a, b::c, d::{e, f}}` → [['a'], ['b','c'], ['d','e'], ['d','f']] (one level deep)."""
    items, depth, current = [], 0, ""
    for ch in body:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += ch
    items.append(current)
    paths = []
    for item in items:
        item = item.strip()
        if not item:
            continue
        if "{" in item:
            head, _, rest = item.partition("{")
            head = [p for p in head.strip().rstrip(":").split("::") if p]
            for sub in group_items(rest.rstrip("}")):
                paths.append(head + sub)
        else:
            paths.append([p.strip() for p in item.split(" as ")[0].split("::") if p.strip()])
    return paths


def resolve(module, is_facade, anchor, segments):
    """The absolute module path of `anchor::segments` written in `module`."""
    if anchor == "crate":
        return segments
    # `super` in a facade (mod.rs) is the folder's parent; in a file, the folder.
    base = module[:-1] if module else []
    while segments and segments[0] == "super":
        base = base[:-1]
        segments = segments[1:]
    del is_facade
    return base + segments


def references(src):
    """{module tuple: set of referenced absolute paths (tuples)}."""
    refs = defaultdict(set)
    for path in sorted(src.rglob("*.rs")):
        module = module_of(path, src)
        facade = path.name in ("mod.rs", "lib.rs", "main.rs")
        text = strip_comments(path.read_text(encoding="utf-8"))
        for m in USE_GROUP_RE.finditer(text):
            prefix = [p for p in m.group(2).split("::") if p]
            for item in group_items(m.group(3)):
                if item and item[0] == "self":
                    item = item[1:]
                refs[tuple(module)].add(tuple(resolve(module, facade, m.group(1), prefix + item)))
        text = USE_GROUP_RE.sub("", text)
        for m in PATH_RE.finditer(text):
            segments = [p for p in m.group(2).split("::") if p]
            refs[tuple(module)].add(tuple(resolve(module, facade, m.group(1), segments)))
    return refs


def modules(src):
    return {tuple(module_of(p, src)) for p in src.rglob("*.rs")}


def edges_at(refs, known, folder):
    """Edges between the children of `folder` (a tuple; () = top level)."""
    depth = len(folder)
    edges = defaultdict(set)
    for source, targets in refs.items():
        if source[:depth] != folder or len(source) <= depth:
            continue
        a = source[depth]
        for target in targets:
            if target[:depth] != folder or len(target) <= depth:
                continue
            b = target[depth]
            if a == b or (folder + (b,)) not in known and not any(
                k[: depth + 1] == folder + (b,) for k in known
            ):
                continue
            edges[a].add((b, source))
    return edges


def cycles(nodes, adjacency):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(adjacency.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def witness(component, strict, edges):
    """One shortest cycle through the first node of `component`, edge by edge, each with a
    file that makes it."""
    start = component[0]
    members = set(component)
    parents, frontier = {start: None}, [start]
    while frontier:
        following = []
        for a in frontier:
            for b in sorted(strict.get(a, set()) & members):
                if b == start:
                    path = [a]
                    while parents[path[-1]] is not None:
                        path.append(parents[path[-1]])
                    path.reverse()
                    path.append(start)
                    lines = []
                    for x, y in zip(path, path[1:]):
                        sources = sorted("::".join(src) for t, src in edges[x]
                                         if t == y and tuple(src) not in AGGREGATORS)
                        lines.append(f"{x} -> {y}   (in {', '.join(sources)})")
                    return lines
                if b not in parents:
                    parents[b] = a
                    following.append(b)
        frontier = following
    return []


def main():
    argv = sys.argv[1:]
    while "--aggregator" in argv:
        i = argv.index("--aggregator")
        AGGREGATORS.add(tuple(argv[i + 1].split("::")))
        del argv[i : i + 2]
    args = [a for a in argv if not a.startswith("--")]
    show_edges = "--edges" in argv
    src = Path(args[0]) if args else DEFAULT_SRC
    refs = references(src)
    known = modules(src)
    folders = sorted({m[:-1] for m in known if len(m) >= 2} | {()})
    forbidden = 0
    for folder in folders:
        edges = edges_at(refs, known, folder)
        nodes = set(edges) | {b for targets in edges.values() for b, _ in targets}
        full = {a: {b for b, _ in t} for a, t in edges.items()}
        strict = {
            a: {b for b, source in t if tuple(source) not in AGGREGATORS}
            for a, t in edges.items()
        }
        name = "::".join(folder) or "(top level)"
        for component in cycles(nodes, full):
            bad = cycles(set(component), {a: strict.get(a, set()) & set(component) for a in component})
            verdict = "FORBIDDEN" if bad else "allowed (doc aggregation only)"
            print(f"{name}: cycle {{{', '.join(component)}}}: {verdict}")
            for sub in bad:
                forbidden += 1
                for line in witness(sub, strict, edges):
                    print(f"    {line}")
        if show_edges:
            for a in sorted(full):
                print(f"  {name}: {a} -> {', '.join(sorted(full[a]))}")
    print(f"{forbidden} forbidden cycle(s)")
    return 1 if forbidden else 0


if __name__ == "__main__":
    sys.exit(main())
