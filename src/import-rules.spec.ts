import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The layering of docs/ARCHITECTURE.md, checked over the import graph of src/: a file may import its
 * own folder, a lower layer, or (features excepted) another folder of its own layer, and the folders
 * of a layer never import each other in a circle. Entry points (the app's boot, the CLIs) sit on top.
 */
const LAYERS: Record<string, number> = {
  config: 0,
  money: 0,
  batching: 1,
  logging: 1,
  metrics: 1,
  errors: 0,
  redis: 1,
  database: 1,
  kafka: 1,
  http: 1,
  auth: 1,
  pipeline: 2,
  state: 3,
  payments: 3,
  validation: 3,
  fraud: 3,
  ledger: 3,
  'dead-letters': 3,
  health: 3,
  webhooks: 3,
  verify: 4,
  ops: 4,
};
/** Features (and the Redis view, an adapter of the pipeline's PaymentView port) stand side by side on the pipeline: none imports another. */
const FEATURES = new Set(['payments', 'validation', 'fraud', 'ledger', 'dead-letters', 'health', 'state', 'webhooks']);
/** Composition roots: they wire the layers together, so they may import any of them. */
const ENTRY_POINTS = new Set(['main.ts', 'app.factory.ts', 'app.module.ts', 'app-data-source.ts', 'error-catalog.ts', 'database/seed.ts', 'database/migrate.ts', 'verify/verify.ts']);
/** The one arrow allowed up: the pipeline's module binds its PaymentView port to the Redis view that implements it. */
const PORT_BINDINGS = new Set(['pipeline/pipeline.module.ts → state/state.module.ts', 'pipeline/pipeline.module.ts → state/payment-state.store.ts']);
/** Where the drivers (TypeORM, ioredis) may be imported in the pipeline and the features. */
const DRIVER_FILES = /\.(repository|store|entity|module|health)\.ts$/;
/** The ledger's and webhooks' invariants are SQL checks that verify and the tests run on a bare connection. */
const DRIVER_EXCEPTIONS = new Set(['ledger/ledger-invariants.ts', 'webhooks/webhook-invariants.ts']);

const SRC = resolve(import.meta.dirname);
const folderOf = (file: string): string => (file.includes('/') ? file.split('/')[0] : '');

function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [relative(SRC, path)] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]);
  return specifiers.map((s) => relative(SRC, resolve(dirname(join(SRC, file)), s)).replace(/\.js$/, '.ts'));
}

const files = sourceFiles();
const edges = files.flatMap((from) => importsOf(from).map((to) => ({ from, to }))).filter(({ from, to }) => !PORT_BINDINGS.has(`${from} → ${to}`));

describe('import rules (docs/ARCHITECTURE.md)', () => {
  it('knows the layer of every folder of src/, and every file at its top is a composition root', () => {
    const unknown = [...new Set(files.map(folderOf))].filter((folder) => folder !== '' && !(folder in LAYERS));
    expect(unknown).toEqual([]);
    expect(files.filter((file) => folderOf(file) === '' && !ENTRY_POINTS.has(file))).toEqual([]);
  });

  it('lets imports point only down (or sideways between platform folders)', () => {
    const upward = edges.filter(({ from, to }) => {
      if (ENTRY_POINTS.has(from)) return false;
      const [a, b] = [folderOf(from), folderOf(to)];
      if (a === b) return false;
      if (b === '') return true;
      if (FEATURES.has(a) && FEATURES.has(b)) return true;
      return LAYERS[b] > LAYERS[a];
    });
    expect(upward.map(({ from, to }) => `${from} → ${to}`)).toEqual([]);
  });

  it('has no circle between folders', () => {
    const graph = new Map<string, Set<string>>();
    for (const { from, to } of edges) {
      if (ENTRY_POINTS.has(from) || folderOf(from) === folderOf(to)) continue;
      graph.set(folderOf(from), (graph.get(folderOf(from)) ?? new Set()).add(folderOf(to)));
    }
    const reaches = (start: string, goal: string, seen = new Set<string>()): boolean =>
      [...(graph.get(start) ?? [])].some((next) => next === goal || (!seen.has(next) && seen.add(next) && reaches(next, goal, seen)));
    const circular = [...graph].flatMap(([folder, targets]) => [...targets].filter((t) => reaches(t, folder)).map((t) => `${folder} ⇄ ${t}`));
    expect(circular).toEqual([]);
  });

  it('keeps TypeORM and ioredis in repositories, stores, entities and modules of the pipeline and the features', () => {
    const drivers = files.filter(
      (file) =>
        (FEATURES.has(folderOf(file)) || folderOf(file) === 'pipeline') &&
        !DRIVER_FILES.test(file) &&
        !DRIVER_EXCEPTIONS.has(file) &&
        /from ['"](ioredis|typeorm)['"]/.test(readFileSync(join(SRC, file), 'utf8')),
    );
    expect(drivers).toEqual([]);
  });

  it('keeps http/ out of services: they raise their module’s AppError, the HTTP layer maps it', () => {
    expect(edges.filter(({ from, to }) => from.endsWith('.service.ts') && folderOf(to) === 'http').map(({ from, to }) => `${from} → ${to}`)).toEqual([]);
  });

  it('writes INSERT INTO payments in one file only', () => {
    const writers = files.filter((file) => /INSERT INTO payments\b/.test(readFileSync(join(SRC, file), 'utf8')));
    expect(writers).toEqual(['pipeline/payment-records.repository.ts']);
  });

  it('reads the whole import graph (so an empty graph cannot pass the rules above)', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(edges).toContainEqual({ from: 'payments/payments.service.ts', to: 'pipeline/ports.ts' });
  });
});
