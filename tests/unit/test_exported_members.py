from __future__ import annotations

import k8s_mlserve


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
        "MLServeError",
        "ModelNotLoadedError",
        "ModelSourceError",
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
    assert k8s_mlserve.__all__ == sorted(k8s_mlserve.__all__, key=str)
    for name in k8s_mlserve.__all__:
        assert getattr(k8s_mlserve, name) is not None


def test_importing_the_package_does_not_import_the_server_or_mlflow() -> None:
    import subprocess
    import sys

    code = "import sys, k8s_mlserve; print('starlette' in sys.modules, 'mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
