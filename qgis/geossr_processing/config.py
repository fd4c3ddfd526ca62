"""The provider's one setting: which geossr executable to run."""

from processing.core.ProcessingConfig import ProcessingConfig

from .runner import find_executable

EXECUTABLE_SETTING = "GEOSSR_EXECUTABLE"


def configured_executable() -> str:
    """The executable the algorithms run: the provider setting, else GEOSSR_EXECUTABLE, else PATH."""
    return find_executable(ProcessingConfig.getSetting(EXECUTABLE_SETTING))
