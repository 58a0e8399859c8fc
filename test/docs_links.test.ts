/**
 * README.md and docs/: every relative link and image resolves — to a file or folder of the
 * repository, and a `#anchor` to a heading of the Markdown page it names (GitHub's anchors:
 * lowercase, punctuation and symbols removed, spaces to `-`, a repeated heading gets `-1`, `-2`).
 * The guide pages (docs/*.md but the index and the generated parameter reference) open with a
 * table of contents that links every `##` section of the page.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DOCS = join(ROOT, 'docs');

/** README.md and every .md under docs/. */
function pages(): string[] {
  const out = [join(ROOT, 'README.md')];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.md')) out.push(p);
    }
  };
  walk(DOCS);
  return out;
}

/** The page's lines outside fenced code blocks (``` or ~~~), with their 1-based line numbers. */
function proseLines(text: string): { line: string; n: number }[] {
  const out: { line: string; n: number }[] = [];
  let fence: string | null = null;
  text.split('\n').forEach((line, i) => {
    const m = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (m) {
      if (fence === null) fence = m[1][0];
      else if (m[1][0] === fence) fence = null;
      return;
    }
    if (fence === null) out.push({ line, n: i + 1 });
  });
  return out;
}

/** Characters GitHub drops from a heading's anchor (github-slugger): punctuation but `-` and `_`, symbols, other numbers, controls, separators but the space; letters always stay. */
const DROPPED = /[\p{No}\p{Pe}\p{Pf}\p{Pi}\p{Ps}\p{Po}\p{Pd}\p{S}\p{Cc}\p{Co}\p{Cf}\p{Cn}\p{Z}]/u;

/** The anchor GitHub gives a heading's text (before de-duplication). */
export function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/<[^>]+>/g, '') // inline HTML tags
    .trim()
    .toLowerCase();
  let out = '';
  for (const ch of text) {
    if (ch === ' ') out += '-';
    else if (ch === '-' || !DROPPED.test(ch) || /\p{Alphabetic}/u.test(ch)) out += ch;
  }
  return out;
}

/** Every anchor of a page: its headings (repeats numbered as GitHub numbers them) and explicit `<a id|name="...">`. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const { line } of proseLines(text)) {
    const h = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) {
      const base = slug(h[1]);
      const k = seen.get(base) ?? 0;
      seen.set(base, k + 1);
      out.add(k === 0 ? base : `${base}-${k}`);
    }
    for (const a of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) out.add(a[1]);
  }
  return out;
}

/** The relative links and images of a page (outside code): target, line number. */
function links(text: string): { target: string; n: number }[] {
  const out: { target: string; n: number }[] = [];
  for (const { line, n } of proseLines(text)) {
    const prose = line.replace(/(`+)[^`]*?\1/g, ''); // inline code spans
    for (const m of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, ...
      out.push({ target, n });
    }
  }
  return out;
}

test('slug follows GitHub: lowercase, punctuation and symbols dropped, spaces to -', () => {
  assert.equal(slug('The run folder'), 'the-run-folder');
  assert.equal(slug('`R_f` aged by refits (not in the paper)'), 'r_f-aged-by-refits-not-in-the-paper');
  assert.equal(slug('Dynamics (Sec. 5.3)'), 'dynamics-sec-53');
  assert.equal(slug('Damping: the control law makes the arm learnable'), 'damping-the-control-law-makes-the-arm-learnable');
  assert.equal(slug('A fleet — several arms, one learner'), 'a-fleet--several-arms-one-learner');
  assert.equal(slug('Compute (this machine, backend wasm, 2 cores)'), 'compute-this-machine-backend-wasm-2-cores');
  assert.equal(slug('Resume, /diagnostics and [links](x.md)'), 'resume-diagnostics-and-links');
});

test('every relative link and image in README.md and docs/ resolves (files, folders, #anchors)', () => {
  const broken: string[] = [];
  const anchorCache = new Map<string, Set<string>>();
  const anchorsOf = (file: string) => {
    if (!anchorCache.has(file)) anchorCache.set(file, anchors(readFileSync(file, 'utf8')));
    return anchorCache.get(file)!;
  };
  let checked = 0;
  for (const page of pages()) {
    for (const { target, n } of links(readFileSync(page, 'utf8'))) {
      checked++;
      const where = `${relative(ROOT, page)}:${n}: ${target}`;
      const hash = target.indexOf('#');
      const pathPart = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
      const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
      const file = pathPart === '' ? page : resolve(dirname(page), pathPart);
      if (!file.startsWith(ROOT)) { broken.push(`${where} (outside the repository)`); continue; }
      if (!existsSync(file)) { broken.push(`${where} (no such file or folder)`); continue; }
      if (anchor !== null && file.endsWith('.md') && !anchorsOf(file).has(anchor)) {
        broken.push(`${where} (no heading with anchor #${anchor} in ${relative(ROOT, file)})`);
      }
    }
  }
  assert.ok(checked > 50, `only ${checked} links found: is the parser broken?`);
  assert.deepEqual(broken, [], `broken links:\n${broken.join('\n')}`);
});

test('each guide page in docs/ opens with a table of contents linking every ## section', () => {
  const missing: string[] = [];
  for (const page of pages()) {
    const name = relative(DOCS, page);
    // Guide pages are docs/*.md; a subfolder holds other things (docs/first-run: a run folder's records).
    if (name.startsWith('..') || name.includes('/') || name === 'README.md' || name === 'parameters.md') continue;
    const lines = proseLines(readFileSync(page, 'utf8'));
    const first = lines.findIndex(({ line }) => /^##\s/.test(line));
    assert.ok(first > 0, `docs/${name}: no ## section`);
    const toc = new Set(lines.slice(0, first).flatMap(({ line }) => [...line.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1])));
    for (const { line } of lines.slice(first)) {
      const h = /^##\s+(.*?)\s*$/.exec(line);
      if (h && !toc.has(slug(h[1]))) missing.push(`docs/${name}: "## ${h[1]}" is not in the table of contents`);
    }
  }
  assert.deepEqual(missing, [], missing.join('\n'));
});
