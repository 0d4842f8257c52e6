"""Headless Chromium (Debian's, driven by Playwright) and the Dagster UI pages the browser test reads."""

import re
from pathlib import Path

from ui_chromium import CHROMIUM_ARGS

VIEWPORT = {"width": 2200, "height": 2000}  # the whole gasp_main graph fits after zoom-to-fit (18 assets)


def open_chromium(playwright, executable: Path, profile_dir: Path):
    """A headless Chromium context with a fresh profile, kept off the network except for localhost."""
    context = playwright.chromium.launch_persistent_context(
        user_data_dir=str(profile_dir), executable_path=str(executable), headless=True, args=CHROMIUM_ARGS,
        viewport=VIEWPORT)
    context.set_default_timeout(60_000)
    return context


def _full_name_pattern(label: str) -> re.Pattern:
    """A node label such as ``embedded_avat…_fit`` (the graph shortens long names) as a full-name pattern."""
    return re.compile("^" + ".*".join(re.escape(part) for part in label.split("…")) + "$")


def _hover_visible_part(node) -> None:
    """Hover a node as a person would; when the page header covers its top (zoom-to-fit can put the first row of
    the graph under it), hover its lowest visible line instead."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        node.hover(timeout=5000)
    except PlaywrightError:
        box = node.bounding_box()
        node.hover(position={"x": box["width"] / 2, "y": box["height"] - 1})


def asset_names_in_graph(page) -> set[str]:
    """Full names of the asset nodes drawn on the current graph page, read as a person would: a shortened label is
    hovered and its tooltip read."""
    nodes = page.locator("[class*=AssetNode_assetName]")
    nodes.first.wait_for()
    names = set()
    for i in range(nodes.count()):
        node = nodes.nth(i)
        label = node.inner_text().strip()
        if "…" not in label:
            names.add(label)
            continue
        page.keyboard.press("Escape")  # close the previous tooltip: a stale one can match this label's pattern too
        page.get_by_role("tooltip").first.wait_for(state="detached", timeout=5000)
        _hover_visible_part(node)
        tip = page.get_by_role("tooltip").filter(has_text=_full_name_pattern(label)).first
        tip.wait_for()
        names.add(tip.inner_text().strip())
    return names


def metadata_row(page, key: str):
    """The row of the asset page's metadata table whose key cell is ``key``."""
    return page.locator("tr").filter(has=page.locator("td", has_text=re.compile(f"^{re.escape(key)}$"))).first
