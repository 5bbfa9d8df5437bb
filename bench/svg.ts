// A tiny horizontal bar-chart generator (no dependencies): panels of labelled bars on a log₁₀
// axis with a reference line, stacked into one SVG document. Used for docs/benchmarks.svg.

export interface Bar {
  readonly label: string;
  /** A positive ratio; bars are drawn on a log scale. */
  readonly value: number;
  /** Printed after the bar. */
  readonly text: string;
  readonly color: string;
}

export interface Panel {
  readonly title: string;
  readonly subtitle?: string;
  readonly bars: readonly Bar[];
  /** Where the reference line is drawn (e.g. 1 = on target / parity). */
  readonly reference: number;
  readonly referenceLabel: string;
}

const WIDTH = 960;
const LABEL_WIDTH = 390;
const TEXT_WIDTH = 110;
const BAR_HEIGHT = 18;
const BAR_GAP = 6;
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

function panelSvg(panel: Panel, top: number): { svg: string; height: number } {
  const plotLeft = LABEL_WIDTH;
  const plotWidth = WIDTH - LABEL_WIDTH - TEXT_WIDTH - 20;
  const values = panel.bars.map((b) => b.value).filter((v) => v > 0 && Number.isFinite(v));
  const lo = Math.floor(Math.log10(Math.min(panel.reference, ...values, 1) * 0.9));
  const hi = Math.ceil(Math.log10(Math.max(panel.reference, ...values, 1) * 1.1));
  const span = Math.max(1, hi - lo);
  const x = (v: number) => plotLeft + ((Math.log10(v) - lo) / span) * plotWidth;
  const parts: string[] = [];
  let y = top;
  parts.push(
    `<text x="10" y="${y + 16}" font-size="16" font-weight="600" ${FONT}>${escapeXml(panel.title)}</text>`,
  );
  y += 24;
  if (panel.subtitle !== undefined) {
    parts.push(
      `<text x="10" y="${y + 12}" font-size="12" fill="#555" ${FONT}>${escapeXml(panel.subtitle)}</text>`,
    );
    y += 20;
  }
  const plotTop = y + 4;
  // Decade grid lines and labels.
  for (let d = lo; d <= hi; d++) {
    const gx = x(10 ** d);
    const label =
      d >= 0 ? `${(10 ** d).toLocaleString('en')}×` : `1/${(10 ** -d).toLocaleString('en')}×`;
    parts.push(
      `<line x1="${gx.toFixed(1)}" y1="${plotTop}" x2="${gx.toFixed(1)}" y2="${plotTop + panel.bars.length * (BAR_HEIGHT + BAR_GAP)}" stroke="#e3e3e3"/>`,
      `<text x="${gx.toFixed(1)}" y="${plotTop - 2}" font-size="10" fill="#888" text-anchor="middle" ${FONT}>${label}</text>`,
    );
  }
  y = plotTop + 4;
  const base = x(panel.reference);
  for (const bar of panel.bars) {
    const value = bar.value > 0 && Number.isFinite(bar.value) ? bar.value : 10 ** lo;
    const end = x(value);
    const left = Math.min(base, end);
    parts.push(
      `<text x="${plotLeft - 8}" y="${y + 13}" font-size="12" text-anchor="end" ${FONT}>${escapeXml(bar.label)}</text>`,
      `<rect x="${left.toFixed(1)}" y="${y}" width="${Math.max(1, Math.abs(end - base)).toFixed(1)}" height="${BAR_HEIGHT}" fill="${bar.color}" rx="2"/>`,
      `<text x="${(Math.max(base, end) + 6).toFixed(1)}" y="${y + 13}" font-size="12" ${FONT}>${escapeXml(bar.text)}</text>`,
    );
    y += BAR_HEIGHT + BAR_GAP;
  }
  const rx = x(panel.reference);
  parts.push(
    `<line x1="${rx.toFixed(1)}" y1="${plotTop}" x2="${rx.toFixed(1)}" y2="${y}" stroke="#222" stroke-dasharray="4 3"/>`,
    `<text x="${(rx + 4).toFixed(1)}" y="${y + 12}" font-size="11" fill="#222" ${FONT}>${escapeXml(panel.referenceLabel)}</text>`,
  );
  return { svg: parts.join('\n'), height: y + 24 - top };
}

/** The whole document: `panels` stacked, with a caption under them; `title` names it. */
export function chartSvg(panels: readonly Panel[], caption: string, title: string): string {
  const parts: string[] = [];
  let top = 10;
  for (const panel of panels) {
    const { svg, height } = panelSvg(panel, top);
    parts.push(svg);
    top += height + 16;
  }
  parts.push(
    `<text x="10" y="${top + 4}" font-size="11" fill="#666" ${FONT}>${escapeXml(caption)}</text>`,
  );
  const height = top + 16;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
