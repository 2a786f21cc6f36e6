"""Saving a chart as a picture, in the browser: every Plotly chart's camera button saves a PNG, and a
button beside it saves an SVG. Nothing is drawn on the server (no kaleido, no Chrome) and nothing is
fetched.

Plotly's modebar has one image button, whose format comes from the chart's config; Streamlit passes the
config as JSON, so a second button (which needs a click function) can't come from there. This page
script adds it: a copy of the camera button that asks the camera for an SVG (by switching the format
of that chart's own config for the length of one click). Plotly rebuilds a modebar when its buttons
change, so the script watches the page and adds the button again wherever it is missing.

Both titles are in the reader's language: Plotly's own (the camera's among them) through each chart's
``locales`` config (``charts.plotly_locale``), the SVG button's here. The script finds a camera by its
title in any language, and the page sends it again with the new title when the reader's language changes.
"""

from __future__ import annotations

import json

import streamlit as st

from dashboard.charts import PNG_TITLE
from softmax_core.i18n import N_, _, available_languages, use_language

SVG_TITLE = N_("Download plot as an SVG")

SVG_BUTTON_SCRIPT = """<script>
(() => {
  window.softmaxLabSvgTitle = SVG_TITLE;  // the reader's language, sent again when it changes
  document.querySelectorAll("[data-softmax-svg]").forEach((button) => {
    button.setAttribute("data-title", SVG_TITLE);
    button.setAttribute("aria-label", SVG_TITLE);
  });
  if (window.softmaxLabSvgButtons) return;  // once per page, however often the element is redrawn
  window.softmaxLabSvgButtons = true;
  const CAMERAS = PNG_TITLES.map((title) => `.modebar-btn[data-title=${JSON.stringify(title)}]`).join(", ");
  const NS = "http://www.w3.org/2000/svg";
  function svgIcon(colour) {
    const icon = document.createElementNS(NS, "svg");
    icon.setAttribute("viewBox", "0 0 36 20");
    icon.setAttribute("class", "icon");
    icon.setAttribute("height", "1em");
    icon.setAttribute("width", "1.8em");
    const text = document.createElementNS(NS, "text");
    text.setAttribute("x", "18");
    text.setAttribute("y", "16");
    text.setAttribute("text-anchor", "middle");
    text.setAttribute("font-size", "15");
    text.setAttribute("font-weight", "700");
    text.setAttribute("font-family", "sans-serif");
    text.setAttribute("fill", colour);
    text.textContent = "SVG";
    icon.appendChild(text);
    return icon;
  }
  function addSvgButton(camera) {
    if (camera.parentElement.querySelector("[data-softmax-svg]")) return;
    const path = camera.querySelector("path");
    const button = document.createElement("button");  // as Plotly makes its own buttons
    button.setAttribute("type", "button");
    button.setAttribute("rel", "tooltip");
    button.setAttribute("class", "modebar-btn");
    button.setAttribute("data-title", window.softmaxLabSvgTitle);
    button.setAttribute("aria-label", window.softmaxLabSvgTitle);
    button.setAttribute("data-gravity", "n");
    button.setAttribute("data-softmax-svg", "");
    button.appendChild(svgIcon(path ? getComputedStyle(path).fill : "currentColor"));
    button.addEventListener("click", (event) => {
      event.preventDefault();
      const plot = camera.closest(".js-plotly-plot");
      const options = plot && plot._context && plot._context.toImageButtonOptions;
      if (!options) return;
      const format = options.format;
      options.format = "svg";  // read by the camera's click, at once
      try { camera.dispatchEvent(new MouseEvent("click", {bubbles: true, cancelable: true})); }
      finally { options.format = format; }
    });
    camera.after(button);
  }
  function addMissingButtons() {
    document.querySelectorAll(CAMERAS).forEach(addSvgButton);
  }
  new MutationObserver(addMissingButtons).observe(document.body, {childList: true, subtree: true});
  addMissingButtons();
})();
</script>"""


def png_titles() -> list[str]:
    """The camera's title in every language offered: the script finds a camera by any of them."""
    titles = []
    for language in available_languages():
        with use_language(language):
            titles.append(_(PNG_TITLE))
    return list(dict.fromkeys(titles))


def svg_button_script() -> str:
    """The script, its SVG button titled in the reader's language."""
    return (SVG_BUTTON_SCRIPT.replace("PNG_TITLES", json.dumps(png_titles(), ensure_ascii=False))
            .replace("SVG_TITLE", json.dumps(_(SVG_TITLE), ensure_ascii=False)))


def offer_svg_downloads() -> None:
    """Put the script on the page (its watcher starts once per page load; see the module's docstring)."""
    st.html(svg_button_script(), unsafe_allow_javascript=True)
