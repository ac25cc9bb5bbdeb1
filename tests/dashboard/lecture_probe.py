"""What the lecture-mode browser tests measure on a rendered page, in one script run in the page.

Kept apart from the tests so the same measurement serves the tests and the screenshots note:
chart tops, plot text sizes (rendered SVG text), widget labels against their longest word,
metric value and label sizes, buttons and equations that overflow, and the colours of the
page and of the plot text.
"""

MEASURE = r"""() => {
  const visible = e => { const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== "hidden" && r.right > 0
      && r.left < window.innerWidth; };
  const canvas = document.createElement("canvas").getContext("2d");
  const wordWidth = (el, word) => { const s = getComputedStyle(el);
    canvas.font = `${s.fontStyle} ${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
    return canvas.measureText(word).width; };
  const charts = [...document.querySelectorAll(".js-plotly-plot")].filter(visible)
    .map(e => e.getBoundingClientRect().top + window.scrollY);
  const texts = [...document.querySelectorAll(".js-plotly-plot svg text")]
    .filter(t => t.textContent.trim() && visible(t))
    .map(t => ({size: parseFloat(getComputedStyle(t).fontSize), text: t.textContent.slice(0, 40),
                fill: getComputedStyle(t).fill, axis: !!t.closest('g[class$="tick"]')}));
  const labels = [...document.querySelectorAll('[data-testid="stWidgetLabel"]')].filter(visible).map(l => {
    const p = l.querySelector("p") || l; const words = p.innerText.split(/\s+/).filter(Boolean);
    return {text: p.innerText, width: p.getBoundingClientRect().width,
            longest: Math.max(0, ...words.map(w => wordWidth(p, w)))}; });
  const metrics = [...document.querySelectorAll('[data-testid="stMetric"]')].filter(visible).map(m => {
    const v = m.querySelector('[data-testid="stMetricValue"] p') || m.querySelector('[data-testid="stMetricValue"]');
    const l = m.querySelector('[data-testid="stMetricLabel"] p') || m.querySelector('[data-testid="stMetricLabel"]');
    return {value: parseFloat(getComputedStyle(v).fontSize), label: parseFloat(getComputedStyle(l).fontSize)}; });
  const cut = [...document.querySelectorAll("button p, a p")].filter(visible)
    .filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.innerText);
  const equations = [...document.querySelectorAll(".katex-display")].filter(visible)
    .filter(e => e.scrollWidth > e.clientWidth + 4).map(e => e.innerText.slice(0, 40));  // KaTeX's last 2 px
  const wide = [...document.querySelectorAll('[data-testid="stDataFrame"], [data-testid="stTable"]')]
    .filter(visible).filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).length;
  const app = document.querySelector('[data-testid="stApp"]');
  const sidebar = document.querySelector('[data-testid="stSidebar"]');
  return {charts, texts, labels, metrics, cut, equations, wide, background: getComputedStyle(app).backgroundColor,
          sidebar: sidebar ? (sidebar.getAttribute("data-collapsed") === "true" ? "folded" : "open") : null};
}"""


def luminance(css_colour: str) -> float:
    """Relative brightness (0 black to 1 white) of an ``rgb(...)`` / ``rgba(...)`` colour."""
    r, g, b = (float(v) for v in css_colour[css_colour.index("(") + 1:].rstrip(")").split(",")[:3])
    return (0.299 * r + 0.587 * g + 0.114 * b) / 255
