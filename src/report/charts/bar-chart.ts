import {
  AXIS,
  clampSize,
  cleanLabel,
  escapeXml,
  GRID,
  INK,
  MUTED,
  noDataNote,
  num,
  svgOpen,
  textWidth,
} from './svg.js';
import { formatValue, linearScale } from './ticks.js';
import type { BarChartInput } from './types.js';

const MAX_BARS = 30;
const ROW = 28;
const BAR = 16;
const PLAIN_COLOUR = '#64748b';
const HIGHLIGHT_COLOUR = '#ea580c';

/**
 * Horizontal bars (labels on the left read well however long they are), for baseline-vs-incident
 * comparisons. Highlighted bars are drawn in the accent colour.
 */
export function barChart(input: BarChartInput): string {
  const width = clampSize(input.width, 720, 240, 4000);
  const unit = cleanLabel(input.unit, 24);
  const title = cleanLabel(input.title, 100);
  const bars = input.bars.slice(0, MAX_BARS).map((b) => ({
    label: cleanLabel(b.label, 36) || '(unnamed)',
    value: b.value,
    highlight: b.highlight === true,
  }));
  const hiddenCount = input.bars.length - bars.length;

  const top = 44;
  const rows = Math.max(bars.length, 2);
  const bottom = top + rows * ROW;
  const height = bottom + 44 + (hiddenCount > 0 ? 14 : 0);
  const labelW = Math.min(width * 0.4, Math.max(60, ...bars.map((b) => textWidth(b.label, 11))) + 12);
  const left = 16 + labelW;
  const valueRoom = 76;
  const right = width - valueRoom;
  const plotW = Math.max(1, right - left);

  const desc = bars.map((b) => `${b.label}: ${formatValue(b.value)} ${unit}`.trim()).join('; ');
  const head =
    svgOpen(width, height, escapeXml(title), escapeXml(cleanLabel(desc || 'no data', 400))) +
    `<text x="16" y="26" font-size="15" font-weight="bold" fill="${INK}">${escapeXml(title)}</text>`;

  const finite = bars.map((b) => b.value).filter((v) => Number.isFinite(v));
  if (finite.length === 0) return `${head}${noDataNote(left, top, plotW, bottom - top)}</svg>`;

  let lo = 0;
  let hi = 0;
  for (const v of finite) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const scale = linearScale(lo, hi, 5);
  const x = (v: number): number => left + ((v - scale.lo) / (scale.hi - scale.lo)) * plotW;
  const zeroX = x(0);

  const parts: string[] = [];
  for (const tick of scale.ticks) {
    const tx = x(tick);
    parts.push(
      `<line x1="${num(tx)}" y1="${num(top)}" x2="${num(tx)}" y2="${num(bottom)}" stroke="${GRID}" stroke-width="1"/>`,
      `<text x="${num(tx)}" y="${num(bottom + 16)}" font-size="11" text-anchor="middle" fill="${MUTED}">${escapeXml(formatValue(tick, scale.step))}</text>`,
    );
  }
  if (unit) {
    parts.push(
      `<text x="${num(left + plotW / 2)}" y="${num(bottom + 34)}" font-size="11" text-anchor="middle" fill="${MUTED}">${escapeXml(unit)}</text>`,
    );
  }

  bars.forEach((b, i) => {
    const cy = top + i * ROW + ROW / 2;
    parts.push(
      `<text x="${num(left - 8)}" y="${num(cy + 4)}" font-size="11" text-anchor="end" fill="${INK}"${b.highlight ? ' font-weight="bold"' : ''}>${escapeXml(b.label)}</text>`,
    );
    if (!Number.isFinite(b.value)) {
      parts.push(`<text x="${num(zeroX + 4)}" y="${num(cy + 4)}" font-size="11" fill="${MUTED}" font-style="italic">n/a</text>`);
      return;
    }
    const vx = x(b.value);
    const x1 = Math.min(zeroX, vx);
    const w = Math.max(1, Math.abs(vx - zeroX));
    const valueText = `${formatValue(b.value)}${unit ? ` ${unit}` : ''}`;
    parts.push(
      `<rect x="${num(x1)}" y="${num(cy - BAR / 2)}" width="${num(w)}" height="${BAR}" rx="2" fill="${b.highlight ? HIGHLIGHT_COLOUR : PLAIN_COLOUR}"/>`,
      b.value < 0
        ? `<text x="${num(vx - 5)}" y="${num(cy + 4)}" font-size="11" text-anchor="end" fill="${INK}">${escapeXml(valueText)}</text>`
        : `<text x="${num(vx + 5)}" y="${num(cy + 4)}" font-size="11" fill="${INK}">${escapeXml(valueText)}</text>`,
    );
  });
  parts.push(`<line x1="${num(zeroX)}" y1="${num(top)}" x2="${num(zeroX)}" y2="${num(bottom)}" stroke="${AXIS}" stroke-width="1"/>`);
  if (hiddenCount > 0) {
    parts.push(
      `<text x="16" y="${num(height - 6)}" font-size="10" font-style="italic" fill="${MUTED}">+${hiddenCount} more not shown</text>`,
    );
  }
  return `${head}${parts.join('')}</svg>`;
}
