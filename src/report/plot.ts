/** Line plots (loss curves) as SVG, rasterized to PNG with sharp. No plotting dependency. */
import sharp from 'sharp';

export interface Series {
  name: string;
  color: string;
  points: [number, number][];
}

export interface PlotOptions {
  title: string;
  xLabel: string;
  width?: number;
  height?: number;
  /** Plot y on a log scale (losses spanning decades). */
  logY?: boolean;
}

function niceTicks(lo: number, hi: number, n = 5): number[] {
  const span = hi - lo || 1;
  const step0 = span / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? step0;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-12; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** One panel per group of series (e.g. GAN losses | L1 losses), side by side. */
export function plotSvg(panels: { title: string; series: Series[]; logY?: boolean }[], opts: PlotOptions): string {
  const W = opts.width ?? 900;
  const H = opts.height ?? 340;
  const pw = W / panels.length;
  const m = { l: 56, r: 16, t: 48, b: 40 };
  const parts: string[] = [
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-family="sans-serif" font-size="15" fill="#111">${opts.title}</text>`,
  ];
  panels.forEach((panel, pi) => {
    const x0 = pi * pw + m.l;
    const x1 = (pi + 1) * pw - m.r;
    const y0 = H - m.b;
    const y1 = m.t;
    const pts = panel.series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y) && (!panel.logY || y > 0));
    if (pts.length === 0) return;
    const fy = (v: number) => (panel.logY ? Math.log10(v) : v);
    let xmin = Math.min(...pts.map((p) => p[0])),
      xmax = Math.max(...pts.map((p) => p[0]));
    let ymin = Math.min(...pts.map((p) => fy(p[1]))),
      ymax = Math.max(...pts.map((p) => fy(p[1])));
    if (xmax === xmin) xmax = xmin + 1;
    if (ymax === ymin) {
      ymax += 0.5;
      ymin -= 0.5;
    }
    const pad = (ymax - ymin) * 0.05;
    ymin -= pad;
    ymax += pad;
    const sx = (x: number) => x0 + ((x - xmin) / (xmax - xmin)) * (x1 - x0);
    const sy = (y: number) => y0 - ((fy(y) - ymin) / (ymax - ymin)) * (y0 - y1);
    parts.push(`<text x="${(x0 + x1) / 2}" y="${m.t - 10}" text-anchor="middle" font-family="sans-serif" font-size="13" fill="#333">${panel.title}</text>`);
    parts.push(`<rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}" fill="none" stroke="#999"/>`);
    for (const t of niceTicks(xmin, xmax)) {
      parts.push(
        `<line x1="${sx(t)}" y1="${y0}" x2="${sx(t)}" y2="${y0 + 4}" stroke="#666"/><text x="${sx(t)}" y="${y0 + 16}" text-anchor="middle" font-family="sans-serif" font-size="11" fill="#444">${t}</text>`,
      );
    }
    for (const t of niceTicks(ymin, ymax)) {
      const label = panel.logY ? Number((10 ** t).toPrecision(2)) : Number(t.toPrecision(3));
      const yy = y0 - ((t - ymin) / (ymax - ymin)) * (y0 - y1);
      parts.push(
        `<line x1="${x0}" y1="${yy}" x2="${x1}" y2="${yy}" stroke="#eee"/><text x="${x0 - 6}" y="${yy + 4}" text-anchor="end" font-family="sans-serif" font-size="11" fill="#444">${label}</text>`,
      );
    }
    parts.push(`<text x="${(x0 + x1) / 2}" y="${H - 6}" text-anchor="middle" font-family="sans-serif" font-size="12" fill="#444">${opts.xLabel}</text>`);
    panel.series.forEach((s, si) => {
      const p = s.points.filter(([, y]) => Number.isFinite(y) && (!panel.logY || y > 0));
      if (p.length === 0) return;
      const d = p.map(([x, y], i) => `${i ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join('');
      parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"/>`);
      if (p.length < 40) for (const [x, y] of p) parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
      parts.push(
        `<rect x="${x0 + 10}" y="${y1 + 8 + si * 16}" width="12" height="3" fill="${s.color}"/><text x="${x0 + 26}" y="${y1 + 13 + si * 16}" font-family="sans-serif" font-size="11" fill="#222">${s.name}</text>`,
      );
    });
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">${parts.join('')}</svg>`;
}

export async function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg)).png().toBuffer();
}
