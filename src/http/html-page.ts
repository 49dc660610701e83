/**
 * Plain server-rendered pages for sign-in, launch and their refusals (the viewer arrives later). Every
 * value is escaped; no script runs on these pages (the CSP allows none).
 */
import type { FastifyReply } from 'fastify';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A trusted fragment: built only from literals and `escapeHtml` output. */
export interface Html {
  html: string;
}

export function html(strings: TemplateStringsArray, ...values: Array<string | number | Html | Html[]>): Html {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    if (Array.isArray(v)) out += v.map((h) => h.html).join('');
    else if (typeof v === 'object') out += v.html;
    else out += escapeHtml(String(v));
    out += strings[i + 1] ?? '';
  });
  return { html: out };
}

export function sendPage(reply: FastifyReply, status: number, title: string, body: Html): FastifyReply {
  const page = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} – OpenICR</title>
        <style>
          body {
            font-family: Arial, sans-serif;
            max-width: 46rem;
            margin: 2rem auto;
            padding: 0 1rem;
            color: #212b32;
          }
          h1 {
            font-size: 1.6rem;
          }
          .refusal {
            border-left: 6px solid #d5281b;
            padding: 0.5rem 1rem;
            background: #fff4f4;
          }
          button {
            font-size: 1rem;
            padding: 0.4rem 0.8rem;
            margin: 0.2rem 0;
          }
          li {
            margin: 0.4rem 0;
          }
          code {
            background: #eee;
          }
        </style>
      </head>
      <body>
        <h1>${title}</h1>
        ${body}
      </body>
    </html>`;
  return reply.code(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(page.html);
}
