"""QGIS plugin: geossr's commands as Processing algorithms.

Nothing here imports QGIS at module level, so the package can be shipped inside geossr (as
``geossr.qgis_plugin``) and its subprocess runner tested without QGIS.
"""


def classFactory(iface):  # noqa: N802 (QGIS's name)
    from .plugin import GeossrPlugin

    return GeossrPlugin(iface)
