"""Which font the charts are drawn in: Chinese needs a CJK font, and matplotlib would otherwise
draw every Chinese character as an empty box. Debian's ``fonts-noto-cjk`` (installed by
``deploy/local/fonts.sh`` and in the Docker image) has a face for each script."""

from __future__ import annotations

from functools import cache

from tiering.i18n import Language

#: the faces tried for each language, best first: Noto Sans CJK (fonts-noto-cjk) or its twin
#: Source Han Sans, then what Windows and macOS ship
CJK_FAMILIES: dict[Language, tuple[str, ...]] = {
    "zh_Hans_CN": ("Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC"),
    "zh_Hant": ("Noto Sans CJK TC", "Source Han Sans TC", "Microsoft JhengHei", "PingFang TC"),
}
#: matplotlib's own font, for English (and for the glyphs a CJK face lacks)
LATIN = "DejaVu Sans"
FONT_PACKAGE = "fonts-noto-cjk"


class MissingFontError(RuntimeError):
    """The charts cannot be drawn in the language without boxes for its characters."""


@cache
def chart_fonts(language: Language) -> tuple[str, ...]:
    """The font families (matplotlib's ``font.family``) to draw ``language``'s charts in."""
    families = CJK_FAMILIES.get(language)
    if not families:
        return (LATIN,)
    found = _installed(families) or _installed(families, rescan=True)
    if found is None:
        raise MissingFontError(
            f"drawing the report's charts in {language} needs a Chinese font "
            f"({' or '.join(families)}), and none is installed: install Debian's "
            f"{FONT_PACKAGE} (apt-get install {FONT_PACKAGE}, or bash deploy/local/fonts.sh)"
        )
    return (found, LATIN)


def _installed(families: tuple[str, ...], rescan: bool = False) -> str | None:
    """The first of ``families`` matplotlib knows. ``rescan``: look at the system's fonts
    again first, since matplotlib's cached font list predates fonts installed after it."""
    from matplotlib import font_manager

    manager = font_manager.fontManager
    if rescan:
        known = {entry.fname for entry in manager.ttflist}
        for path in font_manager.findSystemFonts():
            if path not in known:
                try:
                    manager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue  # a file FreeType cannot read: not a font to draw with
    names = {entry.name for entry in manager.ttflist}
    return next((f for f in families if f in names), None)
