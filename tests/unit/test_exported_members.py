from __future__ import annotations

import importlib
import subprocess
import sys
from types import ModuleType

import pytest

import k8s_mlserve


def test_all_names_the_public_members_of_the_package() -> None:
    public = {
        name
        for name, value in vars(k8s_mlserve).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    }
    # Most names are imported on first use (module __getattr__); the version is a dunder.
    lazy = set(k8s_mlserve._MODULES)
    assert k8s_mlserve.__all__ == sorted(public | lazy | {"__version__"}, key=str)
    for name in k8s_mlserve.__all__:
        assert getattr(k8s_mlserve, name) is not None


def test_public_api_is_pinned() -> None:
    assert k8s_mlserve.__all__ == [
        "Bundle",
        "BundleError",
        "BundleMetadata",
        "BundleNotFoundError",
        "BundleRegistry",
        "ConfigurationError",
        "DatasetError",
        "InputSchema",
        "IntegrityError",
        "LibraryMismatchError",
        "MLServeError",
        "MissingExtraError",
        "ModelNotLoadedError",
        "ModelSourceError",
        "NotCompiledError",
        "ResponseSpec",
        "SchemaMismatchError",
        "Settings",
        "ValidationError",
        "__version__",
        "create_app",
        "load_bundle",
        "load_settings",
        "read_metadata",
        "resolve_bundle_path",
        "write_bundle",
    ]


def test_the_version_lives_in_its_own_module() -> None:
    from k8s_mlserve.__version__ import __version__

    assert k8s_mlserve.__version__ == __version__


@pytest.mark.parametrize(
    ("old", "name", "new"),
    [
        ("k8s_mlserve.bundle", "write_bundle", "k8s_mlserve.model.bundle"),
        ("k8s_mlserve.bundle", "load_bundle", "k8s_mlserve.model.bundle"),
        ("k8s_mlserve.registry", "BundleRegistry", "k8s_mlserve.model.registry"),
        ("k8s_mlserve.registry", "resolve_bundle_path", "k8s_mlserve.model.registry"),
        ("k8s_mlserve.schema", "InputSchema", "k8s_mlserve.model.schema"),
    ],
)
def test_old_import_paths_of_public_names_still_work_with_a_warning(
    old: str, name: str, new: str
) -> None:
    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=f"{old}.{name} moved to {new}.{name}"):
        value = getattr(module, name)
    assert value is getattr(importlib.import_module(new), name)


def test_importing_the_package_does_not_import_the_server_or_mlflow() -> None:
    code = "import sys, k8s_mlserve; print('starlette' in sys.modules, 'mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
