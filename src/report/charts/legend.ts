import { escapeXml, INK, num, textWidth } from './svg.js';

export type LegendItem =
  | { kind: 'line'; colour: string; label: string }
  | { kind: 'area'; colour: string; opacity: number; label: string }
  | { kind: 'note'; label: string };

const FONT = 11;
const ROW = 16;

/**
 * Lays legend items left to right, wrapping at `maxX`. Labels must already be cleaned (they are
 * escaped here). Returns the markup and the y just below the last row.
 */
export function legend(items: readonly LegendItem[], x0: number, y0: number, maxX: number): { svg: string; bottom: number } {
  if (items.length === 0) return { svg: '', bottom: y0 };
  let x = x0;
  let y = y0;
  const parts: string[] = [];
  for (const item of items) {
    const swatch = item.kind === 'note' ? 0 : 18;
    const w = swatch + textWidth(item.label, FONT) + 14;
    if (x > x0 && x + w > maxX) {
      x = x0;
      y += ROW;
    }
    if (item.kind === 'line') {
      parts.push(`<line x1="${num(x)}" y1="${num(y - 4)}" x2="${num(x + 14)}" y2="${num(y - 4)}" stroke="${item.colour}" stroke-width="2.5"/>`);
    } else if (item.kind === 'area') {
      parts.push(
        `<rect x="${num(x)}" y="${num(y - 9)}" width="14" height="10" fill="${item.colour}" fill-opacity="${item.opacity}" stroke="${item.colour}" stroke-opacity="0.6"/>`,
      );
    }
    parts.push(
      `<text x="${num(x + swatch)}" y="${num(y)}" font-size="${FONT}" fill="${INK}"${item.kind === 'note' ? ' font-style="italic"' : ''}>${escapeXml(item.label)}</text>`,
    );
    x += w;
  }
  return { svg: `<g class="legend">${parts.join('')}</g>`, bottom: y + 6 };
}
