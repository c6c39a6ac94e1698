"""The learner's package and the maintainers' tools stay apart, and course_utils has no import circle."""

import ast

from course_utils.files import REPO_ROOT

PACKAGE = REPO_ROOT / "course_utils"
RUNNER_VARIABLES = ("COURSE_MODE", "COURSE_RESULTS_FILE", "COURSE_RESUME")


def _modules():
    """{dotted name: parsed source} of every module of course_utils."""
    return {".".join(path.relative_to(REPO_ROOT).with_suffix("").parts): ast.parse(path.read_text())
            for path in sorted(PACKAGE.rglob("*.py"))}


def _imported(tree):
    """Every module name ``tree`` imports, at the top or inside a function."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_only_course_utils_is_installed():
    lines = (REPO_ROOT / "pyproject.toml").read_text().splitlines()
    packages = [line.split("=", 1)[1] for line in lines if line.replace(" ", "").startswith("packages=")]
    assert [ast.literal_eval(value.strip()) for value in packages] == [["course_utils", "course_utils.checks", "course_utils.chapters"]]


def test_course_utils_never_imports_the_tools():
    for name, tree in _modules().items():
        tools = sorted(module for module in _imported(tree) if module.split(".")[0] == "tools")
        assert not tools, f"{name} imports {tools}: a learner's install has no tools/ package"


def test_course_utils_modules_import_each_other_without_a_circle():
    modules = _modules()
    graph = {name: {m for m in _imported(tree) if m in modules and m != name} for name, tree in modules.items()}

    def path_back(start, node, seen):
        for nxt in graph[node]:
            if nxt == start:
                return [node, nxt]
            if nxt not in seen:
                seen.add(nxt)
                rest = path_back(start, nxt, seen)
                if rest:
                    return [node, *rest]
        return None

    for name in graph:
        circle = path_back(name, name, set())
        assert circle is None, f"import circle: {' -> '.join(circle)}"


def test_only_runmode_reads_the_runners_settings():
    for name, tree in _modules().items():
        if name == "course_utils.runmode":
            continue
        literals = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)}
        assert not literals & set(RUNNER_VARIABLES), (
            f"{name} names {sorted(literals & set(RUNNER_VARIABLES))}: ask course_utils.runmode instead")
