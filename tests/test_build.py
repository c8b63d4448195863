"""`make build` (scripts/package.py): what ships loads on a read-only Lambda without compiling, the
code's modules and the validators of its JSON Schemas alike."""

from __future__ import annotations

import os
import re
import subprocess
import zipfile
from pathlib import Path

import project_checks as checks
from conftest import render
from model import build_model

ALL_SERVICES = ["dynamodb", "sqs", "s3", "events", "cognito", "secrets", "postgres", "redis"]
# How `python -v` says where a module's code came from: a .pyc, or a source it compiled.
CODE_FROM = re.compile(r"^# code object from '?([^']+?)'?$", re.M)


MARK = "# drivers loaded"
# Runs in the project's Python: imports the drivers the artifact's code names (they ship as source),
# prints MARK, then imports the handlers' modules and every module of the layer that the code
# imports anywhere (a function's first invocation runs imports inside functions too).
IMPORT_ALL = """
import ast, importlib, sys
from pathlib import Path
task, layer, drivers, modules = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3].split(","), sys.argv[4:]
for path in task.rglob("*.py"):
    for node in ast.walk(ast.parse(path.read_bytes())):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            modules.append(node.module)
shipped = [n for n in modules if (layer / n.split(".")[0]).is_dir() or (layer / f"{n.split('.')[0]}.py").exists()]
for name in shipped:  # the drivers first, and what they import: they ship as source
    if name.split(".")[0] in drivers:
        importlib.import_module(name)
print("# drivers loaded", file=sys.stderr)
for name in [*sys.argv[4:], *shipped]:
    importlib.import_module(name)
"""


# Runs in the project's Python, in an unpacked artifact: every object schema its modules define gets
# the validator the build shipped; making one would fail, and so would importing fastjsonschema.
# Prints how many schemas it checked.
USES_SHIPPED = """
import importlib, sys
from pathlib import Path
def refuse(*args, **kwargs):
    raise AssertionError("a validator was made at run time: the build did not ship it")
task, validation = Path(sys.argv[1]), importlib.import_module(sys.argv[2])
validation.code = refuse
count = 0
for path in sorted(task.rglob("*.py")):
    parts = path.relative_to(task).with_suffix("").parts
    module = importlib.import_module(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    for schema in validation.schemas(vars(module)):
        validation.validator(schema)
        count += 1
assert "fastjsonschema" not in sys.modules, "the shipped validators imported fastjsonschema"
print(count)
"""


def test_the_functions_and_what_they_import_from_the_layer_load_from_shipped_bytecode(copie, tmp_path):
    project = render(copie, {"services": ALL_SERVICES, "domains": ["orders", "billing"]})
    checks.sync(project)
    env = checks.project_env(project)
    build = [checks.tool("uv"), "run", "--no-sync", "python", "scripts/package.py"]
    checks.run(build, project, env)
    zips = sorted((project / "build").rglob("*.zip"))
    first = {path: path.read_bytes() for path in zips}
    checks.run(build, project, env)
    assert [path for path in zips if path.read_bytes() != first[path]] == [], "the build is not reproducible"

    model = build_model(checks.load_answers(project))
    layer = tmp_path / "opt"
    zipfile.ZipFile(project / "build" / "layer.zip").extractall(layer)
    checks.read_only(layer)
    drivers = set(model.layer_drivers)
    assert drivers == {"redis", "pg8000", "yoyo"}
    variables = {
        "STAGE": "dev",
        "POWERTOOLS_SERVICE_NAME": model.slug,
        "POWERTOOLS_METRICS_NAMESPACE": "Bench",
    }
    variables |= {name: "x" for function in model.functions for name, _ in function.environment}
    python = str(project / ".venv" / "bin" / "python")
    for artifact in model.artifacts:
        task = tmp_path / "var-task" / artifact.name
        zipfile.ZipFile(project / "build" / "functions" / f"{artifact.name}.zip").extractall(task)
        checks.read_only(task)
        handlers = sorted({f.module for f in model.functions if f.artifact == artifact.name})
        # The layer's packages also sit in the project's .venv: PYTHONPATH comes first, as on Lambda.
        environment = {
            **os.environ, **variables, "AWS_DEFAULT_REGION": model.region, "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": f"{task}:{layer / 'python'}",
        }  # fmt: skip
        result = subprocess.run(
            [python, "-v", "-c", IMPORT_ALL, str(task), str(layer / "python"), ",".join(drivers), *handlers],
            env=environment, capture_output=True, text=True,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        checked = subprocess.run(
            [python, "-c", USES_SHIPPED, str(task), f"{model.paths.platform_module}.validation"],
            env=environment, capture_output=True, text=True,
        )  # fmt: skip
        assert checked.returncode == 0, checked.stderr[-3000:]
        # A domain's create and update bodies (one schema), the upload body, the platform's event
        # metadata, the domain's event contract and the runtime settings; the admin artifact holds
        # every domain's.
        assert int(checked.stdout) >= 4, checked.stdout
        loaded = [Path(p) for p in CODE_FROM.findall(result.stderr.split(MARK, 1)[1])]
        shipped = [p for p in loaded if p.is_relative_to(task) or p.is_relative_to(layer)]
        compiled = [str(p) for p in shipped if p.suffix != ".pyc"]
        assert compiled == [], f"{artifact.name}: compiled on import instead of shipped as bytecode"
        # The code came from the artifact and the layer, not from the project's .venv.
        assert any(p.is_relative_to(task) for p in shipped) and any(p.is_relative_to(layer) for p in shipped)

    names = zipfile.ZipFile(project / "build" / "layer.zip").namelist()
    assert not any(n.startswith(tuple(f"python/{d}/" for d in drivers)) and n.endswith(".pyc") for n in names)


def test_the_build_refuses_another_python_than_the_functions_run(default_project):
    other = checks.find_python("3.13")
    result = subprocess.run(
        [other, "scripts/package.py", "--functions-only"],
        cwd=default_project, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 1
    assert "bytecode is per Python version, and this is Python 3.13; the functions run 3.12" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_build_says_to_install_the_project_when_its_python_lacks_it(default_project):
    # The functions' Python, without the project: the build cannot import the code for its schemas.
    bare = checks.find_python("3.12")
    result = subprocess.run(
        [bare, "scripts/package.py", "--functions-only"], cwd=default_project, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "cannot read the code's JSON Schemas with this Python (" in result.stderr
    assert "Run `make build`: it installs the project in its environment first." in result.stderr
    assert "Traceback" not in result.stderr


def _package_script(project: Path):
    """The project's scripts/package.py as a module, to call its parts."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("rendered_package", project / "scripts" / "package.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_library_module_that_does_not_compile_is_left_as_source(default_project, tmp_path):
    package = _package_script(default_project)
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "app.py").write_text("def handler(event, context):\n    import lib\n")
    library = tmp_path / "layer" / "lib"
    library.mkdir(parents=True)
    (library / "__init__.py").write_text(
        "from . import modern\ntry:\n    from . import old\nexcept SyntaxError:\n    pass\n"
    )
    (library / "modern.py").write_text("VALUE = 1\n")
    (library / "old.py").write_text("print 'Python 2'\n")
    layer = [(path, f"python/lib/{path.name}") for path in sorted(library.glob("*.py"))]
    reached = package.compiled([(tmp_path / "code" / "app.py", "app.py")], layer)
    assert [name for _, name in reached] == ["python/lib/__init__.py", "python/lib/modern.py"]
    shipped = package.with_bytecode(layer, reached, tmp_path / "staging", keep_source=False, root="/opt")
    assert sorted(name for _, name in shipped) == [
        "python/lib/__init__.pyc",
        "python/lib/modern.pyc",
        "python/lib/old.py",
    ]
    # A module at the artifact's root gets its bytecode in the root's __pycache__.
    code = [(tmp_path / "code" / "app.py", "app.py")]
    (_, name), (path, bytecode) = package.with_bytecode(
        code, code, tmp_path / "staging", keep_source=True, root="/var/task"
    )
    assert bytecode == f"__pycache__/app.{package.PYCACHE_TAG}.pyc" and path.is_relative_to(
        tmp_path / "staging"
    )
