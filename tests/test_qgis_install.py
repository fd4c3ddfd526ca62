"""`geossr qgis-plugin --install/--zip`: the plugin reaches a QGIS profile or a zip (no QGIS needed)."""

import configparser
import zipfile

from geossr.qgis_install import plugin_source

# What QGIS's plugin manager requires in metadata.txt (plus hasProcessingProvider for qgis_process).
REQUIRED_METADATA = {"name", "qgisMinimumVersion", "description", "about", "version", "author", "email"}


def test_metadata_is_complete_and_its_icons_exist():
    metadata = configparser.ConfigParser()
    metadata.optionxform = str  # QGIS keys are case-sensitive (qgisMinimumVersion)
    metadata.read(plugin_source() / "metadata.txt")
    general = metadata["general"]
    assert REQUIRED_METADATA <= set(general)
    assert general["hasProcessingProvider"] == "yes"
    assert (plugin_source() / general["icon"]).is_file()
    for icon in ("upsample.svg", "simulate.svg"):
        assert (plugin_source() / "icons" / icon).is_file()


def test_install_copies_the_plugin_and_enables_it_keeping_other_settings(run_geossr, tmp_path):
    profile = tmp_path / "profiles" / "default"
    settings = profile / "QGIS" / "QGIS3.ini"
    settings.parent.mkdir(parents=True)
    settings.write_text("[PythonPlugins]\nprocessing=true\ngeossr_processing=false\n\n[qgis]\nstyle=Fusion\n")
    stale = profile / "python" / "plugins" / "geossr_processing" / "old_module.py"
    stale.parent.mkdir(parents=True)
    stale.write_text("# from an older version\n")

    result = run_geossr("qgis-plugin", "--install", "--profile-dir", profile, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    installed = profile / "python" / "plugins" / "geossr_processing"
    shipped = sorted(p.relative_to(plugin_source()) for p in plugin_source().rglob("*")
                     if p.is_file() and "__pycache__" not in p.parts)
    assert sorted(p.relative_to(installed) for p in installed.rglob("*") if p.is_file()) == shipped
    assert not stale.exists()
    assert settings.read_text() == "[PythonPlugins]\nprocessing=true\ngeossr_processing=true\n\n[qgis]\nstyle=Fusion\n"


def test_install_into_a_new_profile_creates_its_settings(run_geossr, tmp_path):
    result = run_geossr("qgis-plugin", "--install", "--profile-dir", tmp_path / "fresh", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "fresh" / "QGIS" / "QGIS3.ini").read_text() == "[PythonPlugins]\ngeossr_processing=true\n"
    assert (tmp_path / "fresh" / "python" / "plugins" / "geossr_processing" / "__init__.py").is_file()


def test_zip_has_one_top_folder_named_like_the_plugin(run_geossr, tmp_path):
    result = run_geossr("qgis-plugin", "--zip", tmp_path / "geossr_processing.zip", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names = zipfile.ZipFile(tmp_path / "geossr_processing.zip").namelist()
    assert {name.split("/")[0] for name in names} == {"geossr_processing"}
    for required in ("__init__.py", "metadata.txt", "provider.py", "algorithms.py", "runner.py", "icons/geossr.svg"):
        assert f"geossr_processing/{required}" in names
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)


def test_bad_requests_fail_with_one_line(run_geossr, tmp_path):
    nothing = run_geossr("qgis-plugin", cwd=tmp_path)
    assert nothing.returncode == 1
    assert nothing.stderr == "geossr: error: give --install (optionally with --profile-dir DIR) and/or --zip OUT.zip\n"
    (tmp_path / "a_file").write_text("")
    on_a_file = run_geossr("qgis-plugin", "--install", "--profile-dir", tmp_path / "a_file", cwd=tmp_path)
    assert on_a_file.returncode == 1
    assert on_a_file.stderr == f"geossr: error: QGIS profile is not a directory: {tmp_path / 'a_file'}\n"
    no_folder = run_geossr("qgis-plugin", "--zip", tmp_path / "missing" / "p.zip", cwd=tmp_path)
    assert no_folder.returncode == 1
    assert no_folder.stderr == f"geossr: error: output directory does not exist: {tmp_path / 'missing'}\n"


def test_plugin_offers_every_registered_model_with_the_default_first():
    """The plugin runs in QGIS's Python without geossr: its list is kept by hand, and checked here."""
    import ast

    from geossr.models import MODELS
    from geossr.models.loader import DEFAULT_MODEL

    source = (plugin_source() / "algorithms.py").read_text()
    listed = next(ast.literal_eval(node.value) for node in ast.parse(source).body
                  if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "MODELS")
    assert sorted(listed) == sorted(MODELS) and listed[0] == DEFAULT_MODEL
