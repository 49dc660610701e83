/**
 * The person's access report ("who has viewed my record", DESIGN.md §1 promise 8): one row per access —
 * date and time, user, role, organisation, what was viewed in plain English, and the reason the user
 * stated for declared or emergency access — rendered as a self-contained HTML page or a PDF (pdfkit,
 * ADR 0020). Building the rows and rendering are pure; the records layer fetches the entries.
 */
import PDFDocument from 'pdfkit';
import type { StoredAuditEntry } from '../store/audit-store.ts';
import { describeAccess, displayDateTime, roleName } from './plain-english.ts';

export interface AccessReportRow {
  at: string;
  user: string;
  role: string;
  organisation: string;
  what: string;
  reason: string;
}

export interface AccessReport {
  nhsNumber: string;
  /** The person's name as the record holds it, when known. */
  personName: string | null;
  from: string | null;
  to: string | null;
  generatedAt: string;
  timeZone: string;
  rows: AccessReportRow[];
}

const BASIS_WORDS: Readonly<Record<string, string>> = {
  emergency: 'Emergency access',
  declared: 'Declared care relationship',
};

/** Actions that are about the audit itself (a privacy officer's work), not access to the record. */
export function isRecordAccess(e: StoredAuditEntry): boolean {
  return e.actorKind === 'user' && !e.action.startsWith('audit-');
}

export function buildAccessReport(
  entries: readonly StoredAuditEntry[],
  opts: {
    nhsNumber: string;
    personName: string | null;
    from: string | null;
    to: string | null;
    now: Date;
    timeZone: string;
    /** A user's readable name (the users table), or null to fall back to the recorded name or id. */
    userName: (userId: string) => string | null;
    organisationName?: (ods: string) => string | null;
    /** A SMART app's readable name (the registered apps), or null to show its client id. */
    appName?: (clientId: string) => string | null;
  },
): AccessReport {
  const rows = entries
    .filter(isRecordAccess)
    .sort((a, b) => (a.recordedAt < b.recordedAt ? -1 : a.recordedAt > b.recordedAt ? 1 : a.seq - b.seq))
    .map((e) => {
      const basis = e.basis ? BASIS_WORDS[e.basis] : undefined;
      const org = e.orgOds ? (opts.organisationName?.(e.orgOds) ?? null) : null;
      return {
        at: displayDateTime(e.recordedAt, opts.timeZone),
        user: withApp(opts.userName(e.actorId) ?? e.actorName ?? e.actorId, e, opts.appName),
        role: roleName(e.role),
        organisation: e.orgOds ? (org ? `${org} (${e.orgOds})` : e.orgOds) : '',
        what: describeAccess(e.action, e.what, e.outcome),
        reason: basis ? `${basis}${e.reason ? `: ${e.reason}` : ''}` : '',
      };
    });
  return {
    nhsNumber: opts.nhsNumber,
    personName: opts.personName,
    from: opts.from,
    to: opts.to,
    generatedAt: displayDateTime(opts.now.toISOString(), opts.timeZone),
    timeZone: opts.timeZone,
    rows,
  };
}

/** A user who looked through a SMART app: the app is named beside them ("Dr A Patel, using Growth chart"). */
function withApp(user: string, e: StoredAuditEntry, appName?: (clientId: string) => string | null): string {
  const client = e.clientId;
  if (!client || e.actorId === `system:${client}`) return user;
  return `${user}, using the app ${appName?.(client) ?? client}`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `943 476 5919` */
export function formatNhsNumber(n: string): string {
  return /^\d{10}$/.test(n) ? `${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}` : n;
}

function periodText(r: AccessReport): string {
  if (r.from && r.to) return `from ${r.from} to ${r.to}`;
  if (r.from) return `from ${r.from}`;
  if (r.to) return `up to ${r.to}`;
  return 'for all time held';
}

const INTRO =
  'This report lists every time someone looked at or changed your shared care record, who they were, ' +
  'the role and organisation they worked for, and what they saw. Where a professional used emergency ' +
  'access or declared that they were caring for you, the reason they gave is shown.';

export function renderAccessReportHtml(r: AccessReport): string {
  const rows = r.rows
    .map(
      (row) =>
        `<tr><td>${escapeHtml(row.at)}</td><td>${escapeHtml(row.user)}</td><td>${escapeHtml(row.role)}</td>` +
        `<td>${escapeHtml(row.organisation)}</td><td>${escapeHtml(row.what)}</td><td>${escapeHtml(row.reason)}</td></tr>`,
    )
    .join('\n');
  const name = r.personName ? `${escapeHtml(r.personName)}, ` : '';
  return `<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>Who has viewed my record — NHS No. ${escapeHtml(formatNhsNumber(r.nhsNumber))}</title>
<style>
body { font-family: Arial, Helvetica, sans-serif; margin: 2em; color: #212b32; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #d8dde0; padding: 4px 8px; text-align: left; vertical-align: top; font-size: 14px; }
th { background: #f0f4f5; }
</style>
</head>
<body>
<h1>Who has viewed my record</h1>
<p>${name}NHS No. ${escapeHtml(formatNhsNumber(r.nhsNumber))}. Accesses ${escapeHtml(periodText(r))}; times are ${escapeHtml(r.timeZone)} time. Produced ${escapeHtml(r.generatedAt)}.</p>
<p>${escapeHtml(INTRO)}</p>
<table>
<thead><tr><th>Date and time</th><th>Who</th><th>Role</th><th>Organisation</th><th>What was viewed</th><th>Reason given</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="6">Nobody has viewed the record in this period.</td></tr>'}
</tbody>
</table>
<p>${r.rows.length} ${r.rows.length === 1 ? 'access' : 'accesses'}.</p>
</body>
</html>
`;
}

/** PDFKit's standard fonts cover Windows-1252 only: anything else becomes a close ASCII form. */
function pdfSafe(s: string): string {
  return s
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/[\u201C\u201D]/g, '"')
    .replace(/[\u2013\u2014]/g, '-')
    .replace(/[^\x20-\x7E\xA0-\xFF]/g, '?');
}

const COLUMNS: ReadonlyArray<{ title: string; width: number; key: keyof AccessReportRow }> = [
  { title: 'Date and time', width: 88, key: 'at' },
  { title: 'Who', width: 110, key: 'user' },
  { title: 'Role', width: 90, key: 'role' },
  { title: 'Organisation', width: 90, key: 'organisation' },
  { title: 'What was viewed', width: 200, key: 'what' },
  { title: 'Reason given', width: 180, key: 'reason' },
];

export async function renderAccessReportPdf(r: AccessReport): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    layout: 'landscape',
    margin: 36,
    info: { Title: 'Who has viewed my record', Creator: 'OpenICR' },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const left = doc.page.margins.left;
  doc.font('Helvetica-Bold').fontSize(18).text('Who has viewed my record');
  doc.moveDown(0.3);
  doc
    .font('Helvetica')
    .fontSize(10)
    .text(
      pdfSafe(
        `${r.personName ? `${r.personName}, ` : ''}NHS No. ${formatNhsNumber(r.nhsNumber)}. Accesses ${periodText(r)}; times are ${r.timeZone} time. Produced ${r.generatedAt}.`,
      ),
    );
  doc.moveDown(0.3).text(pdfSafe(INTRO));
  doc.moveDown(0.8);

  const drawRow = (cells: string[], bold: boolean) => {
    doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(9);
    const heights = cells.map((c, i) => doc.heightOfString(c, { width: (COLUMNS[i]?.width ?? 80) - 6 }));
    const h = Math.max(...heights) + 6;
    if (doc.y + h > doc.page.height - doc.page.margins.bottom) doc.addPage();
    const y = doc.y;
    let x = left;
    cells.forEach((c, i) => {
      const w = COLUMNS[i]?.width ?? 80;
      doc.rect(x, y, w, h).strokeColor('#d8dde0').stroke();
      doc.fillColor('#212b32').text(c, x + 3, y + 3, { width: w - 6 });
      x += w;
    });
    doc.x = left;
    doc.y = y + h;
  };
  drawRow(
    COLUMNS.map((c) => c.title),
    true,
  );
  if (r.rows.length === 0) {
    doc.moveDown(0.5).font('Helvetica').text('Nobody has viewed the record in this period.', left);
  }
  for (const row of r.rows) {
    drawRow(
      COLUMNS.map((c) => pdfSafe(row[c.key])),
      false,
    );
  }
  doc
    .moveDown(0.5)
    .font('Helvetica')
    .fontSize(9)
    .text(`${r.rows.length} ${r.rows.length === 1 ? 'access' : 'accesses'}.`, left);
  doc.end();
  return done;
}
