// The real import graph of the source tree, read with the TypeScript parser (for the architecture tests).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { PROJECT_ROOT } from '../../src/core/paths.ts';

export interface ImportEdge {
  /** Project-relative path of a local file, or a package name. */
  to: string;
  /** Erased at run time (import type, or only type specifiers). */
  typeOnly: boolean;
  /** import('…'): loaded when the code runs, not when the module loads. */
  dynamic: boolean;
}

/** Every .ts file under `dir` (project-relative paths). */
export const filesIn = (dir: string): string[] =>
  readdirSync(join(PROJECT_ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesIn(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );

const packageOf = (spec: string): string => {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
};

const cache = new Map<string, ImportEdge[]>();

/** The imports of one project file. */
export function importsOf(file: string): ImportEdge[] {
  const hit = cache.get(file);
  if (hit) return hit;
  const abs = join(PROJECT_ROOT, file);
  const sf = ts.createSourceFile(abs, readFileSync(abs, 'utf8'), ts.ScriptTarget.Latest, true);
  const edges: ImportEdge[] = [];
  const add = (spec: string, typeOnly: boolean, dynamic: boolean) => {
    if (spec.startsWith('.')) {
      const target = resolve(dirname(abs), spec);
      if (existsSync(target)) edges.push({ to: relative(PROJECT_ROOT, target), typeOnly, dynamic });
    } else edges.push({ to: packageOf(spec.replace(/^node:/, 'node:')), typeOnly, dynamic });
  };
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) {
      const c = n.importClause;
      const named = c?.namedBindings && ts.isNamedImports(c.namedBindings) ? c.namedBindings.elements : undefined;
      const typeOnly = !!c && (c.isTypeOnly || (!c.name && !!named && named.length > 0 && named.every((e) => e.isTypeOnly)));
      add(n.moduleSpecifier.text, typeOnly, false);
    } else if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      const named = n.exportClause && ts.isNamedExports(n.exportClause) ? n.exportClause.elements : undefined;
      add(n.moduleSpecifier.text, n.isTypeOnly || (!!named && named.length > 0 && named.every((e) => e.isTypeOnly)), false);
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = n.arguments;
      if (arg && ts.isStringLiteral(arg)) add(arg.text, false, true);
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) {
      add(n.argument.literal.text, true, false);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  cache.set(file, edges);
  return edges;
}

/** Files and packages loaded when `entry` loads: static imports that survive compilation, followed transitively. */
export function loadedAtStart(entry: string): Map<string, string[]> {
  const via = new Map<string, string[]>([[entry, [entry]]]);
  const todo = [entry];
  while (todo.length) {
    const f = todo.pop()!;
    for (const e of importsOf(f)) {
      if (e.typeOnly || e.dynamic || via.has(e.to)) continue;
      via.set(e.to, [...via.get(f)!, e.to]);
      if (e.to.endsWith('.ts')) todo.push(e.to);
    }
  }
  return via;
}
