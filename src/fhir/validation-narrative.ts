/**
 * Narrative XHTML (`Narrative.div`). @medplum/core accepts any string here (its FHIRPath `htmlChecks()`
 * always returns true), yet the viewer displays narratives, so OpenICR enforces the R4 rules:
 *
 * - the root is one `<div>` in the XHTML namespace (https://hl7.org/fhir/R4/narrative.html#xhtml);
 * - txt-1: only the elements and attributes listed in the constraint's XPath (no `script`, `style`,
 *   `iframe`, `form`, no event handler attributes), and no `javascript:` links;
 * - txt-2: some non-whitespace content (text or an image).
 *
 * Tags are read with a small tokenizer and must balance; it is not a full XML parser (entities and
 * the finer points of well-formedness are not checked).
 */

const XHTML_NS = 'http://www.w3.org/1999/xhtml';

// From the XPath of constraint txt-1 in the R4 Narrative StructureDefinition.
const ELEMENTS = new Set(
  (
    'a abbr acronym b big blockquote br caption cite code col colgroup dd dfn div dl dt em h1 h2 h3 h4 h5 h6 hr i img ' +
    'li ol p pre q samp small span strong sub sup table tbody td tfoot th thead tr tt ul var'
  ).split(' '),
);
const ATTRIBUTES = new Set(
  (
    'abbr accesskey align alt axis bgcolor border cellhalign cellpadding cellspacing cellvalign char charoff charset ' +
    'cite class colspan compact coords dir frame headers height href hreflang hspace id lang longdesc name nowrap rel ' +
    'rev rowspan rules scope shape span src start style summary tabindex title type valign value vspace width'
  ).split(' '),
);
// Namespace declarations and xml:* attributes are not attributes in the XPath data model.
const XML_ATTRIBUTE = /^(xmlns(:.+)?|xml:(lang|space))$/;

const TAG = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/y;
const ATTRIBUTE = /([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
const SKIP = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>/y;

/** Returns why the narrative div is not acceptable, or undefined when it is. */
export function checkNarrativeDiv(div: string): string | undefined {
  const stack: string[] = [];
  let text = '';
  let hasImage = false;
  let rootSeen = false;
  let i = 0;
  while (i < div.length) {
    const lt = div.indexOf('<', i);
    const chunk = lt === -1 ? div.slice(i) : div.slice(i, lt);
    if (stack.length === 0 && chunk.trim() !== '') return 'Narrative must be a single <div> element';
    text += chunk;
    if (lt === -1) break;

    SKIP.lastIndex = lt;
    if (SKIP.exec(div)) {
      i = SKIP.lastIndex;
      continue;
    }
    TAG.lastIndex = lt;
    const m = TAG.exec(div);
    if (!m) return 'Narrative is not well-formed XHTML';
    i = TAG.lastIndex;
    const [, closing, qname = '', attrs = '', selfClosing] = m;
    const name = localName(qname);

    if (closing) {
      if (stack.pop() !== qname) return `Narrative is not well-formed XHTML: unexpected </${qname}>`;
      continue;
    }
    if (!rootSeen) {
      rootSeen = true;
      if (name !== 'div') return 'Narrative must be a single <div> element';
      if (!attrs.includes(XHTML_NS)) return `Narrative <div> must be in the XHTML namespace (${XHTML_NS})`;
    } else if (stack.length === 0) {
      return 'Narrative must be a single <div> element';
    }
    if (!ELEMENTS.has(name)) return `Constraint txt-1 not met: element <${name}> is not allowed in a narrative`;
    if (name === 'img') hasImage = true;
    const problem = checkAttributes(name, attrs);
    if (problem) return problem;
    if (!selfClosing) stack.push(qname);
  }
  if (!rootSeen) return 'Narrative must be a single <div> element';
  if (stack.length > 0) return `Narrative is not well-formed XHTML: <${stack.at(-1) ?? ''}> is not closed`;
  if (text.trim() === '' && !hasImage)
    return 'Constraint txt-2 not met: the narrative SHALL have some non-whitespace content';
  return undefined;
}

function checkAttributes(element: string, attrs: string): string | undefined {
  for (const a of attrs.matchAll(ATTRIBUTE)) {
    const name = a[1] ?? '';
    const value = a[2] ?? a[3] ?? '';
    if (XML_ATTRIBUTE.test(name)) continue;
    if (!ATTRIBUTES.has(name)) return `Constraint txt-1 not met: attribute "${name}" is not allowed on <${element}>`;
    if ((name === 'href' || name === 'src') && /^\s*(javascript|vbscript):/i.test(value)) {
      return `Narrative ${name} must not use a script URL`;
    }
  }
  return undefined;
}

function localName(qname: string): string {
  const colon = qname.indexOf(':');
  return colon === -1 ? qname : qname.slice(colon + 1);
}
