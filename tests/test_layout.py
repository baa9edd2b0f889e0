"""The package layout shows the flow: imports run one way, no circles, no hidden heavy imports.

Every ``recommender`` import (module level *and* inside functions) is an edge; a cycle in that
graph fails the test, whatever the import style. The one-way order is
i18n -> data -> engine -> learn -> io -> app -> front ends (cli, web).
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "recommender"

LAYERS = ["errors", "i18n", "data", "engine", "learn", "io", "app", "cli", "web"]
"""Lower index = lower layer; a module may import only its own layer or lower ones.

``i18n`` (the message catalogue, number formats, planner-facing words) sits just above
``errors``: it imports nothing else from the package, and the engine's "why" lines, the
writers in ``io`` and both front ends translate their own texts through it, so it has to be
below all of them (a catalogue above ``io`` would force every writer to take translated
texts as arguments)."""


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PKG.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.startswith("recommender"):
                    for alias in node.names:
                        sub = f"{node.module}.{alias.name}"
                        targets.append(sub if sub in modules else node.module)
            elif isinstance(node, ast.Import):
                targets += [a.name for a in node.names if a.name.startswith("recommender")]
            for t in targets:
                if t in modules and t != mod:
                    graph[mod].add(t)
    return graph


def _layer(mod: str) -> int:
    parts = mod.split(".")
    if len(parts) == 1:
        return -1  # the package root (version, exceptions)
    name = parts[1]
    if name in ("__main__", "web"):
        # the two front ends are peers: `sistercity serve` (cli) starts the web app; the
        # web app never imports the CLI (a cycle would still fail test_no_import_cycles)
        return LAYERS.index("cli")
    return LAYERS.index(name) if name in LAYERS else -1


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycles.append(stack[stack.index(n) :] + [n])
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


# Edges against the flow that are known and scheduled to go (each names its reason).
KNOWN_BACK_EDGES: set[tuple[str, str]] = set()


def test_imports_run_one_way():
    wrong = []
    for mod, deps in _graph().items():
        for dep in deps:
            if (mod, dep) in KNOWN_BACK_EDGES:
                continue
            if _layer(dep) > _layer(mod) and not dep.startswith(mod + "."):
                wrong.append(f"{mod} imports {dep}")
    assert not wrong, "imports against the flow: " + "; ".join(sorted(wrong))


def test_the_graph_sees_function_level_imports():
    # Guard against a vacuous pass: the graph must contain edges we know exist.
    graph = _graph()
    assert "recommender.data.tables" in graph["recommender.engine.pool"]  # inside a function
    assert "recommender.io.report" in graph["recommender.io.export"]


def test_i18n_is_a_leaf():
    # The catalogue must stay importable from every layer: it may use only errors.
    graph = _graph()
    for mod, deps in graph.items():
        if mod.startswith("recommender.i18n"):
            outside = [d for d in deps if not d.startswith("recommender.i18n")]
            assert set(outside) <= {"recommender.errors"}, f"{mod} imports {outside}"


HEAVY = ("pandas", "numpy", "sklearn", "rapidfuzz")


def test_help_and_version_import_nothing_heavy():
    """`sistercity --help` / `--version` start without pandas, numpy, scikit-learn or rapidfuzz."""
    import json
    import subprocess
    import sys

    code = (
        "import json, sys\n"
        "from recommender.cli import main\n"
        "rc = main(sys.argv[1:])\n"
        f"print(json.dumps([rc, [m for m in {HEAVY!r} if m in sys.modules]]))\n"
    )
    for args in (["--help"], ["--version"], ["shortlist", "--help"]):
        proc = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
        )
        rc, loaded = json.loads(proc.stdout.strip().splitlines()[-1])
        assert rc == 0, (args, proc.stderr)
        assert loaded == [], f"`sistercity {' '.join(args)}` imported {loaded}"
        assert "sistercity" in proc.stdout or "Usage" in proc.stdout


def test_readme_layout_lists_every_module():
    """README's "Layout" section names every module of the package, in its folder."""
    readme = (PKG.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    block = section.split("```", 2)[1]
    folder, listed = "", set()
    for line in block.splitlines():
        word = line.strip().split(" ", 1)[0] if line.strip() else ""
        indent = len(line) - len(line.lstrip())
        if word.endswith("/") and indent == 2:
            folder = word
        elif word.endswith(".py"):
            listed.add((folder if indent == 4 else "") + word)
    actual = {
        str(p.relative_to(PKG))
        for p in PKG.rglob("*.py")
        if p.name not in ("__init__.py", "__main__.py") and "__pycache__" not in p.parts
    }
    missing = sorted(actual - listed)
    gone = sorted(listed - actual)
    assert not missing, f"add to README's Layout section: {missing}"
    assert not gone, f"README's Layout section lists modules that do not exist: {gone}"


def test_long_modules_say_why():
    """A module over ~600 lines says in its docstring why it is one file."""
    import ast

    quiet = []
    for path in sorted(PKG.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 650:
            doc = ast.get_docstring(ast.parse(text)) or ""
            if "Why one file" not in doc:
                quiet.append(f"{path.relative_to(PKG.parent)} ({text.count(chr(10))} lines)")
    assert not quiet, "split these, or say 'Why one file' in the docstring: " + ", ".join(quiet)
