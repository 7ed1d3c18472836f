/**
 * Reads a V8 .cpuprofile and says where the CPU time went: by area (the app's own modules, each
 * library, Node internals, garbage collection, idle) and by function (self time).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

export interface ProfileSummary {
  sampledSeconds: number;
  /** Share of samples per area, largest first. */
  areas: { area: string; share: number }[];
  /** Functions with the most self time. */
  functions: { fn: string; area: string; share: number }[];
}

export function areaOf(url: string, functionName: string): string {
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(program)' || functionName === '(root)') return 'V8 / native';
  if (!url) return 'V8 / native';
  if (url.startsWith('node:')) return 'node internals';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1];
  const own = /\/dist\/([^/]+)\//.exec(url);
  return own ? `app: src/${own[1]}` : 'app';
}

export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const hits = new Map<number, number>();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  const total = profile.samples.length || 1;
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, { area: string; count: number }>();
  for (const node of profile.nodes) {
    const count = hits.get(node.id) ?? 0;
    if (count === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const area = areaOf(url, functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + count);
    const fn = `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*\/(node_modules|dist)\//, '')}:${lineNumber + 1}` : ''}`.trim();
    const entry = byFunction.get(fn) ?? { area, count: 0 };
    entry.count += count;
    byFunction.set(fn, entry);
  }
  const share = (count: number) => Number((count / total).toFixed(3));
  return {
    sampledSeconds: Number(((profile.endTime - profile.startTime) / 1e6).toFixed(1)),
    areas: [...byArea].sort((a, b) => b[1] - a[1]).map(([area, count]) => ({ area, share: share(count) })),
    functions: [...byFunction]
      .sort((a, b) => b[1].count - a[1].count)
      .slice(0, top)
      .map(([fn, { area, count }]) => ({ fn, area, share: share(count) })),
  };
}
