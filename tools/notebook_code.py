"""Import the functions and classes a notebook defines, without running the notebook.

``notebook_definitions("solutions/04_gan_mnist.ipynb")`` returns a namespace with the notebook's
imports, functions and classes, plus the module-level assignments those functions read (such
as ``LATENT_DIM = 100`` or ``bce = keras.losses.BinaryCrossentropy(...)``). Nothing else runs:
no data is loaded and nothing is trained. The speed benchmark uses it to time the exact code
learners see in the solutions.
"""

import ast
import linecache
import symtable

from pathlib import Path

import nbformat


def _parsed_cells(notebook):
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        try:
            yield ast.parse(cell.source)
        except SyntaxError:  # IPython magics (the Colab set-up cell): not Python
            continue


def global_names(tree):
    """Module-level names that ``tree`` reads: in function bodies, default values, decorators."""
    table = symtable.symtable(ast.unparse(tree), "<notebook>", "exec")
    names = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    stack = list(table.get_children())
    while stack:
        scope = stack.pop()
        names.update(s.get_name() for s in scope.get_symbols() if s.is_global() and s.is_referenced())
        stack.extend(scope.get_children())
    return names


def _assigned(statement):
    return {node.id for target in statement.targets for node in ast.walk(target) if isinstance(node, ast.Name)}


def _defined(statement):
    """The name a function or class definition binds, or the names an assignment binds."""
    if isinstance(statement, (ast.FunctionDef, ast.ClassDef)):
        return {statement.name}
    return _assigned(statement)


def notebook_definitions(path, names=None):
    """Namespace of a notebook's imports, functions, classes and the globals they need.

    ``names``: only these functions, classes and globals (and the definitions and assignments they need, found
    transitively) instead of all of them; a notebook's later cells may assign globals that are expensive to
    compute (a trained model), and a function nobody asked for should not pull them in.
    """
    statements = [s for tree in _parsed_cells(nbformat.read(path, as_version=4)) for s in tree.body]
    imports = [s for s in statements if isinstance(s, (ast.Import, ast.ImportFrom))]
    definitions = [s for s in statements if isinstance(s, (ast.FunctionDef, ast.ClassDef))]
    candidates = definitions + [s for s in statements if isinstance(s, ast.Assign)]
    if names is None:
        chosen = list(definitions)
    else:
        chosen = [s for s in candidates if _defined(s) & set(names)]
        missing = set(names) - set().union(*(_defined(s) for s in chosen))
        if missing:
            raise ValueError(f"{path} defines no function, class or global named {', '.join(sorted(missing))}")
    while True:  # add the definitions and assignments that chosen code reads, until nothing new is needed
        needed = global_names(ast.Module(body=imports + chosen, type_ignores=[]))
        new = [s for s in candidates if s not in chosen and _defined(s) & needed]
        if not new:
            break
        chosen += new
    kept = imports + chosen
    source = ast.unparse(ast.Module(body=[s for s in statements if s in kept], type_ignores=[]))
    filename = f"<definitions of {path}>"
    # AutoGraph (tf.function) reads a function's source through linecache: register it there.
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    namespace = {"__name__": f"notebook:{Path(path).stem}"}
    exec(compile(source, filename, "exec"), namespace)
    return namespace
