import { h } from './ui.js';

// A small Markdown reader for the runbooks (headings, paragraphs, lists, fenced code, tables, inline code,
// emphasis, links). It builds DOM nodes, never HTML strings: a runbook cannot inject markup into the console.

export function renderMarkdown(text) {
  const lines = text.replace(/\r/g, '').split('\n');
  const out = [];
  let i = 0;
  // A front matter block (--- … ---) is metadata for programs, not text for people.
  if (lines[0] === '---') { const end = lines.indexOf('---', 1); if (end > 0) i = end + 1; }
  while (i < lines.length) {
    const line = lines[i];
    if (/^```/.test(line)) {
      const lang = line.slice(3).trim();
      const code = [];
      for (i++; i < lines.length && !/^```/.test(lines[i]); i++) code.push(lines[i]);
      i++;
      out.push(h('pre.code', { 'data-lang': lang || null }, h('code', code.join('\n'))));
      continue;
    }
    const heading = line.match(/^(#{1,6})\s+(.*)$/);
    if (heading) { out.push(h(`h${Math.min(6, heading[1].length + 1)}`, inline(heading[2]))); i++; continue; }
    if (/^\s*\|.*\|\s*$/.test(line)) {
      const rows = [];
      for (; i < lines.length && /^\s*\|.*\|\s*$/.test(lines[i]); i++) rows.push(lines[i]);
      out.push(tableOf(rows));
      continue;
    }
    if (/^\s*([-*]|\d+\.)\s+/.test(line)) {
      const ordered = /^\s*\d+\./.test(line);
      const items = [];
      for (; i < lines.length && (/^\s*([-*]|\d+\.)\s+/.test(lines[i]) || (/^\s{2,}\S/.test(lines[i]) && items.length)); i++) {
        if (/^\s*([-*]|\d+\.)\s+/.test(lines[i])) items.push(lines[i].replace(/^\s*([-*]|\d+\.)\s+/, ''));
        else items[items.length - 1] += ' ' + lines[i].trim();
      }
      out.push(h(ordered ? 'ol' : 'ul', items.map(t => h('li', inline(t)))));
      continue;
    }
    if (/^>\s?/.test(line)) {
      const quote = [];
      for (; i < lines.length && /^>\s?/.test(lines[i]); i++) quote.push(lines[i].replace(/^>\s?/, ''));
      out.push(h('blockquote', inline(quote.join(' '))));
      continue;
    }
    if (line.trim() === '') { i++; continue; }
    const para = [];
    for (; i < lines.length && lines[i].trim() !== '' && !/^(```|#{1,6}\s|\s*([-*]|\d+\.)\s|>|\s*\|)/.test(lines[i]); i++) para.push(lines[i]);
    if (para.length === 0) { para.push(line); i++; }
    out.push(h('p', inline(para.join(' '))));
  }
  return h('div.markdown', out);
}

function tableOf(rows) {
  const cells = r => r.trim().replace(/^\||\|$/g, '').split('|').map(c => c.trim());
  const body = rows.filter((_, k) => !(k === 1 && /^[\s|:-]+$/.test(rows[1])));
  const [head, ...rest] = body;
  return h('div.table-wrap', h('table', h('thead', h('tr', cells(head).map(c => h('th', inline(c))))),
    h('tbody', rest.map(r => h('tr', cells(r).map(c => h('td', inline(c))))))));
}

/** Inline code, bold, italics and links; everything else is text. */
function inline(text) {
  const nodes = [];
  const pattern = /`([^`]+)`|\*\*([^*]+)\*\*|\*([^*]+)\*|\[([^\]]+)\]\(([^)]+)\)/g;
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    if (m.index > last) nodes.push(text.slice(last, m.index));
    if (m[1] !== undefined) nodes.push(h('code', m[1]));
    else if (m[2] !== undefined) nodes.push(h('strong', m[2]));
    else if (m[3] !== undefined) nodes.push(h('em', m[3]));
    else nodes.push(linkTo(m[4], m[5]));
    last = m.index + m[0].length;
  }
  if (last < text.length) nodes.push(text.slice(last));
  return nodes;
}

/** Links between runbooks stay inside the console; other links open normally; javascript: and the like are dropped. */
function linkTo(label, target) {
  const runbook = target.match(/^(?:\.\/)?([A-Za-z0-9_\/-]+)\.md(#.*)?$/);
  if (runbook) return h('a', { href: `#/runbooks/${runbook[1]}` }, label);
  if (/^(https?:|#|\/)/i.test(target)) return h('a', { href: target, rel: 'noreferrer' }, label);
  return h('span', label);
}
